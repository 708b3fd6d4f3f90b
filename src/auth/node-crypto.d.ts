/**
 * The one `node:crypto` function the gateway uses — SHA-256 for token digests and audit row
 * hashes (available in workerd under `nodejs_compat` and in Node). Declared here because the
 * Worker's type set does not include Node's types; it merges with @types/node where those are
 * loaded (unit tests, benchmarks).
 */
declare module 'node:crypto' {
  export function createHash(algorithm: 'sha256'): {
    update(data: string | Uint8Array): { digest(encoding: 'hex' | 'base64url'): string };
  };
}
