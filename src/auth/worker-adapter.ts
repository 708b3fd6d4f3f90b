/**
 * The Worker's wiring of the auth core: global `fetch` for Entra and Graph, the Cache API for
 * keys shared across isolates, a per-isolate verified-token cache, and Graph group resolution.
 *
 * Contract: built once per isolate from validated configuration. The Graph app token comes from
 * `getGraphAppToken` when given (the gateway's client-credentials token client); with the
 * development token issuer on, from the local mock authority's `/_dev/token`; otherwise there is
 * none, overage groups stay unresolved and group conditions fail closed.
 */
import type { GatewayConfig } from '../config.ts';
import { Authenticator } from './authenticate.ts';
import { EntraKeySource, type FetchLike } from './entra-keys.ts';
import { GraphGroupResolver } from './group-resolver.ts';
import { CacheApiKeyStore } from './key-store-cache-api.ts';
import { VerifiedTokenCache } from './token-cache.ts';

/** Verified tokens kept per isolate (each entry is a few hundred bytes). */
const TOKEN_CACHE_ENTRIES = 2000;

export interface WorkerAuthDeps {
  fetch?: FetchLike;
  /** App-only token for Microsoft Graph in a tenant (client credentials; issue 8). */
  getGraphAppToken?: (tenantId: string) => Promise<string>;
}

export function createWorkerAuthenticator(config: GatewayConfig, deps: WorkerAuthDeps = {}): Authenticator {
  const fetcher: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const keys = new EntraKeySource({
    authority: config.authority,
    fetch: fetcher,
    store: new CacheApiKeyStore(caches.default),
  });
  const getAppToken = deps.getGraphAppToken ?? (config.devTokenIssuer ? devGraphToken(config, fetcher) : noAppToken);
  return new Authenticator({
    keys,
    tenantAllowlist: config.tenantAllowlist,
    clockToleranceSeconds: config.clockToleranceSeconds,
    subjectTokenHeader: config.subjectTokenHeader,
    tokenCache: new VerifiedTokenCache(TOKEN_CACHE_ENTRIES),
    groups: new GraphGroupResolver({
      graphEndpoint: config.graphEndpoint,
      fetch: fetcher,
      getAppToken,
      ttlMs: config.groupCacheSeconds * 1000,
    }),
  });
}

const noAppToken = async (): Promise<string> => {
  throw new Error('no Graph app credential configured');
};

/** Development only (DEV_TOKEN_ISSUER=on, refused in staging/production): the mock authority mints it. */
function devGraphToken(config: GatewayConfig, fetcher: FetchLike) {
  return async (tenantId: string): Promise<string> => {
    const response = await fetcher(`${config.authority}/_dev/token`, {
      method: 'POST',
      body: JSON.stringify({ appOnly: true, app: 'edgeward-gateway', audience: config.graphEndpoint, tenantId }),
    });
    if (!response.ok) throw new Error(`dev token issuer answered ${response.status}`);
    const { access_token: token } = (await response.json()) as { access_token?: unknown };
    if (typeof token !== 'string') throw new Error('dev token issuer returned no token');
    return token;
  };
}
