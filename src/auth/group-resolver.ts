/**
 * Group overage: when a token says "too many groups to list" (`_claim_names`/`hasgroups`), ask
 * Microsoft Graph which groups the principal is a member of.
 *
 * Contract: `GroupResolver.resolve` returns the object ids of every group (and directory role)
 * the object is a transitive member of, or `undefined` when that cannot be known — it never
 * throws and never guesses, so the caller marks groups *unknown* and policy fails closed. The
 * Graph call is `POST {graph}/v1.0/{users|servicePrincipals}/{oid}/getMemberObjects` with
 * `securityEnabledOnly: false` and the gateway's own app token (from the injected
 * `getAppToken(tenantId)`, e.g. a client-credentials token client — this module builds none).
 * The `_claim_sources` endpoint in the token is never called: it may name the retired Azure AD
 * Graph, and a URL from a token is not ours to fetch. Results are cached per tid+oid for `ttlMs`
 * (bounded); failures are not cached.
 */
import type { FetchLike } from './entra-keys.ts';

export interface GroupLookup {
  tenantId: string;
  objectId: string;
  kind: 'user' | 'servicePrincipal';
}

export interface GroupResolver {
  resolve(lookup: GroupLookup, nowMs: number): Promise<readonly string[] | undefined>;
}

export interface GraphGroupResolverOptions {
  /** Microsoft Graph base URL (sovereign clouds differ), without trailing slash. */
  graphEndpoint: string;
  fetch: FetchLike;
  /** An app-only access token for Graph in that tenant (GroupMember.Read.All / Directory.Read.All). */
  getAppToken: (tenantId: string) => Promise<string>;
  ttlMs?: number;
  maxEntries?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Graph answers getMemberObjects with at most 11 000 ids; more than that is not a valid answer. */
const MAX_GROUPS = 11_000;

export class GraphGroupResolver implements GroupResolver {
  readonly #options: GraphGroupResolverOptions;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #cache = new Map<string, { groups: readonly string[]; expiresAt: number }>();

  constructor(options: GraphGroupResolverOptions) {
    this.#options = { ...options, graphEndpoint: options.graphEndpoint.replace(/\/+$/, '') };
    this.#ttlMs = options.ttlMs ?? 5 * 60 * 1000;
    this.#maxEntries = options.maxEntries ?? 1000;
  }

  async resolve(lookup: GroupLookup, nowMs: number): Promise<readonly string[] | undefined> {
    if (!GUID.test(lookup.tenantId) || !GUID.test(lookup.objectId)) return undefined;
    const cacheKey = `${lookup.tenantId}|${lookup.objectId}`;
    const cached = this.#cache.get(cacheKey);
    if (cached && nowMs < cached.expiresAt) return cached.groups;
    this.#cache.delete(cacheKey);
    try {
      const token = await this.#options.getAppToken(lookup.tenantId);
      const collection = lookup.kind === 'user' ? 'users' : 'servicePrincipals';
      const response = await this.#options.fetch(
        `${this.#options.graphEndpoint}/v1.0/${collection}/${lookup.objectId}/getMemberObjects`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ securityEnabledOnly: false }),
        },
      );
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      const body = (await response.json()) as { value?: unknown };
      if (!Array.isArray(body.value) || body.value.length > MAX_GROUPS) return undefined;
      if (!body.value.every((id): id is string => typeof id === 'string' && GUID.test(id))) return undefined;
      const groups = body.value.map((id) => id.toLowerCase());
      this.#cache.set(cacheKey, { groups, expiresAt: nowMs + this.#ttlMs });
      if (this.#cache.size > this.#maxEntries) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
      return groups;
    } catch {
      return undefined;
    }
  }
}
