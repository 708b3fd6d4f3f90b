/**
 * Recompute the audit trail's integrity from its raw rows and digest entries: no I/O, no clock.
 *
 * Contract: trusts only the public keys it is given. Reports, precisely and per item:
 * - digest entries: missing sequence numbers, a broken hash chain, a body that does not hash to
 *   its `digest_hash`, an unknown key, a signature that does not verify, leaves that do not
 *   match their signed Merkle root or count;
 * - rows: content modified (hash recomputed ≠ stored) or hash rewritten (stored ≠ sealed leaf),
 *   deleted from a sealed range (and not covered by a signed prune entry), inserted into a sealed
 *   range, or moved between ranges;
 * - rows not sealed yet (listed, never counted as problems), and what retention removed and when.
 * `ok` is true only when there is no problem. The tail of the chain can only be trusted as far as
 * `head` matches a copy kept elsewhere (as with any hash chain); the report names it for that.
 */

import { sha256Hex } from '../util/sha256.ts';
import { rowHash, type StoredRow } from './canonical.ts';
import { canonicalDigest, type DigestRow, digestBodyOf, GENESIS_HASH } from './digest.ts';
import { auditMerkleRootHex } from './merkle.ts';
import { verifySignature } from './signing-key.ts';

export type AuditProblem =
  | { kind: 'digest_missing'; seq: number }
  | { kind: 'digest_chain_broken'; seq: number; expectedPrev: string; foundPrev: string }
  | { kind: 'digest_hash_mismatch'; seq: number }
  | { kind: 'digest_unknown_key'; seq: number; keyId: string }
  | { kind: 'digest_signature_invalid'; seq: number }
  | { kind: 'digest_leaves_mismatch'; seq: number; detail: string }
  | { kind: 'row_modified'; requestId: string; seq: number; detail: 'content changed' | 'hash rewritten' }
  | { kind: 'row_deleted'; requestId: string; seq: number }
  | { kind: 'row_inserted'; requestId: string; seq: number }
  | { kind: 'row_moved'; requestId: string; sealedIn: number; claims: number };

export interface VerifyReport {
  ok: boolean;
  problems: AuditProblem[];
  digests: number;
  rowsChecked: number;
  sealedRows: number;
  head: { seq: number; digestHash: string } | null;
  unsealed: { count: number; intents: number; oldestStartedAt: string | null; requestIds: string[] };
  pruned: { seq: number; at: string; fromSeq: number; toSeq: number; rows: number }[];
}

const MAX_LISTED = 100;

export async function verifyAuditTrail(input: {
  digests: readonly DigestRow[];
  rows: readonly StoredRow[];
  keys: readonly { kid: string; x: string }[];
}): Promise<VerifyReport> {
  const problems: AuditProblem[] = [];
  const keys = new Map(input.keys.map((k) => [k.kid, k]));
  const digests = [...input.digests].sort((a, b) => a.seq - b.seq);

  // 1. The chain and each entry's signature and Merkle root.
  const leafOwner = new Map<string, { seq: number; hash: string }>();
  const sealLeaves = new Map<number, [string, string][]>();
  const prunedSeqs = new Map<number, number>();
  const pruned: VerifyReport['pruned'] = [];
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for (const digest of digests) {
    for (; expectedSeq < digest.seq; expectedSeq++) problems.push({ kind: 'digest_missing', seq: expectedSeq });
    expectedSeq = digest.seq + 1;
    const text = canonicalDigest(digestBodyOf(digest));
    if (digest.prev_hash !== prevHash) {
      problems.push({
        kind: 'digest_chain_broken',
        seq: digest.seq,
        expectedPrev: prevHash,
        foundPrev: digest.prev_hash,
      });
    }
    if ((await sha256Hex(text)) !== digest.digest_hash)
      problems.push({ kind: 'digest_hash_mismatch', seq: digest.seq });
    const key = keys.get(digest.key_id);
    if (!key) problems.push({ kind: 'digest_unknown_key', seq: digest.seq, keyId: digest.key_id });
    else if (!(await verifySignature(key, new TextEncoder().encode(text), digest.signature))) {
      problems.push({ kind: 'digest_signature_invalid', seq: digest.seq });
    }
    // The next entry must chain to this one as recorded (a recomputed hash would hide nothing
    // more: a mismatch is already reported above).
    prevHash = digest.digest_hash;

    if (digest.kind === 'prune') {
      for (let seq = digest.pruned_from ?? 0; seq <= (digest.pruned_to ?? -1); seq++) prunedSeqs.set(seq, digest.seq);
      pruned.push({
        seq: digest.seq,
        at: digest.created_at,
        fromSeq: digest.pruned_from ?? 0,
        toSeq: digest.pruned_to ?? 0,
        rows: digest.row_count,
      });
      continue;
    }
    let leaves: [string, string][];
    try {
      leaves = JSON.parse(digest.leaves) as [string, string][];
      if (!Array.isArray(leaves)) throw new Error('not an array');
    } catch {
      problems.push({ kind: 'digest_leaves_mismatch', seq: digest.seq, detail: 'leaves are not a JSON array' });
      continue;
    }
    if (leaves.length !== digest.row_count) {
      problems.push({
        kind: 'digest_leaves_mismatch',
        seq: digest.seq,
        detail: `${leaves.length} leaves, ${digest.row_count} signed`,
      });
    }
    if ((await auditMerkleRootHex(leaves)) !== digest.root) {
      problems.push({
        kind: 'digest_leaves_mismatch',
        seq: digest.seq,
        detail: 'leaves do not hash to the signed Merkle root',
      });
    }
    sealLeaves.set(digest.seq, leaves);
    for (const [id, hash] of leaves) leafOwner.set(String(id), { seq: digest.seq, hash: String(hash) });
  }

  // 2. Every row against its stored hash and the leaf that sealed it.
  const seen = new Set<string>();
  const unsealed: VerifyReport['unsealed'] = { count: 0, intents: 0, oldestStartedAt: null, requestIds: [] };
  let sealedRows = 0;
  for (const row of input.rows) {
    const id = String(row.request_id);
    const claimed = row.sealed_seq === null || row.sealed_seq === undefined ? null : Number(row.sealed_seq);
    const owner = leafOwner.get(id);
    const recomputed = await rowHash(row);
    if (claimed === null && !owner) {
      unsealed.count++;
      if (row.phase === 'intent') unsealed.intents++;
      const started = String(row.started_at);
      if (unsealed.oldestStartedAt === null || started < unsealed.oldestStartedAt) unsealed.oldestStartedAt = started;
      if (unsealed.requestIds.length < MAX_LISTED) unsealed.requestIds.push(id);
      continue;
    }
    if (!owner) {
      problems.push({ kind: 'row_inserted', requestId: id, seq: claimed ?? 0 });
      continue;
    }
    seen.add(id);
    sealedRows++;
    if (claimed !== owner.seq)
      problems.push({ kind: 'row_moved', requestId: id, sealedIn: owner.seq, claims: claimed ?? 0 });
    if (recomputed !== row.row_hash) {
      problems.push({ kind: 'row_modified', requestId: id, seq: owner.seq, detail: 'content changed' });
    } else if (recomputed !== owner.hash) {
      problems.push({ kind: 'row_modified', requestId: id, seq: owner.seq, detail: 'hash rewritten' });
    }
  }

  // 3. Every sealed leaf must still have its row, unless a signed prune entry removed its range.
  for (const [seq, leaves] of sealLeaves) {
    if (prunedSeqs.has(seq)) continue;
    for (const [id] of leaves)
      if (!seen.has(String(id))) problems.push({ kind: 'row_deleted', requestId: String(id), seq });
  }

  const last = digests[digests.length - 1];
  return {
    ok: problems.length === 0,
    problems,
    digests: digests.length,
    rowsChecked: input.rows.length,
    sealedRows,
    head: last ? { seq: last.seq, digestHash: last.digest_hash } : null,
    unsealed,
    pruned,
  };
}
