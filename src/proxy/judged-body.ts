/**
 * Bodies the gateway judges — a batch's embedded requests, a template deployment's resources, a
 * body an approver will see, a body policy rewrites — are read whole (capped) and parsed strictly,
 * so that what policy judged is exactly what the upstream will execute.
 *
 * Contract: `readJudgedBody` returns the bytes (to forward unchanged) and the parsed value, or
 * throws a typed error: 413 above the cap, 400 EDGEWARD_AMBIGUOUS_BODY for a body that is not one
 * JSON value or holds duplicate member names, exactly or case-insensitively, at any depth (Azure
 * binds names case-insensitively and lets the last duplicate win; src/util/strict-json.ts).
 * `refuseAmbiguousJson` applies the same rule to a body whose content type says JSON, or that
 * looks like JSON (an upstream may parse it whatever the type says); other bodies pass.
 */
import { ambiguousBody } from '../errors.ts';
import { parseStrictJsonBytes, type StrictJsonResult } from '../util/strict-json.ts';
import { readStreamCapped } from './read-body.ts';

/** Batches and template deployments are judged whole up to this size. */
export const JUDGED_BODY_LIMIT = 1024 * 1024;

export async function readJudgedBody(
  body: ReadableStream<Uint8Array> | null,
  contentLength: string | null,
  limit = JUDGED_BODY_LIMIT,
): Promise<{ bytes: ArrayBuffer; value: unknown }> {
  const bytes = await readStreamCapped(body, contentLength, limit);
  const parsed = parseStrictJsonBytes(bytes);
  if (!parsed.ok) throw refusal(parsed);
  return { bytes, value: parsed.value };
}

/** `application/json` or any `+json` type (RFC 6839), parameters ignored. */
export function isJsonContentType(contentType: string | null): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if (
      byte === 0x20 ||
      byte === 0x09 ||
      byte === 0x0a ||
      byte === 0x0d ||
      byte === 0xef ||
      byte === 0xbb ||
      byte === 0xbf
    ) {
      continue;
    }
    return byte === 0x7b || byte === 0x5b; // { or [
  }
  return false;
}

export function refuseAmbiguousJson(bytes: ArrayBuffer, contentType: string | null): void {
  if (bytes.byteLength === 0) return;
  const view = new Uint8Array(bytes);
  const declared = isJsonContentType(contentType);
  if (!declared && !looksLikeJson(view)) return;
  const parsed = parseStrictJsonBytes(view);
  if (parsed.ok) return;
  // Text that merely starts like JSON under a non-JSON type is not refused for being invalid —
  // only for a duplicate or excessive depth, which an upstream that parses it anyway would bind.
  if (!declared && parsed.reason === 'invalid_json') return;
  throw refusal(parsed);
}

function refusal(parsed: Extract<StrictJsonResult, { ok: false }>) {
  const what =
    parsed.reason === 'duplicate_member'
      ? `The body repeats a member name at ${parsed.path || '(root)'} (${parsed.detail})`
      : parsed.reason === 'too_deep'
        ? `The body nests too deeply at ${parsed.path || '(root)'}`
        : `The body is not valid JSON (${parsed.detail})`;
  return ambiguousBody(what, parsed.path);
}
