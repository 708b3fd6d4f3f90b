/**
 * Markers that replace a masked value, always a valid JSON string.
 *
 * Contract: `redact` → `"***"`. `last4` → `"***" + the last 4 characters` (code points) of a string
 * of at least 12 characters, else `"***"` (revealing 4 of fewer than 12 characters gives away too
 * much). `hmac` → `"hmac:" + base64url(HMAC-SHA-256(key, UTF-8 value))`, so an auditor can tell two
 * masked values apart without seeing either. Non-string values (objects, arrays, numbers, literals)
 * and values over the masker's hold cap are always `"***"`: their plaintext is never held.
 */
import { hmacSha256 } from './hmac-sha256.ts';
import type { MaskStyle } from './spec.ts';

const encoder = new TextEncoder();
export const REDACTED = encoder.encode('"***"');
export const LAST4_MIN_LENGTH = 12;

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The marker for a masked string value (already decoded). */
export function styledMarker(style: MaskStyle, value: string, hmacKey: Uint8Array | undefined): Uint8Array {
  if (style === 'last4') {
    const chars = Array.from(value);
    if (chars.length < LAST4_MIN_LENGTH) return REDACTED.slice();
    return encoder.encode(JSON.stringify(`***${chars.slice(-4).join('')}`));
  }
  if (style === 'hmac') {
    if (!hmacKey) throw new Error('hmac style without a key'); // compileMask refuses this earlier
    return encoder.encode(`"hmac:${base64url(hmacSha256(hmacKey, encoder.encode(value)))}"`);
  }
  return REDACTED.slice();
}
