/**
 * The signed, hash-chained digest log: sealing rows and retention.
 *
 * Contract:
 * - A digest entry's signed body is the RFC 8785 canonical JSON of `DigestBody` (below);
 *   `digest_hash` = SHA-256 hex of that text; `signature` = Ed25519 over the same UTF-8 bytes
 *   (base64url); `prev_hash` = the previous entry's `digest_hash` (64 zeros for seq 1). Entries are
 *   only ever inserted, never updated.
 * - `sealPending` seals final, unsealed rows (and intent rows orphaned for a day) in
 *   (finished_at, request_id) order, at most `maxRows`
 *   per entry: the entry stores the ordered leaves `[request_id, row_hash]` and their RFC 9162
 *   Merkle root, and the same D1 batch (one transaction) stamps `sealed_seq` on exactly those rows.
 *   A concurrent sealer loses on the primary key and the whole batch rolls back.
 * - `pruneSealed` deletes rows only in whole sealed ranges whose entries are older than the
 *   retention age, and in the same transaction appends a signed `prune` entry naming the range, so
 *   the chain proves what was removed and when.
 */

import { sha256Hex } from '../util/sha256.ts';
import { canonicalJson, rowHash, type StoredRow } from './canonical.ts';
import { auditMerkleRootHex } from './merkle.ts';
import type { AuditSigner } from './signing-key.ts';

export const GENESIS_HASH = '0'.repeat(64);
/** D1 allows at most 100 bound parameters per statement. */
const IDS_PER_STATEMENT = 90;

export interface DigestBody {
  v: 1;
  seq: number;
  kind: 'seal' | 'prune';
  created_at: string;
  prev_hash: string;
  row_count: number;
  root: string;
  first_finished_at: string | null;
  last_finished_at: string | null;
  pruned_from: number | null;
  pruned_to: number | null;
  key_id: string;
}

export interface DigestRow extends Omit<DigestBody, 'v'> {
  leaves: string;
  digest_hash: string;
  signature: string;
}

export const digestBodyOf = (row: Omit<DigestRow, 'leaves' | 'digest_hash' | 'signature'>): DigestBody => ({
  v: 1,
  seq: row.seq,
  kind: row.kind,
  created_at: row.created_at,
  prev_hash: row.prev_hash,
  row_count: row.row_count,
  root: row.root,
  first_finished_at: row.first_finished_at ?? null,
  last_finished_at: row.last_finished_at ?? null,
  pruned_from: row.pruned_from ?? null,
  pruned_to: row.pruned_to ?? null,
  key_id: row.key_id,
});

export const canonicalDigest = (body: DigestBody) => canonicalJson({ ...body });

async function signEntry(body: DigestBody, signer: AuditSigner, leaves: string): Promise<DigestRow> {
  const text = canonicalDigest(body);
  const { v: _v, ...rest } = body;
  return {
    ...rest,
    leaves,
    digest_hash: await sha256Hex(text),
    signature: await signer.sign(new TextEncoder().encode(text)),
  };
}

const DIGEST_COLUMNS = [
  'seq',
  'kind',
  'created_at',
  'prev_hash',
  'row_count',
  'root',
  'leaves',
  'first_finished_at',
  'last_finished_at',
  'pruned_from',
  'pruned_to',
  'key_id',
  'digest_hash',
  'signature',
] as const;

const insertDigest = (db: D1Database, row: DigestRow) =>
  db
    .prepare(
      `INSERT INTO audit_digests (${DIGEST_COLUMNS.join(', ')}) VALUES (${DIGEST_COLUMNS.map(() => '?').join(', ')})`,
    )
    .bind(...DIGEST_COLUMNS.map((c) => row[c] ?? null));

async function head(db: D1Database): Promise<{ seq: number; hash: string }> {
  const last = await db
    .prepare('SELECT seq, digest_hash FROM audit_digests ORDER BY seq DESC LIMIT 1')
    .first<{ seq: number; digest_hash: string }>();
  return last ? { seq: last.seq, hash: last.digest_hash } : { seq: 0, hash: GENESIS_HASH };
}

/** The signed `seal` entry over `leaves`, chained to `previous` (pure: no I/O). */
export async function buildSealEntry(
  previous: { seq: number; hash: string },
  leaves: [string, string][],
  signer: AuditSigner,
  nowMs: number,
  finished: { first: string; last: string },
): Promise<DigestRow> {
  return signEntry(
    {
      v: 1,
      seq: previous.seq + 1,
      kind: 'seal',
      created_at: new Date(nowMs).toISOString(),
      prev_hash: previous.hash,
      row_count: leaves.length,
      root: await auditMerkleRootHex(leaves),
      first_finished_at: finished.first,
      last_finished_at: finished.last,
      pruned_from: null,
      pruned_to: null,
      key_id: signer.keyId,
    },
    signer,
    JSON.stringify(leaves),
  );
}

/**
 * An intent row still not final after this long belongs to a request whose isolate died between
 * the write-ahead and the final write (the retry buffer would have delivered a final row by
 * now): it is sealed as it is, so the evidence that a mutation may have gone upstream cannot be
 * quietly removed. A final row arriving later never changes it (the upsert skips sealed rows).
 */
export const ORPHAN_INTENT_AFTER_MS = 24 * 3_600_000;

export interface SealOptions {
  maxRows?: number;
  orphanAfterMs?: number;
  maxEntries?: number;
}

/** Seal unsealed final rows; returns the new entries (empty when there was nothing to seal). */
export async function sealPending(
  db: D1Database,
  signer: AuditSigner,
  nowMs: number,
  options: SealOptions = {},
): Promise<DigestRow[]> {
  const maxRows = options.maxRows ?? 1000;
  const sealed: DigestRow[] = [];
  for (let n = 0; n < (options.maxEntries ?? 10); n++) {
    // Head first, rows second: a concurrent sealer that commits in between makes this entry's seq
    // collide on the primary key (the batch fails, nothing is sealed twice) — read the other way
    // round, both could sign an entry over the same rows.
    const previous = await head(db);
    const { results } = await db
      .prepare(
        `SELECT * FROM audit_events WHERE sealed_seq IS NULL
         AND (phase = 'final' OR (phase = 'intent' AND started_at < ?))
         ORDER BY coalesce(finished_at, started_at), request_id LIMIT ?`,
      )
      .bind(new Date(nowMs - (options.orphanAfterMs ?? ORPHAN_INTENT_AFTER_MS)).toISOString(), maxRows)
      .all<StoredRow>();
    if (results.length === 0) break;
    const leaves: [string, string][] = [];
    const statements: D1PreparedStatement[] = [];
    for (const row of results) {
      let hash = typeof row.row_hash === 'string' ? row.row_hash : null;
      if (hash === null) {
        // Rows written before migration 0002 carry no hash: hash them now, as they are.
        hash = await rowHash(row);
        statements.push(
          db
            .prepare('UPDATE audit_events SET row_hash = ? WHERE request_id = ? AND row_hash IS NULL')
            .bind(hash, row.request_id),
        );
      }
      leaves.push([String(row.request_id), hash]);
    }
    const entry = await buildSealEntry(previous, leaves, signer, nowMs, {
      first: String(results[0]?.finished_at ?? results[0]?.started_at ?? ''),
      last: String(results[results.length - 1]?.finished_at ?? results[results.length - 1]?.started_at ?? ''),
    });
    for (let i = 0; i < leaves.length; i += IDS_PER_STATEMENT) {
      const ids = leaves.slice(i, i + IDS_PER_STATEMENT).map(([id]) => id);
      statements.push(
        db
          .prepare(
            `UPDATE audit_events SET sealed_seq = ? WHERE sealed_seq IS NULL
             AND request_id IN (${ids.map(() => '?').join(', ')})`,
          )
          .bind(entry.seq, ...ids),
      );
    }
    await db.batch([insertDigest(db, entry), ...statements]);
    sealed.push(entry);
    if (results.length < maxRows) break;
  }
  return sealed;
}

/**
 * Delete the rows of whole sealed ranges whose seal entries are older than `retentionDays`, and
 * append a signed `prune` entry naming the range. Returns that entry, or null if nothing was due.
 */
export async function pruneSealed(
  db: D1Database,
  signer: AuditSigner,
  nowMs: number,
  retentionDays: number,
): Promise<DigestRow | null> {
  if (!(retentionDays > 0)) return null;
  const cutoff = new Date(nowMs - retentionDays * 86_400_000).toISOString();
  const lastPrune = await db
    .prepare(`SELECT max(pruned_to) AS upto FROM audit_digests WHERE kind = 'prune'`)
    .first<{ upto: number | null }>();
  const from = (lastPrune?.upto ?? 0) + 1;
  // The newest seal entry old enough; everything sealed from `from` up to it goes, as a whole.
  const due = await db
    .prepare(
      `SELECT max(seq) AS upto, sum(row_count) AS rows FROM audit_digests WHERE kind = 'seal' AND seq >= ? AND created_at < ?`,
    )
    .bind(from, cutoff)
    .first<{ upto: number | null; rows: number | null }>();
  if (!due?.upto) return null;
  const previous = await head(db);
  const entry = await signEntry(
    {
      v: 1,
      seq: previous.seq + 1,
      kind: 'prune',
      created_at: new Date(nowMs).toISOString(),
      prev_hash: previous.hash,
      row_count: due.rows ?? 0,
      root: await auditMerkleRootHex([]),
      first_finished_at: null,
      last_finished_at: null,
      pruned_from: from,
      pruned_to: due.upto,
      key_id: signer.keyId,
    },
    signer,
    '[]',
  );
  await db.batch([
    insertDigest(db, entry),
    db.prepare('DELETE FROM audit_events WHERE sealed_seq BETWEEN ? AND ?').bind(from, due.upto),
  ]);
  return entry;
}

export async function listDigests(db: D1Database): Promise<DigestRow[]> {
  const { results } = await db.prepare('SELECT * FROM audit_digests ORDER BY seq').all<DigestRow>();
  return results;
}
