/**
 * A masked, size-capped preview of a held request body for approvers (pure).
 *
 * Contract: masked by the same masker and rules as the audit row's copy of a body
 * (src/audit/body-capture.ts: the rule's mask keys, credential-like member names whatever their
 * value's type, every value detector); non-JSON bodies are summarised by size only; the preview
 * is at most 2,000 characters.
 */
import { capturedFromBytes, maskedJsonPrefix } from '../audit/body-capture.ts';

const LIMIT = 2000;
/** Enough source for a 2,000-character preview even where masking shortens values. */
const SOURCE_CAP = 64 * 1024;

export function bodyPreview(bytes: ArrayBuffer, maskKeys: readonly string[]): string | undefined {
  if (bytes.byteLength === 0) return undefined;
  const text = maskedJsonPrefix(capturedFromBytes(bytes, SOURCE_CAP), maskKeys);
  if (text === undefined) return `(${bytes.byteLength} bytes, not JSON: not shown)`;
  return text.length > LIMIT ? `${text.slice(0, LIMIT - 1)}…` : text;
}
