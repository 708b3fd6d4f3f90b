/**
 * The `node:crypto` functions the gateway uses — SHA-256 for token digests and audit row hashes,
 * HMAC-SHA-256 for the masker's `hmac` style (available in workerd under `nodejs_compat` and in
 * Node). Declared here because the Worker's type set does not include Node's types; it merges
 * with @types/node where those are loaded (unit tests, benchmarks).
 */
declare module 'node:crypto' {
  interface Digest {
    update(data: string | Uint8Array): Digest;
    digest(encoding: 'hex' | 'base64url'): string;
    digest(): Uint8Array;
  }
  export function createHash(algorithm: 'sha256'): Digest;
  export function createHmac(algorithm: 'sha256', key: Uint8Array): Digest;
}
