/**
 * `AuditBufferObject`: the durable retry buffer for audit rows D1 did not accept.
 *
 * Contract: `hold(records)` returns only once the records are in this object's durable storage
 * (SQLite-backed), keyed by request id, and an alarm is set. The alarm writes held rows to D1 —
 * first all together in one batch, then one by one so a single poisoned row cannot block the
 * rest — deleting each only after D1 accepted it, and re-arms itself with capped exponential
 * backoff while anything is left. D1's upsert by request id makes the at-least-once redelivery
 * exactly-once. A newer hold of the same request id (e.g. a final row after an intent) replaces
 * the older one unless the held one is already final.
 */
import { DurableObject } from 'cloudflare:workers';
import { writeAuditRecord, writeAuditRecords } from './d1-store.ts';
import type { AuditRecord } from './record.ts';

const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 5 * 60_000;
const DRAIN_CHUNK = 50;

export class AuditBufferObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS held (
        request_id TEXT PRIMARY KEY, phase TEXT NOT NULL, record TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0
      )`);
    });
  }

  async hold(records: AuditRecord[]): Promise<number> {
    for (const record of records) {
      this.ctx.storage.sql.exec(
        `INSERT INTO held (request_id, phase, record) VALUES (?, ?, ?)
         ON CONFLICT (request_id) DO UPDATE SET phase = excluded.phase, record = excluded.record
         WHERE held.phase = 'intent'`,
        record.requestId,
        record.phase,
        JSON.stringify(record),
      );
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + BASE_DELAY_MS);
    return this.pending();
  }

  pending(): number {
    return Number(this.ctx.storage.sql.exec('SELECT count(*) AS n FROM held').one().n);
  }

  /** Request ids currently held (oldest first, at most 1000): for operators and tests. */
  heldIds(): string[] {
    return this.ctx.storage.sql
      .exec<{ request_id: string }>('SELECT request_id FROM held ORDER BY rowid LIMIT 1000')
      .toArray()
      .map((row) => row.request_id);
  }

  heldRecord(requestId: string): string | null {
    const rows = this.ctx.storage.sql
      .exec<{ record: string }>('SELECT record FROM held WHERE request_id = ?', requestId)
      .toArray();
    return rows[0]?.record ?? null;
  }

  override async alarm(): Promise<void> {
    const left = await this.drain();
    if (left > 0) {
      const attempts = Number(this.ctx.storage.sql.exec('SELECT max(attempts) AS a FROM held').one().a ?? 1);
      await this.ctx.storage.setAlarm(Date.now() + Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempts, 16)));
    }
  }

  /** Write what is held to D1; returns how many rows are still held. */
  async drain(): Promise<number> {
    const rows = this.ctx.storage.sql
      .exec<{ request_id: string; record: string }>('SELECT request_id, record FROM held ORDER BY rowid LIMIT 500')
      .toArray();
    for (let i = 0; i < rows.length; i += DRAIN_CHUNK) {
      const chunk = rows.slice(i, i + DRAIN_CHUNK);
      const records = chunk.map((row) => JSON.parse(row.record) as AuditRecord);
      try {
        await writeAuditRecords(this.env.AUDIT_DB, records);
        for (const row of chunk) this.#release(row.request_id, row.record);
      } catch {
        for (const [j, record] of records.entries()) {
          const row = chunk[j] as { request_id: string; record: string };
          try {
            await writeAuditRecord(this.env.AUDIT_DB, record);
            this.#release(row.request_id, row.record);
          } catch (error) {
            this.ctx.storage.sql.exec('UPDATE held SET attempts = attempts + 1 WHERE request_id = ?', row.request_id);
            console.error(
              JSON.stringify({ msg: 'audit retry failed', requestId: row.request_id, error: String(error) }),
            );
          }
        }
      }
    }
    return this.pending();
  }

  /** Delete a held row only if it was not replaced while D1 was being written. */
  #release(requestId: string, record: string): void {
    this.ctx.storage.sql.exec('DELETE FROM held WHERE request_id = ? AND record = ?', requestId, record);
  }
}
