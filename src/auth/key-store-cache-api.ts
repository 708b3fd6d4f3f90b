/**
 * `KeyDocumentStore` over the Workers Cache API: Entra metadata shared by every isolate in a
 * colo, so a cold isolate does not refetch discovery and JWKS.
 *
 * Contract: stores only public key material (issuer, kid, n, e, key issuer) and the time Entra
 * served it; a stored entry that does not have that exact shape is ignored, never trusted.
 * Entries live for `maxAgeSeconds` (24 h, the stale limit). Every failure is swallowed: the
 * isolate cache and Entra remain the sources of truth. (The Cache API is a no-op on workers.dev
 * hostnames; the gateway then simply fetches per isolate.)
 */
import type { KeyDocument, KeyDocumentStore } from './entra-keys.ts';

const CACHE_ORIGIN = 'https://edgeward-keys.internal/';

export class CacheApiKeyStore implements KeyDocumentStore {
  readonly #cache: Promise<Cache>;
  readonly #maxAgeSeconds: number;

  constructor(cache: Promise<Cache> | Cache, maxAgeSeconds = 24 * 60 * 60) {
    this.#cache = Promise.resolve(cache);
    this.#maxAgeSeconds = maxAgeSeconds;
  }

  async get(key: string): Promise<KeyDocument | undefined> {
    try {
      const response = await (await this.#cache).match(this.#url(key));
      if (!response) return undefined;
      return asKeyDocument(await response.json());
    } catch {
      return undefined;
    }
  }

  async put(key: string, document: KeyDocument): Promise<void> {
    try {
      const response = new Response(JSON.stringify(document), {
        headers: { 'content-type': 'application/json', 'cache-control': `max-age=${this.#maxAgeSeconds}` },
      });
      await (await this.#cache).put(this.#url(key), response);
    } catch {
      // Shared caching is an optimisation only.
    }
  }

  #url(key: string): string {
    return `${CACHE_ORIGIN}${encodeURIComponent(key)}`;
  }
}

function asKeyDocument(value: unknown): KeyDocument | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { issuer, keys, fetchedAt } = value as Record<string, unknown>;
  if (typeof issuer !== 'string' || typeof fetchedAt !== 'number' || !Array.isArray(keys)) return undefined;
  const valid = keys.every(
    (k: Record<string, unknown>) =>
      typeof k === 'object' &&
      k !== null &&
      typeof k.kid === 'string' &&
      typeof k.n === 'string' &&
      typeof k.e === 'string' &&
      (k.issuer === undefined || typeof k.issuer === 'string'),
  );
  return valid ? { issuer, keys: keys as KeyDocument['keys'], fetchedAt } : undefined;
}
