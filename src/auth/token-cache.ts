/**
 * Verified-token cache: a token that passed full verification costs a hash and a map lookup the
 * next time it is presented.
 *
 * Contract: keyed by the SHA-256 of the whole token (the token itself is never stored); holds only
 * tokens that passed every check; an entry is never returned at or after the token's `exp`;
 * bounded to `maxEntries` with least-recently-used eviction (a `Map` keeps insertion order, so a
 * hit is re-inserted at the end and eviction takes the first key). Failures are never cached, so
 * garbage cannot evict good entries faster than valid tokens can. The caller still applies
 * per-request checks that are not properties of the token (the connection's audiences).
 */
import type { VerifiedToken } from './verify-token.ts';

export class VerifiedTokenCache {
  readonly #entries = new Map<string, VerifiedToken>();
  readonly #maxEntries: number;

  constructor(maxEntries = 1000) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The verified token for this digest, if cached and not expired at `nowMs`. */
  get(digest: string, nowMs: number): VerifiedToken | undefined {
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    this.#entries.delete(digest);
    if (nowMs >= entry.principal.expiresAt * 1000) return undefined;
    this.#entries.set(digest, entry);
    return entry;
  }

  set(digest: string, token: VerifiedToken): void {
    this.#entries.delete(digest);
    this.#entries.set(digest, token);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
