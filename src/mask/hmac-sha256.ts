/**
 * Synchronous SHA-256 and HMAC-SHA-256 (RFC 2104) as bytes.
 *
 * Contract: `hmacSha256(key, message)` returns the 32-byte MAC, `sha256(message)` the digest. They
 * must be synchronous because the masker is a synchronous byte-level state machine (`crypto.subtle`
 * is async and cannot run inside `push()`): `node:crypto` (workerd's `nodejs_compat`, and Node) is.
 * Tested against `crypto.subtle` in test/unit/mask/styles.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';

export const sha256 = (message: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(message).digest());

export const hmacSha256 = (key: Uint8Array, message: Uint8Array): Uint8Array =>
  new Uint8Array(createHmac('sha256', key).update(message).digest());
