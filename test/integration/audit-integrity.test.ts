// Tamper evidence over real D1: rows are sealed (by the cron handler and by the core), then
// modified, deleted, inserted, reordered, digests swapped or forged — each detected precisely.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditProblem,
  auditSigner,
  type DigestRow,
  listDigests,
  pruneSealed,
  type StoredRow,
  sealPending,
  verifyAuditTrail,
} from '../../src/audit/index.ts';
import { loadSigningKey } from '../../src/audit/signing-key.ts';
import worker from '../../src/index.ts';
import { gateway, mintToken, SUB } from './helpers.ts';

const RG = `/arm/subscriptions/${SUB}/resourceGroups`;
let auditor: string;

async function snapshot(): Promise<{ digests: DigestRow[]; rows: StoredRow[] }> {
  const rows = await env.AUDIT_DB.prepare('SELECT * FROM audit_events ORDER BY request_id').all<StoredRow>();
  return { digests: await listDigests(env.AUDIT_DB), rows: rows.results };
}

async function verify(state: { digests: DigestRow[]; rows: StoredRow[] }) {
  const signer = await auditSigner(env);
  return verifyAuditTrail({ ...state, keys: [signer.publicJwk] });
}

const kinds = (problems: AuditProblem[]) => problems.map((p) => p.kind);

async function settle(): Promise<void> {
  // Rows are written after the response (waitUntil + a 5 ms batch window): wait until none is missing.
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const pending = await env.AUDIT_DB.prepare(`SELECT count(*) AS n FROM audit_events WHERE phase = 'intent'`).first<{
      n: number;
    }>();
    if (pending?.n === 0) return;
  }
}

beforeAll(async () => {
  auditor = await mintToken({ user: 'carol@contoso.com', groups: ['auditors'] });
  const reader = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
  const writer = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
  for (let i = 0; i < 6; i++)
    await (await gateway(`${RG}?api-version=2021-04-01&i=${i}`, { token: reader })).arrayBuffer();
  await (
    await gateway(`${RG}/sealed-rg?api-version=2021-04-01`, { token: writer, method: 'PUT', body: '{}' })
  ).arrayBuffer();
  await settle();
  // The cron handler seals the first rows ...
  const ctx = createExecutionContext();
  worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: '*/5 * * * *' }), env, ctx);
  await waitOnExecutionContext(ctx);
  // ... and later rows land in further, smaller entries.
  for (let i = 0; i < 4; i++)
    await (await gateway(`${RG}?api-version=2021-04-01&later=${i}`, { token: reader })).arrayBuffer();
  await settle();
  await sealPending(env.AUDIT_DB, await auditSigner(env), Date.now(), { maxRows: 2 });
});

describe('audit integrity', () => {
  it('publishes the signing key and verifies an untouched trail', async () => {
    const keys = (await (await gateway('/_gateway/audit/keys')).json()) as { keys: { kid: string; crv: string }[] };
    const state = await snapshot();
    expect(state.digests.length).toBeGreaterThanOrEqual(3);
    expect(keys.keys[0]?.crv).toBe('Ed25519');
    expect(new Set(state.digests.map((d) => d.key_id))).toEqual(new Set([keys.keys[0]?.kid]));
    const report = await verify(state);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.sealedRows).toBe(11);

    const response = await gateway('/_gateway/audit/verify', { token: auditor });
    expect(response.status).toBe(200);
    const remote = (await response.json()) as { ok: boolean; sealedRows: number; head: { seq: number } };
    expect(remote).toMatchObject({ ok: true, sealedRows: 11, head: { seq: state.digests.length } });
  });

  it('reports rows not sealed yet as such, not as problems', async () => {
    const reader = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const response = await gateway(`${RG}?api-version=2021-04-01&unsealed=1`, { token: reader });
    await response.arrayBuffer();
    await settle();
    const report = await verify(await snapshot());
    expect(report.ok).toBe(true);
    expect(report.unsealed.requestIds).toContain(response.headers.get('x-edgeward-request-id'));
  });

  it('detects a modified field, and a modified field whose hash was rewritten', async () => {
    const state = await snapshot();
    const sealed = state.rows.filter((r) => r.sealed_seq !== null);
    const [a, b] = sealed as [StoredRow, StoredRow];
    const rows = state.rows.map((r) => (r.request_id === a.request_id ? { ...r, status: 204 } : r));
    const { rowHash } = await import('../../src/audit/canonical.ts');
    const forgedB: StoredRow = { ...b, subject_upn: 'mallory@contoso.com' };
    forgedB.row_hash = await rowHash(forgedB);
    const report = await verify({
      digests: state.digests,
      rows: rows.map((r) => (r.request_id === b.request_id ? forgedB : r)),
    });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        { kind: 'row_modified', requestId: a.request_id, seq: a.sealed_seq, detail: 'content changed' },
        { kind: 'row_modified', requestId: b.request_id, seq: b.sealed_seq, detail: 'hash rewritten' },
      ]),
    );
    expect(report.problems).toHaveLength(2);
  });

  it('detects a deleted row, an inserted row, and a row moved to another range', async () => {
    const state = await snapshot();
    const sealed = state.rows.filter((r) => r.sealed_seq !== null);
    const deleted = sealed[0] as StoredRow;
    const moved = sealed.find((r) => r.sealed_seq !== deleted.sealed_seq) as StoredRow;
    const inserted: StoredRow = { ...deleted, request_id: '00000000-dead-4bad-8bad-000000000000', sealed_seq: 1 };
    const rows: StoredRow[] = [
      ...state.rows.filter((r) => r !== deleted && r !== moved),
      { ...moved, sealed_seq: deleted.sealed_seq ?? null },
      inserted,
    ];
    const report = await verify({ digests: state.digests, rows });
    expect(report.problems).toEqual(
      expect.arrayContaining([
        { kind: 'row_deleted', requestId: deleted.request_id, seq: deleted.sealed_seq },
        { kind: 'row_inserted', requestId: inserted.request_id, seq: 1 },
        { kind: 'row_moved', requestId: moved.request_id, sealedIn: moved.sealed_seq, claims: deleted.sealed_seq },
      ]),
    );
    expect(report.problems).toHaveLength(3);
  });

  it('detects reordered leaves, a swapped digest, a deleted digest and a forged signature', async () => {
    const state = await snapshot();
    const [d1, d2, d3] = state.digests as [DigestRow, DigestRow, DigestRow];

    const leaves = JSON.parse(d1.leaves) as unknown[];
    const reordered = { ...d1, leaves: JSON.stringify([...leaves.slice(1), leaves[0]]) };
    expect(
      kinds((await verify({ ...state, digests: [reordered, d2, d3, ...state.digests.slice(3)] })).problems),
    ).toEqual(['digest_leaves_mismatch']);

    const swapped = [{ ...d2, seq: 1 }, { ...d1, seq: 2 }, d3, ...state.digests.slice(3)];
    const swapKinds = kinds((await verify({ ...state, digests: swapped })).problems);
    expect(swapKinds).toEqual(
      expect.arrayContaining(['digest_chain_broken', 'digest_hash_mismatch', 'digest_signature_invalid']),
    );

    const gap = await verify({ ...state, digests: state.digests.filter((d) => d.seq !== 2) });
    expect(gap.problems).toEqual(expect.arrayContaining([{ kind: 'digest_missing', seq: 2 }]));

    // A forger rewrites entry 1 over a forged leaf set and signs it with a key of their own.
    const mallory = await loadSigningKey(
      JSON.stringify(await crypto.subtle.exportKey('jwk', (await generate()).privateKey)),
    );
    const { canonicalDigest, digestBodyOf } = await import('../../src/audit/digest.ts');
    const { sha256Hex } = await import('../../src/util/sha256.ts');
    const body = digestBodyOf(d1);
    const text = canonicalDigest(body);
    const forged = {
      ...d1,
      signature: await mallory.sign(new TextEncoder().encode(text)),
      digest_hash: await sha256Hex(text),
    };
    expect((await verify({ ...state, digests: [forged, ...state.digests.slice(1)] })).problems).toEqual([
      { kind: 'digest_signature_invalid', seq: 1 },
    ]);
    const otherKey = { ...forged, key_id: mallory.keyId };
    expect(kinds((await verify({ ...state, digests: [otherKey, ...state.digests.slice(1)] })).problems)).toEqual(
      expect.arrayContaining(['digest_unknown_key']),
    );
  });

  it('reports tampering done in D1 itself through the control-plane endpoint (409)', async () => {
    const victim = (await env.AUDIT_DB.prepare(
      'SELECT request_id, sealed_seq FROM audit_events WHERE sealed_seq IS NOT NULL ORDER BY request_id LIMIT 1',
    ).first<{ request_id: string; sealed_seq: number }>()) as { request_id: string; sealed_seq: number };
    await env.AUDIT_DB.prepare(
      `UPDATE audit_events SET decision = 'allow', subject_upn = 'someone-else' WHERE request_id = ?`,
    )
      .bind(victim.request_id)
      .run();
    const response = await gateway('/_gateway/audit/verify', { token: auditor });
    expect(response.status).toBe(409);
    const report = (await response.json()) as { ok: boolean; problems: AuditProblem[] };
    expect(report.problems).toEqual([
      { kind: 'row_modified', requestId: victim.request_id, seq: victim.sealed_seq, detail: 'content changed' },
    ]);
  });
});

describe('audit retention', () => {
  it('deletes only whole sealed ranges past the retention age, and verification still accounts for them', async () => {
    const before = await snapshot();
    const signer = await auditSigner(env);
    const later = Date.now() + 3 * 86_400_000;
    expect(await pruneSealed(env.AUDIT_DB, signer, Date.now(), 1)).toBeNull();
    const prune = await pruneSealed(env.AUDIT_DB, signer, later, 1);
    expect(prune).toMatchObject({ kind: 'prune', pruned_from: 1, pruned_to: before.digests.length });
    const after = await snapshot();
    expect(after.rows.filter((r) => r.sealed_seq !== null)).toEqual([]);
    expect(after.digests).toHaveLength(before.digests.length + 1);
    const report = await verify(after);
    expect(report.ok).toBe(true);
    expect(report.pruned).toEqual([
      { seq: prune?.seq, at: new Date(later).toISOString(), fromSeq: 1, toSeq: before.digests.length, rows: 11 },
    ]);
    // Deleting rows is detected unless a signed prune entry covers their range.
    const unsignedPrune = await verify({ rows: after.rows, digests: after.digests.filter((d) => d.kind === 'seal') });
    expect(kinds(unsignedPrune.problems)).toEqual(Array(11).fill('row_deleted'));
  });
});

async function generate(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
}

describe('audit signing key configuration', () => {
  it('refuses to publish or use the dev key outside development and test', async () => {
    const { auditApi } = await import('../../src/control/audit-api.ts');
    const production = { ...env, ENVIRONMENT: 'production' } as Env;
    const response = await auditApi.request('/audit/keys', {}, production);
    expect(response.status).toBe(500);
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_MISCONFIGURED');
    await expect(auditSigner(production)).rejects.toThrow(/AUDIT_SIGNING_KEY is not set/);
  });
});

describe('orphaned intent rows', () => {
  it('seals an intent never completed after a day, and a late final write cannot change it', async () => {
    const { writeAuditRecord } = await import('../../src/audit/d1-store.ts');
    const now = Date.now();
    const intent = {
      requestId: '00000000-0000-4000-8000-0000000000aa',
      phase: 'intent' as const,
      startedAt: new Date(now - 2 * 86_400_000).toISOString(),
      method: 'DELETE',
      path: '/subscriptions/s/resourceGroups/orphan',
      query: '',
      decision: 'allow' as const,
      ruleIds: [],
      outcome: 'pending' as const,
      maskedCount: 0,
      maskedPaths: [],
    };
    await writeAuditRecord(env.AUDIT_DB, intent);
    const sealed = await sealPending(env.AUDIT_DB, await auditSigner(env), now);
    expect(sealed.flatMap((d) => JSON.parse(d.leaves) as [string, string][]).map(([id]) => id)).toContain(
      intent.requestId,
    );
    await writeAuditRecord(env.AUDIT_DB, { ...intent, phase: 'final', outcome: 'completed', status: 200 });
    const row = await env.AUDIT_DB.prepare('SELECT phase, status FROM audit_events WHERE request_id = ?')
      .bind(intent.requestId)
      .first();
    expect(row).toEqual({ phase: 'intent', status: null });
    const report = await verify(await snapshot());
    expect(report.problems).toEqual([]);
  });
});
