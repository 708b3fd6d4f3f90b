import { describe, expect, it } from 'vitest';
import { AuditBatcher, type BatchSink } from '../../../src/audit/batcher.ts';
import type { AuditRecord } from '../../../src/audit/record.ts';

const record = (id: string) => ({ requestId: id }) as AuditRecord;

function sink(failWrites = false) {
  const waits: Promise<unknown>[] = [];
  const written: string[][] = [];
  const held: string[][] = [];
  const s: BatchSink = {
    waitUntil: (p) => waits.push(p),
    write: async (records) => {
      if (failWrites) throw new Error('D1 down');
      written.push(records.map((r) => r.requestId));
    },
    fallback: async (records) => {
      held.push(records.map((r) => r.requestId));
    },
  };
  return { s, waits, written, held };
}

describe('AuditBatcher', () => {
  it('groups rows finished within the window into one write, owned by the first request', async () => {
    const batcher = new AuditBatcher({ windowMs: 5, maxRows: 10 });
    const first = sink();
    const later = sink();
    batcher.enqueue(record('a'), first.s);
    batcher.enqueue(record('b'), later.s);
    batcher.enqueue(record('c'), later.s);
    expect(first.waits).toHaveLength(1);
    expect(later.waits).toHaveLength(0);
    await Promise.all(first.waits);
    expect(first.written).toEqual([['a', 'b', 'c']]);
  });

  it('starts a new batch when one is full', async () => {
    const batcher = new AuditBatcher({ windowMs: 1000, maxRows: 2 });
    const one = sink();
    for (const id of ['a', 'b', 'c']) batcher.enqueue(record(id), one.s);
    expect(one.waits).toHaveLength(2);
    await one.waits[0];
    expect(one.written).toEqual([['a', 'b']]);
  });

  it('hands a batch D1 refused to the durable fallback, whole', async () => {
    const batcher = new AuditBatcher({ windowMs: 0, maxRows: 10 });
    const failing = sink(true);
    batcher.enqueue(record('x'), failing.s);
    await Promise.all(failing.waits);
    expect(failing.written).toEqual([]);
    expect(failing.held).toEqual([['x']]);
  });
});
