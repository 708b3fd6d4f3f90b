/**
 * Entra ID issuer metadata and signing keys, per tenant and token version.
 *
 * Contract: issuers and keys come only from `{authority}/{tid}[/v2.0]/.well-known/openid-configuration`
 * and the `jwks_uri` it names, for tenants the caller has already checked against the allowlist.
 * Results are cached in the isolate; an unknown `kid` triggers at most one refetch per tenant per
 * `unknownKidRefetchMs`; when Entra cannot be reached, cached keys stay usable for `maxStaleMs`
 * and, with nothing cached, `KeysUnavailableError` is thrown (the caller fails closed with 503).
 */
import { importJWK, type JWK } from 'jose';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;
export type TokenVersion = '1.0' | '2.0';

export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';
}

export interface SigningKey {
  key: CryptoKey;
  /** The key's own `issuer` (may be templated), which a token signed by it must match. */
  issuer?: string;
}

interface TenantKeys {
  issuer: string;
  keys: Map<string, SigningKey>;
  fetchedAt: number;
  lastRefetchAttempt: number;
}

export interface EntraKeySourceOptions {
  authority: string;
  fetch: FetchLike;
  now?: () => number;
  /** Serve cached keys without refetching for this long (background refresh after). */
  freshMs?: number;
  /** Keep using cached keys while Entra is unreachable, for at most this long. */
  maxStaleMs?: number;
  /** At most one refetch per tenant in this window when a token names an unknown kid. */
  unknownKidRefetchMs?: number;
}

export class EntraKeySource {
  readonly #authority: string;
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #freshMs: number;
  readonly #maxStaleMs: number;
  readonly #unknownKidRefetchMs: number;
  readonly #cache = new Map<string, TenantKeys>();
  readonly #inflight = new Map<string, Promise<TenantKeys>>();

  constructor(options: EntraKeySourceOptions) {
    this.#authority = options.authority.replace(/\/+$/, '');
    this.#fetch = options.fetch;
    this.#now = options.now ?? Date.now;
    this.#freshMs = options.freshMs ?? 60 * 60 * 1000;
    this.#maxStaleMs = options.maxStaleMs ?? 24 * 60 * 60 * 1000;
    this.#unknownKidRefetchMs = options.unknownKidRefetchMs ?? 5 * 60 * 1000;
  }

  /** Issuer and key for a token; `key` is undefined when the kid is not published. */
  async resolve(tenantId: string, version: TokenVersion, kid: string): Promise<{ issuer: string; key?: SigningKey }> {
    const cacheKey = `${tenantId}|${version}`;
    let entry = this.#cache.get(cacheKey);
    const now = this.#now();
    if (!entry || now - entry.fetchedAt > this.#maxStaleMs) {
      entry = await this.#load(cacheKey, tenantId, version, entry);
    } else if (now - entry.fetchedAt > this.#freshMs) {
      // Stale but usable: refresh without making this request wait for it.
      this.#load(cacheKey, tenantId, version, entry).catch(() => undefined);
    }
    let key = entry.keys.get(kid);
    if (!key && now - entry.lastRefetchAttempt >= this.#unknownKidRefetchMs) {
      entry.lastRefetchAttempt = now;
      try {
        entry = await this.#load(cacheKey, tenantId, version, entry);
        key = entry.keys.get(kid);
      } catch {
        // Entra unreachable: the kid stays unknown, the token is rejected as such.
      }
    }
    return { issuer: entry.issuer, ...(key ? { key } : {}) };
  }

  #load(cacheKey: string, tenantId: string, version: TokenVersion, previous?: TenantKeys): Promise<TenantKeys> {
    const running = this.#inflight.get(cacheKey);
    if (running) return running;
    const loading = this.#fetchTenant(tenantId, version)
      .then((fresh) => {
        this.#cache.set(cacheKey, fresh);
        return fresh;
      })
      .catch((error: unknown) => {
        if (previous && this.#now() - previous.fetchedAt <= this.#maxStaleMs) return previous;
        throw new KeysUnavailableError(
          `keys for tenant ${tenantId} v${version} unavailable: ${error instanceof Error ? error.message : 'error'}`,
        );
      })
      .finally(() => this.#inflight.delete(cacheKey));
    this.#inflight.set(cacheKey, loading);
    return loading;
  }

  async #fetchTenant(tenantId: string, version: TokenVersion): Promise<TenantKeys> {
    const discoveryUrl =
      version === '2.0'
        ? `${this.#authority}/${tenantId}/v2.0/.well-known/openid-configuration`
        : `${this.#authority}/${tenantId}/.well-known/openid-configuration`;
    const metadata = await this.#getJson(discoveryUrl);
    const issuerTemplate = metadata.issuer;
    const jwksUri = metadata.jwks_uri;
    if (typeof issuerTemplate !== 'string' || typeof jwksUri !== 'string') {
      throw new Error('discovery document lacks issuer or jwks_uri');
    }
    const jwks = await this.#getJson(jwksUri);
    if (!Array.isArray(jwks.keys)) throw new Error('JWKS lacks keys');
    const keys = new Map<string, SigningKey>();
    for (const jwk of jwks.keys as JWK[]) {
      // Only RSA signature keys; Entra keys carry no `alg`, we pin RS256 at verification.
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use && jwk.use !== 'sig')) continue;
      try {
        const key = (await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256')) as CryptoKey;
        const keyIssuer = (jwk as JWK & { issuer?: unknown }).issuer;
        keys.set(jwk.kid, { key, ...(typeof keyIssuer === 'string' ? { issuer: keyIssuer } : {}) });
      } catch {
        // A malformed key is skipped, never trusted.
      }
    }
    const now = this.#now();
    return {
      issuer: issuerTemplate.replace('{tenantid}', tenantId),
      keys,
      fetchedAt: now,
      lastRefetchAttempt: now,
    };
  }

  async #getJson(url: string): Promise<Record<string, unknown>> {
    const response = await this.#fetch(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    const body: unknown = await response.json();
    if (typeof body !== 'object' || body === null) throw new Error(`GET ${url} did not return an object`);
    return body as Record<string, unknown>;
  }
}
