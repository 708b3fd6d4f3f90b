/**
 * The audit lifecycle of one request: begin → (write ahead) → finish exactly once.
 *
 * Contract: every request that reaches the gateway gets exactly one row. `writeAhead` makes the
 * row durable before a mutation goes upstream and throws if it cannot (one D1 round trip, the only
 * one on the hot path); `finish` completes the row once (later calls are ignored) and hands it to
 * the per-isolate micro-batcher, so the client never waits for it. A batch D1 rejects goes to the
 * durable retry buffer (`AuditSink.hold`) and is written later, exactly once by request id.
 */
import { AuditBatcher } from './batcher.ts';
import { writeAuditRecord, writeAuditRecords } from './d1-store.ts';
import { type AuditRecord, redactQuery } from './record.ts';

export interface AuditSink {
  db: D1Database;
  waitUntil(promise: Promise<unknown>): void;
  /** Durable retry buffer for rows D1 did not take (see buffer-object.ts). */
  hold?(records: AuditRecord[]): Promise<unknown>;
  /** Told of every finished row (structured log line, metrics); must not throw. */
  observe?(record: AuditRecord): void;
}

/** Rows finished within this window in one isolate share one D1 batch. */
export const BATCH_WINDOW_MS = 20;
export const BATCH_MAX_ROWS = 50;

const batcher = new AuditBatcher({ windowMs: BATCH_WINDOW_MS, maxRows: BATCH_MAX_ROWS });

export class RequestAudit {
  readonly record: AuditRecord;
  readonly #sink: AuditSink;
  readonly #startedMs: number;
  #finished = false;
  readonly #beforeFinish: (() => Partial<AuditRecord>)[] = [];
  readonly #children: Partial<AuditRecord>[] = [];

  constructor(request: Request, requestId: string, sink: AuditSink, nowMs: number, url = new URL(request.url)) {
    this.#sink = sink;
    this.#startedMs = nowMs;
    const cf = (request as { cf?: { colo?: unknown } }).cf;
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
      ...optional(
        'sessionId',
        request.headers.get('x-ms-correlation-request-id') ?? request.headers.get('traceparent'),
      ),
      ...optional('colo', typeof cf?.colo === 'string' ? cf.colo : null),
    };
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Durably record intent before a mutation is sent upstream; throws if D1 fails. */
  async writeAhead(): Promise<void> {
    await writeAuditRecord(this.#sink.db, { ...this.record, phase: 'intent', outcome: 'pending' });
  }

  /** Contribute fields known only at the end (e.g. request body size), applied by `finish`. */
  beforeFinish(contribute: () => Partial<AuditRecord>): void {
    this.#beforeFinish.push(contribute);
  }

  /**
   * A child row for a request this one carried (an embedded batch request): written when this row
   * finishes, with this row's principal, times and approval, under `{requestId}.{n}` and naming this
   * row as its parent. The returned fields stay writable until then (e.g. the status the batch
   * response reports for it).
   */
  child(fields: Pick<AuditRecord, 'method' | 'path'> & Partial<AuditRecord>): Partial<AuditRecord> {
    const child: Partial<AuditRecord> = { ...fields };
    this.#children.push(child);
    return child;
  }

  finish(patch: Partial<AuditRecord>, nowMs: number): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const contribute of this.#beforeFinish) {
      try {
        Object.assign(this.record, contribute());
      } catch (error) {
        this.record.detail = `${this.record.detail ?? ''} [audit field capture failed: ${String(error)}]`;
      }
    }
    Object.assign(this.record, patch, {
      phase: 'final',
      finishedAt: new Date(nowMs).toISOString(),
      durationMs: nowMs - this.#startedMs,
    });
    const record = structuredClone(this.record);
    const sink = this.#sink;
    const children = this.#children.map(
      (fields, index): AuditRecord => ({
        ...structuredClone(record),
        requestBody: undefined,
        requestBodyTruncated: undefined,
        requestBodyCap: undefined,
        requestFacts: undefined,
        maskedCount: 0,
        maskedPaths: [],
        bytesIn: undefined,
        bytesOut: undefined,
        status: undefined,
        detail: undefined,
        ...structuredClone(fields),
        requestId: `${record.requestId}.${index + 1}`,
        parentRequestId: record.requestId,
      }),
    );
    for (const child of children) this.#enqueue(child);
    this.#enqueue(record);
    // After the row is queued, and never able to lose it: observability is best effort.
    try {
      sink.observe?.(record);
    } catch (error) {
      console.error(
        JSON.stringify({ msg: 'request observer failed', requestId: record.requestId, error: String(error) }),
      );
    }
  }

  #enqueue(record: AuditRecord): void {
    const sink = this.#sink;
    batcher.enqueue(record, {
      waitUntil: (promise) => sink.waitUntil(promise),
      write: (records) => writeAuditRecords(sink.db, records),
      fallback: async (records, error) => {
        console.error(
          JSON.stringify({
            msg: 'audit write failed; buffering',
            requestIds: records.map((r) => r.requestId),
            error: String(error),
          }),
        );
        if (!sink.hold) throw error;
        await sink.hold([...records]);
      },
    });
  }
}

function optional<K extends string>(key: K, value: string | null): { [P in K]?: string } {
  return (value ? { [key]: value } : {}) as { [P in K]?: string };
}
