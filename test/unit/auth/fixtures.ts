/**
 * A test Entra authority in memory: discovery documents and JWKS served through an injected
 * `fetch` (no network), keys generated with jose, fetch counters, an outage switch and rotation.
 */
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { EntraKeySource, type EntraKeySourceOptions, type FetchLike } from '../../../src/auth/entra-keys.ts';

export const TID = '11111111-1111-4111-8111-111111111111';
export const OTHER_TID = '99999999-1111-4111-8111-111111111111';
export const AUTHORITY = 'https://login.test';
export const GATEWAY_APP_ID = '22222222-2222-4222-8222-222222222222';
export const GATEWAY_APP_ID_URI = 'api://edgeward';
export const AUDIENCES = [`${GATEWAY_APP_ID_URI}/`, GATEWAY_APP_ID];
export const ALICE_OID = 'bbbbbbbb-0000-4000-8000-00000000a11c';
export const AGENT_APP_ID = '33333333-3333-4333-8333-333333333333';
export const AGENT_SP_OID = 'cccccccc-0000-4000-8000-000000000a6e';
export const CLI_APP_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
export const NOW_MS = Date.parse('2026-11-27T12:00:00Z');
export const NOW_S = Math.floor(NOW_MS / 1000);

export interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string): Promise<TestKey> {
  const pair = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, use: 'sig' } };
}

/** An in-memory authority for the tenants in `tenants`; mutate `published` to rotate keys. */
export class TestAuthority {
  published: (JWK & { issuer?: string })[];
  available = true;
  stats = { discovery: 0, jwks: 0 };
  /** Per-tenant v2 issuer override (e.g. a `{tenantid}` template). */
  v2Issuer = (tid: string) => `https://login.microsoftonline.com/${tid}/v2.0`;
  jwksUri = (tid: string) => `${AUTHORITY}/${tid}/discovery/v2.0/keys`;

  readonly tenants: string[];

  constructor(keys: TestKey[], tenants: string[] = [TID]) {
    this.published = keys.map((k) => k.publicJwk);
    this.tenants = tenants;
  }

  readonly fetch: FetchLike = async (url) => {
    if (!this.available) return new Response('unavailable', { status: 503 });
    for (const tid of this.tenants) {
      if (url === `${AUTHORITY}/${tid}/v2.0/.well-known/openid-configuration`) {
        this.stats.discovery++;
        return Response.json({ issuer: this.v2Issuer(tid), jwks_uri: this.jwksUri(tid) });
      }
      if (url === `${AUTHORITY}/${tid}/.well-known/openid-configuration`) {
        this.stats.discovery++;
        return Response.json({ issuer: `https://sts.windows.net/${tid}/`, jwks_uri: this.jwksUri(tid) });
      }
      if (url === `${AUTHORITY}/${tid}/discovery/v2.0/keys`) {
        this.stats.jwks++;
        return Response.json({ keys: this.published });
      }
    }
    return new Response('not found', { status: 404 });
  };

  keySource(options: Partial<EntraKeySourceOptions> & { clock?: { now: number } } = {}): EntraKeySource {
    const clock = options.clock ?? { now: NOW_MS };
    return new EntraKeySource({ authority: AUTHORITY, fetch: this.fetch, now: () => clock.now, ...options });
  }
}

export const v2UserClaims = (overrides: JWTPayload = {}): JWTPayload => ({
  aud: GATEWAY_APP_ID,
  iss: `https://login.microsoftonline.com/${TID}/v2.0`,
  tid: TID,
  ver: '2.0',
  oid: ALICE_OID,
  sub: 'pairwise-sub',
  azp: CLI_APP_ID,
  azpacr: '0',
  scp: 'user_impersonation',
  name: 'Alice Admin',
  preferred_username: 'alice@contoso.com',
  groups: ['aaaaaaaa-0000-4000-8000-000000000001'],
  wids: ['b79fbf4d-3ef9-4689-8143-76b194e85509'],
  iat: NOW_S - 60,
  nbf: NOW_S - 60,
  exp: NOW_S + 3600,
  ...overrides,
});

export const v1UserClaims = (overrides: JWTPayload = {}): JWTPayload => {
  const { azp: _azp, azpacr: _azpacr, preferred_username: _pu, ...rest } = v2UserClaims();
  return {
    ...rest,
    aud: `${GATEWAY_APP_ID_URI}/`,
    iss: `https://sts.windows.net/${TID}/`,
    ver: '1.0',
    appid: CLI_APP_ID,
    appidacr: '0',
    upn: 'alice@contoso.com',
    ...overrides,
  };
};

export const appOnlyClaims = (overrides: JWTPayload = {}): JWTPayload => ({
  aud: GATEWAY_APP_ID,
  iss: `https://login.microsoftonline.com/${TID}/v2.0`,
  tid: TID,
  ver: '2.0',
  oid: AGENT_SP_OID,
  sub: AGENT_SP_OID,
  azp: AGENT_APP_ID,
  azpacr: '2',
  idtyp: 'app',
  roles: ['Gateway.Write'],
  iat: NOW_S - 60,
  nbf: NOW_S - 60,
  exp: NOW_S + 1800,
  ...overrides,
});

export function sign(key: TestKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  // Explicit `undefined` claims are dropped by JSON, which is how tests remove a claim.
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header })
    .sign(key.privateKey);
}

export const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
