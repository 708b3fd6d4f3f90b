/**
 * Canonical form and content hash of a stored audit row.
 *
 * Contract: `canonicalJson` is RFC 8785 (JCS) for the value domain audit rows use — strings,
 * safe integers, booleans, null, arrays and plain objects: object members sorted by UTF-16 code
 * units, no whitespace, ECMAScript string escaping and number serialisation (which JCS adopts).
 * Non-integers and non-finite numbers are refused so no float formatting question ever arises.
 *
 * `rowHash` is SHA-256 (lowercase hex) of the canonical JSON of the row *as stored in D1*
 * (column name → value), leaving out `row_hash`, `sealed_seq` and every NULL column. Leaving NULLs
 * out means an append-only migration that adds a nullable column does not change old rows' hashes,
 * and the verifier can recompute the hash from `SELECT *` output alone.
 */
import { sha256Hex } from '../util/sha256.ts';

export type CanonicalValue = string | number | boolean | null | CanonicalValue[] | { [key: string]: CanonicalValue };

export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical form admits safe integers only, got ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const members: string[] = [];
  for (const key of keys) {
    const member = value[key];
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

/** Columns that are not part of a row's content: the hash itself and the seal bookkeeping. */
export const NON_CONTENT_COLUMNS: ReadonlySet<string> = new Set(['row_hash', 'sealed_seq']);

export type StoredRow = Record<string, string | number | null>;

/** `canonicalJson` of the row's content columns, built directly (rows are flat: strings and integers). */
export function canonicalRow(row: StoredRow): string {
  const members: string[] = [];
  for (const column of Object.keys(row).sort()) {
    const value = row[column];
    if (value === null || value === undefined || NON_CONTENT_COLUMNS.has(column)) continue;
    members.push(`${JSON.stringify(column)}:${canonicalJson(value)}`);
  }
  return `{${members.join(',')}}`;
}

export function rowHash(row: StoredRow): Promise<string> {
  return sha256Hex(canonicalRow(row));
}
