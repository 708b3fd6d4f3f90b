/**
 * A masked, size-capped preview of a held request body for approvers (pure).
 *
 * Contract: values of the rule's mask keys, and of members whose names look like credentials, are
 * replaced by "***" before anything is shown; non-JSON bodies are summarised by size only; the
 * preview is at most 2,000 characters.
 */
const CREDENTIAL_NAME = /pass(word)?|secret|token|key|credential|connectionstring|sas/i;
const LIMIT = 2000;

export function bodyPreview(bytes: ArrayBuffer, maskKeys: readonly string[]): string | undefined {
  if (bytes.byteLength === 0) return undefined;
  const masked = new Set(maskKeys.map((k) => k.toLowerCase()));
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return `(${bytes.byteLength} bytes, not JSON: not shown)`;
  }
  const text = JSON.stringify(parsed, (key, value) =>
    key !== '' &&
    (masked.has(key.toLowerCase()) || CREDENTIAL_NAME.test(key)) &&
    (typeof value !== 'object' || value === null)
      ? '***'
      : value,
  );
  return text.length > LIMIT ? `${text.slice(0, LIMIT - 1)}…` : text;
}
