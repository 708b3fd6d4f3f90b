import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditLeaf, merkleRoot, toHex } from '../../../src/audit/merkle.ts';

// The RFC 9162 §2.1.1 definition, written recursively, as the reference.
const h = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return h();
  if (leaves.length === 1) return h(new Uint8Array([0]), leaves[0] as Uint8Array);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return h(new Uint8Array([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe('RFC 9162 Merkle tree hash', () => {
  it('hashes the empty tree to SHA-256 of the empty string', async () => {
    expect(toHex(await merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('equals the recursive definition for every size up to 33', async () => {
    const leaves = Array.from({ length: 33 }, (_, i) => auditLeaf(`id-${i}`, `${i}`.padStart(64, '0')));
    for (let n = 1; n <= leaves.length; n++) {
      expect(toHex(await merkleRoot(leaves.slice(0, n))), `n=${n}`).toBe(toHex(mth(leaves.slice(0, n))));
    }
  });

  it('binds order and separates leaves from nodes', async () => {
    const a = auditLeaf('a', '1');
    const b = auditLeaf('b', '2');
    expect(toHex(await merkleRoot([a, b]))).not.toBe(toHex(await merkleRoot([b, a])));
    // A second-preimage attempt: presenting an inner node as a leaf gives a different root.
    const inner = h(new Uint8Array([1]), h(new Uint8Array([0]), a), h(new Uint8Array([0]), b));
    expect(toHex(await merkleRoot([inner]))).not.toBe(toHex(await merkleRoot([a, b])));
  });
});
