/**
 * Bridges what policy and configuration hand the pipeline today to what the masker needs.
 *
 * Contract: `maskSpecFromDecision` accepts either a full MaskSpec (what policy emits from issue 4
 * on) or the walking skeleton's `{ keys }` and returns a complete MaskSpec (missing members take
 * their EMPTY_MASK defaults). `hmacKeyFromSecret` turns the optional MASK_HMAC_KEY Worker secret
 * into key bytes (UTF-8 of the secret), or undefined when it is unset or empty.
 */
import { EMPTY_MASK, type MaskSpec } from './spec.ts';

export function maskSpecFromDecision(mask: Partial<MaskSpec> | undefined): MaskSpec {
  // A complete spec is passed as is, so the masker's compile cache can find it by identity.
  if (mask?.paths && mask.keys && mask.detectors && mask.style) return mask as MaskSpec;
  return { ...EMPTY_MASK, ...mask };
}

export function hmacKeyFromSecret(secret: string | undefined): Uint8Array | undefined {
  return secret ? new TextEncoder().encode(secret) : undefined;
}
