/**
 * Entra ID issuer metadata and signing keys, per tenant and token version.
 *
 * Contract: issuers and keys come only from `{authority}/{tid}[/v2.0]/.well-known/openid-configuration`
 * and the `jwks_uri` it names (which must be on the authority's origin), for tenants the caller has
 * already checked against the allowlist. Only RSA `sig` keys are kept, imported for RS256 only.
 *
 * Caching (Microsoft's signing-key rollover guidance; APIM's validate-jwt behaves the same):
 * - in the isolate, and across isolates through an injected `KeyDocumentStore` (the Cache API in
 *   the Worker), keyed by authority + tenant + version;
 * - fresh for `freshMs` (1 h); after that still served while one background refresh runs (handed
 *   to `waitUntil`), retried at most every `refreshRetryMs`;
 * - an unknown `kid` triggers one synchronous refetch, at most once per tenant per
 *   `unknownKidRefetchMs` (5 min), so random kids cannot make the gateway hammer Entra;
 * - when Entra cannot be reached, keys fetched within `maxStaleMs` (24 h) stay usable; with nothing
 *   usable `KeysUnavailableError` is thrown and the caller fails closed (503). Never accepts. After
 *   such a failure, Entra is not asked again for `coldRetryMs` (10 s): an outage is not amplified.
 */
import { importJWK } from 'jose';

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

/** The public, serialisable form of one tenant/version's metadata (what the shared cache holds). */
export interface KeyDocument {
  issuer: string;
  keys: { kid: string; n: string; e: string; issuer?: string }[];
  /** When Entra served it, ms since epoch. */
  fetchedAt: number;
}

/** Cross-isolate cache (the Cache API in the Worker; a Map in tests). Failures are non-fatal. */
export interface KeyDocumentStore {
  get(key: string): Promise<KeyDocument | undefined>;
  put(key: string, document: KeyDocument): Promise<void>;
}

interface TenantKeys {
  issuer: string;
  keys: Map<string, SigningKey>;
  fetchedAt: number;
}

export interface EntraKeySourceOptions {
  authority: string;
  fetch: FetchLike;
  store?: KeyDocumentStore;
  now?: () => number;
  freshMs?: number;
  maxStaleMs?: number;
  unknownKidRefetchMs?: number;
  refreshRetryMs?: number;
  /** With nothing cached and Entra down, refuse without refetching for this long (no hammering). */
  coldRetryMs?: number;
}

export interface ResolveContext {
  /** Keeps a background refresh alive after the response (ExecutionContext.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

export class EntraKeySource {
  readonly #authority: string;
  readonly #origin: string;
  readonly #fetch: FetchLike;
  readonly #store: KeyDocumentStore | undefined;
  readonly #now: () => number;
  readonly #freshMs: number;
  readonly #maxStaleMs: number;
  readonly #unknownKidRefetchMs: number;
  readonly #refreshRetryMs: number;
  readonly #coldRetryMs: number;
  readonly #cache = new Map<string, TenantKeys>();
  readonly #inflight = new Map<string, Promise<TenantKeys>>();
  /** Last unknown-kid refetch per tenant. */
  readonly #unknownKidRefetchAt = new Map<string, number>();
  /** Last background refresh attempt per tenant/version. */
  readonly #refreshAttemptAt = new Map<string, number>();
  /** Last failed cold load per tenant/version, when nothing usable was cached. */
  readonly #coldFailedAt = new Map<string, number>();

  constructor(options: EntraKeySourceOptions) {
    this.#authority = options.authority.replace(/\/+$/, '');
    this.#origin = new URL(this.#authority).origin;
    this.#fetch = options.fetch;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#freshMs = options.freshMs ?? 60 * 60 * 1000;
    this.#maxStaleMs = options.maxStaleMs ?? 24 * 60 * 60 * 1000;
    this.#unknownKidRefetchMs = options.unknownKidRefetchMs ?? 5 * 60 * 1000;
    this.#refreshRetryMs = options.refreshRetryMs ?? 60 * 1000;
    this.#coldRetryMs = options.coldRetryMs ?? 10 * 1000;
  }

  /** Issuer and key for a token; `key` is undefined when the kid is not published. */
  async resolve(
    tenantId: string,
    version: TokenVersion,
    kid: string,
    context: ResolveContext = {},
  ): Promise<{ issuer: string; key?: SigningKey }> {
    const cacheKey = `${this.#authority}|${tenantId}|${version}`;
    const now = this.#now();
    let entry = this.#cache.get(cacheKey);
    if (!entry || now - entry.fetchedAt > this.#maxStaleMs) {
      entry = await this.#coldLoad(cacheKey, tenantId, version);
    } else if (now - entry.fetchedAt > this.#freshMs) {
      const lastAttempt = this.#refreshAttemptAt.get(cacheKey) ?? Number.NEGATIVE_INFINITY;
      if (now - lastAttempt >= this.#refreshRetryMs) {
        this.#refreshAttemptAt.set(cacheKey, now);
        // Stale but usable: refresh without making this request wait for it.
        const refresh = this.#network(cacheKey, tenantId, version).catch(() => undefined);
        context.waitUntil?.(refresh);
      }
    }
    let key = entry.keys.get(kid);
    if (!key) {
      const last = this.#unknownKidRefetchAt.get(tenantId) ?? Number.NEGATIVE_INFINITY;
      if (now - last >= this.#unknownKidRefetchMs) {
        this.#unknownKidRefetchAt.set(tenantId, now);
        try {
          entry = await this.#network(cacheKey, tenantId, version);
          key = entry.keys.get(kid);
        } catch {
          // Entra unreachable: the kid stays unknown and the token is rejected as such.
        }
      }
    }
    return { issuer: entry.issuer, ...(key ? { key } : {}) };
  }

  /**
   * Readiness: are signing keys for this tenant and token version usable now? Loads them the way
   * a request would (isolate cache, shared cache, then Entra), so a readiness probe also warms the
   * cache. Never throws.
   */
  async readiness(
    tenantId: string,
    version: TokenVersion,
  ): Promise<{ ok: true; keys: number } | { ok: false; reason: string }> {
    const cacheKey = `${this.#authority}|${tenantId}|${version}`;
    const cached = this.#cache.get(cacheKey);
    if (cached && this.#now() - cached.fetchedAt <= this.#maxStaleMs) return { ok: true, keys: cached.keys.size };
    try {
      const loaded = await this.#coldLoad(cacheKey, tenantId, version);
      return loaded.keys.size > 0
        ? { ok: true, keys: loaded.keys.size }
        : { ok: false, reason: 'JWKS has no usable keys' };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Nothing usable in the isolate: the shared cache if fresh, else Entra, else a shared entry under 24 h. */
  async #coldLoad(cacheKey: string, tenantId: string, version: TokenVersion): Promise<TenantKeys> {
    const shared = await this.#store?.get(cacheKey).catch(() => undefined);
    const now = this.#now();
    if (shared && now - shared.fetchedAt <= this.#freshMs) return this.#adopt(cacheKey, shared);
    const sharedUsable = shared !== undefined && now - shared.fetchedAt <= this.#maxStaleMs;
    const failedAt = this.#coldFailedAt.get(cacheKey) ?? Number.NEGATIVE_INFINITY;
    if (!sharedUsable && now - failedAt < this.#coldRetryMs) {
      throw new KeysUnavailableError(`keys for tenant ${tenantId} v${version} unavailable: Entra failed recently`);
    }
    try {
      const loaded = await this.#network(cacheKey, tenantId, version);
      this.#coldFailedAt.delete(cacheKey);
      return loaded;
    } catch (error) {
      if (shared && sharedUsable) return this.#adopt(cacheKey, shared);
      this.#coldFailedAt.set(cacheKey, now);
      throw new KeysUnavailableError(
        `keys for tenant ${tenantId} v${version} unavailable: ${error instanceof Error ? error.message : 'error'}`,
      );
    }
  }

  async #adopt(cacheKey: string, document: KeyDocument): Promise<TenantKeys> {
    const entry = await importDocument(document);
    this.#cache.set(cacheKey, entry);
    return entry;
  }

  /** Fetch from Entra (one request in flight per tenant/version), then update both caches. */
  #network(cacheKey: string, tenantId: string, version: TokenVersion): Promise<TenantKeys> {
    const running = this.#inflight.get(cacheKey);
    if (running) return running;
    const loading = (async () => {
      const document = await this.#fetchDocument(tenantId, version);
      const entry = await importDocument(document);
      if (entry.keys.size === 0) throw new Error('JWKS has no usable RSA signing key');
      this.#cache.set(cacheKey, entry);
      await this.#store?.put(cacheKey, document).catch(() => undefined);
      return entry;
    })().finally(() => this.#inflight.delete(cacheKey));
    this.#inflight.set(cacheKey, loading);
    return loading;
  }

  async #fetchDocument(tenantId: string, version: TokenVersion): Promise<KeyDocument> {
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
    // The keys must come from the authority we trust, not wherever a document points.
    if (!URL.canParse(jwksUri) || new URL(jwksUri).origin !== this.#origin) {
      throw new Error('jwks_uri is not on the authority origin');
    }
    const jwks = await this.#getJson(jwksUri);
    if (!Array.isArray(jwks.keys)) throw new Error('JWKS lacks keys');
    const keys: KeyDocument['keys'] = [];
    for (const jwk of jwks.keys as Record<string, unknown>[]) {
      // Only RSA signature keys; Entra keys carry no `alg`: RS256 is pinned at import and verification.
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') continue;
      keys.push({
        kid: jwk.kid,
        n: jwk.n,
        e: jwk.e,
        ...(typeof jwk.issuer === 'string' ? { issuer: jwk.issuer } : {}),
      });
    }
    // Multi-tenant metadata names `{tenantid}`: substitute the (allowlisted, GUID) tenant.
    return { issuer: issuerTemplate.replace('{tenantid}', tenantId), keys, fetchedAt: this.#now() };
  }

  async #getJson(url: string): Promise<Record<string, unknown>> {
    const response = await this.#fetch(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    const body: unknown = await response.json();
    if (typeof body !== 'object' || body === null) throw new Error(`GET ${url} did not return an object`);
    return body as Record<string, unknown>;
  }
}

async function importDocument(document: KeyDocument): Promise<TenantKeys> {
  const keys = new Map<string, SigningKey>();
  for (const jwk of document.keys) {
    try {
      const key = (await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256')) as CryptoKey;
      keys.set(jwk.kid, { key, ...(jwk.issuer !== undefined ? { issuer: jwk.issuer } : {}) });
    } catch {
      // A malformed key is skipped, never trusted.
    }
  }
  return { issuer: document.issuer, keys, fetchedAt: document.fetchedAt };
}
