/**
 * The audit lifecycle of one request: begin → (write ahead) → finish exactly once.
 *
 * Contract: every request that reaches the gateway gets exactly one row. `writeAhead` makes the
 * row durable before a mutation goes upstream and throws if it cannot; `finish` completes the row
 * once (later calls are ignored) and hands the write to `waitUntil`, so the client never waits
 * for it.
 */
import { writeAuditRecord } from './d1-store.ts';
import { type AuditRecord, redactQuery } from './record.ts';

export interface AuditSink {
  db: D1Database;
  waitUntil(promise: Promise<unknown>): void;
}

export class RequestAudit {
  readonly record: AuditRecord;
  readonly #sink: AuditSink;
  readonly #startedMs: number;
  #finished = false;

  constructor(request: Request, requestId: string, sink: AuditSink, nowMs: number) {
    const url = new URL(request.url);
    this.#sink = sink;
    this.#startedMs = nowMs;
    this.record = {
      requestId,
      phase: 'final',
      startedAt: new Date(nowMs).toISOString(),
      method: request.method,
      path: url.pathname,
      query: redactQuery(url.search),
      decision: 'error',
      ruleIds: [],
      outcome: 'refused',
      maskedCount: 0,
      maskedPaths: [],
      ...optional('clientIp', request.headers.get('cf-connecting-ip')),
      ...optional('userAgent', request.headers.get('user-agent')),
    };
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Durably record intent before a mutation is sent upstream; throws if D1 fails. */
  async writeAhead(): Promise<void> {
    await writeAuditRecord(this.#sink.db, { ...this.record, phase: 'intent', outcome: 'pending' });
  }

  finish(patch: Partial<AuditRecord>, nowMs: number): void {
    if (this.#finished) return;
    this.#finished = true;
    Object.assign(this.record, patch, {
      phase: 'final',
      finishedAt: new Date(nowMs).toISOString(),
      durationMs: nowMs - this.#startedMs,
    });
    const record = { ...this.record };
    this.#sink.waitUntil(
      writeAuditRecord(this.#sink.db, record).catch((error: unknown) => {
        // Durable retry comes with the audit issue; until then the failure is at least visible.
        console.error(JSON.stringify({ msg: 'audit write failed', requestId: record.requestId, error: String(error) }));
      }),
    );
  }
}

function optional<K extends string>(key: K, value: string | null): { [P in K]?: string } {
  return (value ? { [key]: value } : {}) as { [P in K]?: string };
}
