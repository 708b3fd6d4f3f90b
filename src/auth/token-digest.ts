/**
 * Synchronous SHA-256 of token text: the verified-token cache key and the audit fingerprint.
 *
 * Why `node:crypto` and not `crypto.subtle.digest`: the cache-hit path has a budget of a few
 * microseconds, and WebCrypto's digest is asynchronous (in Node it hops to a thread pool, ~40 µs).
 * `createHash` is synchronous in both workerd (`nodejs_compat`) and Node, so the same code runs in
 * the benchmark and at the edge. Output is only ever a hash: a token never leaves this module.
 */
import { createHash } from 'node:crypto';

/** Full SHA-256 of the whole token, base64url: the verified-token cache key. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('base64url');

/** A safe handle on a token for logs and audit: sha-256 of its signature segment, first 16 hex chars. */
export const tokenFingerprint = (token: string): string =>
  createHash('sha256')
    .update(token.slice(token.lastIndexOf('.') + 1))
    .digest('hex')
    .slice(0, 16);
