/**
 * RFC 9162 §2.1.1 Merkle Tree Hash over SHA-256.
 *
 * Contract: MTH({}) = SHA-256(""); leaf hash = SHA-256(0x00 || d); node = SHA-256(0x01 || l || r),
 * splitting n leaves at the largest power of two strictly below n. An audit leaf's data `d` is the
 * UTF-8 of `request_id + "\n" + row_hash`, so a leaf binds a row's id to its content hash, and the
 * root binds the order of the leaves.
 */
import { createHash } from 'node:crypto';

const enc = new TextEncoder();

/** Synchronous (node:crypto): a seal or a verification hashes every row twice; no promise per hash. */
function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

export const auditLeaf = (requestId: string, hash: string) => enc.encode(`${requestId}\n${hash}`);

export async function merkleRoot(leaves: readonly Uint8Array[]): Promise<Uint8Array> {
  if (leaves.length === 0) return sha256();
  // Bottom-up over levels; an odd node is promoted unchanged, which yields the same tree as the
  // RFC's recursive split at the largest power of two below n.
  let level: Uint8Array[] = [];
  for (const leaf of leaves) level.push(sha256(new Uint8Array([0]), leaf));
  const one = new Uint8Array([1]);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2)
      next.push(sha256(one, level[i] as Uint8Array, level[i + 1] as Uint8Array));
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Uint8Array);
    level = next;
  }
  return level[0] as Uint8Array;
}

export const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export async function auditMerkleRootHex(leaves: readonly (readonly [string, string])[]): Promise<string> {
  return toHex(await merkleRoot(leaves.map(([id, hash]) => auditLeaf(id, hash))));
}
