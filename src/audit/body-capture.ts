/**
 * Keep a bounded, masked copy of a mutating request's body for the audit row, while the body
 * streams upstream untouched.
 *
 * Contract: `captureBody` passes every chunk through unchanged, counts the bytes (`bytesIn`) and
 * copies at most `cap` bytes; memory is bounded by `cap`, never by the body size. `maskedBody`
 * turns the captured prefix into text safe for the audit row: JSON (complete or truncated) has the
 * values of secret-bearing members replaced by `"***"` by the same streaming masker that masks
 * responses; anything that is not JSON is not kept (only its size and a note), because its secrets
 * cannot be found.
 */
import { createMasker, DETECTOR_NAMES, EMPTY_MASK, MaskError } from '../mask/index.ts';

export const REQUEST_BODY_CAP = 8 * 1024;

/**
 * Member names (case-insensitive, `*` wildcards) whose values never reach the audit row or an
 * approver, in addition to the policy's mask keys: a whole object or array under such a name is
 * masked (`protectedSettings`, a Kubernetes Secret's `data`/`stringData`, ARM `{"value": …}`
 * parameters). Over-masking a kept copy costs little; a second copy of a secret costs a lot.
 */
export const BODY_SECRET_KEYS = [
  '*password*',
  '*secret*',
  '*key',
  '*keys',
  '*token',
  '*credential*',
  '*connectionstring*',
  '*certificate*',
  'value',
  'customData',
  'protectedSettings',
  'data',
  'stringData',
];

export interface CapturedBody {
  bytes: number;
  prefix: Uint8Array;
  truncated: boolean;
}

export function captureBody(
  body: ReadableStream<Uint8Array>,
  cap: number,
): { stream: ReadableStream<Uint8Array>; captured: () => CapturedBody } {
  const prefix = new Uint8Array(cap);
  let kept = 0;
  let bytes = 0;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        if (kept < cap) {
          const take = Math.min(cap - kept, chunk.byteLength);
          prefix.set(chunk.subarray(0, take), kept);
          kept += take;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return { stream, captured: () => ({ bytes, prefix: prefix.slice(0, kept), truncated: bytes > kept }) };
}

export function capturedFromBytes(data: ArrayBuffer | Uint8Array, cap: number): CapturedBody {
  const all = data instanceof Uint8Array ? data : new Uint8Array(data);
  return { bytes: all.byteLength, prefix: all.slice(0, cap), truncated: all.byteLength > cap };
}

export function maskedBody(captured: CapturedBody, extraKeys: readonly string[] = []): string | undefined {
  if (captured.bytes === 0) return undefined;
  return maskedJsonPrefix(captured, extraKeys) ?? `[body not kept: not JSON, ${captured.bytes} bytes]`;
}

/** The captured prefix with every secret masked, or undefined when it is not JSON. */
export function maskedJsonPrefix(captured: CapturedBody, extraKeys: readonly string[] = []): string | undefined {
  const parts: Uint8Array[] = [];
  try {
    // Known secret member names, the policy's own mask keys, and every value detector: a body
    // kept for audit must not become a second copy of a secret.
    const masker = createMasker({
      ...EMPTY_MASK,
      keys: [...BODY_SECRET_KEYS, ...extraKeys],
      detectors: DETECTOR_NAMES,
    });
    parts.push(...masker.push(captured.prefix));
    if (!captured.truncated) parts.push(...masker.end());
  } catch (error) {
    if (error instanceof MaskError) return undefined;
    throw error;
  }
  const decoder = new TextDecoder();
  let text = '';
  for (const part of parts) text += decoder.decode(part, { stream: true });
  return text + decoder.decode();
}
