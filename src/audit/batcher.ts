/**
 * Per-isolate micro-batching of after-the-fact audit writes.
 *
 * Contract: `enqueue` never touches I/O in the caller's context except through the `waitUntil` of
 * the request that *opened* the batch: the first request to enqueue opens a batch and hands its
 * flush to its own `waitUntil`; requests that join within `windowMs` (or until `maxRows`) add plain
 * data only, so no I/O object or promise crosses request contexts. A flush is one D1 `batch()`;
 * if it fails, the whole batch goes to the durable retry buffer (`fallback`), which must not
 * lose it. Nothing is dropped silently: if the fallback fails as well, that is logged loudly.
 */
import type { AuditRecord } from './record.ts';

export interface BatchSink {
  write(records: readonly AuditRecord[]): Promise<void>;
  fallback(records: readonly AuditRecord[], error: unknown): Promise<void>;
  waitUntil(promise: Promise<unknown>): void;
}

export interface BatcherOptions {
  windowMs: number;
  maxRows: number;
}

interface OpenBatch {
  records: AuditRecord[];
  full: () => void;
}

export class AuditBatcher {
  readonly #options: BatcherOptions;
  #open: OpenBatch | undefined;

  constructor(options: BatcherOptions) {
    this.#options = options;
  }

  enqueue(record: AuditRecord, sink: BatchSink): void {
    const open = this.#open;
    if (open && open.records.length < this.#options.maxRows) {
      open.records.push(record);
      if (open.records.length >= this.#options.maxRows) open.full();
      return;
    }
    let full = () => {};
    const batch: OpenBatch = { records: [record], full: () => full() };
    this.#open = batch;
    const ready = new Promise<void>((resolve) => {
      full = resolve;
      if (this.#options.windowMs <= 0) resolve();
      else setTimeout(resolve, this.#options.windowMs);
    });
    sink.waitUntil(
      ready.then(async () => {
        if (this.#open === batch) this.#open = undefined;
        await flush(batch.records, sink);
      }),
    );
  }
}

export async function flush(records: readonly AuditRecord[], sink: Omit<BatchSink, 'waitUntil'>): Promise<void> {
  try {
    await sink.write(records);
  } catch (error) {
    try {
      await sink.fallback(records, error);
    } catch (fallbackError) {
      console.error(
        JSON.stringify({
          msg: 'AUDIT RECORDS AT RISK: D1 write and retry buffer both failed',
          requestIds: records.map((r) => r.requestId),
          error: String(error),
          fallbackError: String(fallbackError),
        }),
      );
    }
  }
}
