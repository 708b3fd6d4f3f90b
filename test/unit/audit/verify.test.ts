// The verifier as a pure function over rows and digest entries built in memory (no D1): the
// intact control, then each kind of tampering, each reported precisely.
import { describe, expect, it } from 'vitest';
import { rowHash, type StoredRow } from '../../../src/audit/canonical.ts';
import { buildSealEntry, type DigestRow, GENESIS_HASH } from '../../../src/audit/digest.ts';
import { DEV_AUDIT_SIGNING_JWK, loadSigningKey } from '../../../src/audit/signing-key.ts';
import { verifyAuditTrail } from '../../../src/audit/verify.ts';

const signer = await loadSigningKey(JSON.stringify(DEV_AUDIT_SIGNING_JWK));
const keys = [signer.publicJwk];

async function trail(): Promise<{ rows: StoredRow[]; digests: DigestRow[] }> {
  const rows: StoredRow[] = [];
  for (let i = 0; i < 5; i++) {
    const row: StoredRow = {
      request_id: `r${i}`,
      phase: 'final',
      started_at: `2026-11-27T08:00:0${i}.000Z`,
      finished_at: `2026-11-27T08:00:0${i}.500Z`,
      method: 'GET',
      path: '/x',
      status: 200,
      decision: 'allow',
      outcome: 'completed',
      detail: null,
      row_hash: null,
      sealed_seq: null,
    };
    row.row_hash = await rowHash(row);
    rows.push(row);
  }
  const first = await buildSealEntry(
    { seq: 0, hash: GENESIS_HASH },
    rows.slice(0, 3).map((r) => [String(r.request_id), String(r.row_hash)]),
    signer,
    1,
    { first: '', last: '' },
  );
  const second = await buildSealEntry(
    { seq: 1, hash: first.digest_hash },
    rows.slice(3, 4).map((r) => [String(r.request_id), String(r.row_hash)]),
    signer,
    2,
    { first: '', last: '' },
  );
  for (const r of rows.slice(0, 3)) r.sealed_seq = 1;
  (rows[3] as StoredRow).sealed_seq = 2;
  return { rows, digests: [first, second] };
}

describe('verifyAuditTrail', () => {
  it('passes an intact trail and lists unsealed rows without failing', async () => {
    const report = await verifyAuditTrail({ ...(await trail()), keys });
    expect(report).toMatchObject({ ok: true, problems: [], digests: 2, sealedRows: 4, head: { seq: 2 } });
    expect(report.unsealed).toMatchObject({ count: 1, requestIds: ['r4'] });
  });

  it('names each tampered row and digest', async () => {
    const t = await trail();
    const rows = t.rows
      .filter((r) => r.request_id !== 'r1')
      .map((r) => (r.request_id === 'r0' ? { ...r, status: 500 } : r))
      .concat([{ ...(t.rows[2] as StoredRow), request_id: 'ghost', sealed_seq: 2 }]);
    const digests = [
      t.digests[0] as DigestRow,
      { ...(t.digests[1] as DigestRow), signature: (t.digests[0] as DigestRow).signature },
    ];
    const report = await verifyAuditTrail({ rows, digests, keys });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        { kind: 'digest_signature_invalid', seq: 2 },
        { kind: 'row_modified', requestId: 'r0', seq: 1, detail: 'content changed' },
        { kind: 'row_deleted', requestId: 'r1', seq: 1 },
        { kind: 'row_inserted', requestId: 'ghost', seq: 2 },
      ]),
    );
    expect(report.problems).toHaveLength(4);
  });

  it('reports a verifier given no keys as unable to trust any entry', async () => {
    const report = await verifyAuditTrail({ ...(await trail()), keys: [] });
    expect(report.problems.map((p) => p.kind)).toEqual(['digest_unknown_key', 'digest_unknown_key']);
  });
});
