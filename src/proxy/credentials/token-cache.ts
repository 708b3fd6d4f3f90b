/**
 * Upstream tokens cached per isolate, keyed by tenant + subject + scope (+ mode), and reused until
 * shortly before they expire.
 *
 * Contract: never returns a token that expires within `refreshSkewMs` of `now`; holds at most
 * `maxEntries` tokens (the oldest entry is evicted first); concurrent misses for the same key
 * share one fetch. A failed fetch is not cached.
 */
import type { IssuedToken, TokenResult } from './entra-token-client.ts';

export interface TokenCacheOptions {
  refreshSkewMs?: number;
  maxEntries?: number;
}

export class TokenCache {
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #inflight = new Map<string, Promise<TokenResult>>();
  readonly #skew: number;
  readonly #max: number;

  constructor(options: TokenCacheOptions = {}) {
    this.#skew = options.refreshSkewMs ?? 5 * 60_000;
    this.#max = options.maxEntries ?? 1000;
  }

  get size(): number {
    return this.#tokens.size;
  }

  async get(key: string, nowMs: number, fetchToken: () => Promise<TokenResult>): Promise<TokenResult> {
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt - this.#skew > nowMs) return { ok: true, token: cached };
    if (cached) this.#tokens.delete(key);
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const promise = fetchToken().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    const result = await promise;
    if (result.ok && result.token.expiresAt - this.#skew > nowMs) {
      if (this.#tokens.size >= this.#max) {
        const oldest = this.#tokens.keys().next().value;
        if (oldest !== undefined) this.#tokens.delete(oldest);
      }
      this.#tokens.set(key, result.token);
    }
    return result;
  }
}
