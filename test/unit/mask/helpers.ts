/** Helpers for masker unit tests: run a text through a masker with given chunk boundaries. */
import { createMasker, type JsonMasker, type MaskOptions } from '../../../src/mask/json-mask-stream.ts';
import { EMPTY_MASK, type MaskSpec } from '../../../src/mask/spec.ts';

export const encoder = new TextEncoder();
export const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export const spec = (partial: Partial<MaskSpec>): MaskSpec => ({ ...EMPTY_MASK, ...partial });

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Mask `input` split at the given byte offsets; returns output bytes and the masker. */
export function maskBytes(
  input: Uint8Array,
  maskSpec: MaskSpec,
  splits: readonly number[] = [],
  options: MaskOptions = {},
): { bytes: Uint8Array; masker: JsonMasker } {
  const masker = createMasker(maskSpec, options);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const at of [...splits, input.length]) {
    for (const part of masker.push(input.subarray(from, at))) parts.push(part.slice());
    from = at;
  }
  parts.push(...masker.end());
  return { bytes: concat(parts), masker };
}

export function maskText(
  text: string,
  maskSpec: MaskSpec,
  splits: readonly number[] = [],
  options: MaskOptions = {},
): string {
  return decoder.decode(maskBytes(encoder.encode(text), maskSpec, splits, options).bytes);
}

/** Output of a masker fed until it throws: everything it emitted before the error. */
export function emittedBeforeError(
  input: Uint8Array,
  maskSpec: MaskSpec,
  chunkSize: number,
  options: MaskOptions = {},
): { emitted: Uint8Array; error: unknown } {
  const masker = createMasker(maskSpec, options);
  const parts: Uint8Array[] = [];
  try {
    for (let at = 0; at < input.length; at += chunkSize) {
      parts.push(...masker.push(input.subarray(at, at + chunkSize)).map((p) => p.slice()));
    }
    parts.push(...masker.end());
  } catch (error) {
    return { emitted: concat(parts), error };
  }
  return { emitted: concat(parts), error: undefined };
}

export const allSplits = (length: number) => Array.from({ length: length - 1 }, (_, i) => i + 1);
