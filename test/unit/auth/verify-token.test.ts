import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { EntraKeySource } from '../../../src/auth/entra-keys.ts';
import { verifyAccessToken } from '../../../src/auth/verify-token.ts';

const TID = '11111111-1111-4111-8111-111111111111';
const AUTHORITY = 'https://login.test';
const NOW = new Date('2026-11-27T12:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);
let privateKey: CryptoKey;
let keys: EntraKeySource;
let fetches = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', use: 'sig' };
  const documents: Record<string, unknown> = {
    [`${AUTHORITY}/${TID}/v2.0/.well-known/openid-configuration`]: {
      issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
      jwks_uri: `${AUTHORITY}/${TID}/discovery/v2.0/keys`,
    },
    [`${AUTHORITY}/${TID}/.well-known/openid-configuration`]: {
      issuer: `https://sts.windows.net/${TID}/`,
      jwks_uri: `${AUTHORITY}/${TID}/discovery/v2.0/keys`,
    },
    [`${AUTHORITY}/${TID}/discovery/v2.0/keys`]: { keys: [jwk] },
  };
  keys = new EntraKeySource({
    authority: AUTHORITY,
    now: () => NOW.getTime(),
    fetch: async (url) => {
      fetches++;
      const body = documents[url];
      return body ? Response.json(body) : new Response('not found', { status: 404 });
    },
  });
});

const baseClaims = (): JWTPayload => ({
  aud: 'api://edgeward',
  iss: `https://login.microsoftonline.com/${TID}/v2.0`,
  tid: TID,
  ver: '2.0',
  oid: 'bbbbbbbb-0000-4000-8000-00000000a11c',
  azp: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
  azpacr: '0',
  scp: 'user_impersonation',
  preferred_username: 'alice@contoso.com',
  iat: nowSeconds - 60,
  nbf: nowSeconds - 60,
  exp: nowSeconds + 3600,
});

const sign = (claims: JWTPayload, header: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT', ...header }).sign(privateKey);

const verify = (token: string) =>
  verifyAccessToken(token, keys, {
    tenantAllowlist: [TID],
    audiences: ['api://edgeward/', '22222222-2222-4222-8222-222222222222'],
    clockToleranceSeconds: 60,
    now: NOW,
  });

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('verifyAccessToken', () => {
  it('accepts a valid v2 delegated token and maps subject and actor', async () => {
    const result = await verify(await sign(baseClaims()));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.principal.subject?.objectId).toBe('bbbbbbbb-0000-4000-8000-00000000a11c');
    expect(result.principal.actor).toMatchObject({ appId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', appOnly: false });
  });

  it('accepts a v1 token against the v1 issuer', async () => {
    const claims = { ...baseClaims(), ver: '1.0', iss: `https://sts.windows.net/${TID}/`, appid: 'x', azp: undefined };
    const result = await verify(await sign(claims));
    expect(result).toMatchObject({ ok: true });
  });

  it('treats an app-only token as an actor with no subject', async () => {
    const { scp: _scp, preferred_username: _upn, ...claims } = baseClaims();
    const result = await verify(await sign({ ...claims, idtyp: 'app', roles: ['Reader'] }));
    expect(result.ok && result.principal.subject).toBeNull();
  });

  const rejections: [string, () => Promise<string>, string][] = [
    ['alg none', async () => `${b64({ alg: 'none', kid: 'k1' })}.${b64(baseClaims())}.`, 'malformed'],
    [
      'alg none with signature',
      async () => `${b64({ alg: 'none', kid: 'k1' })}.${b64(baseClaims())}.AAAA`,
      'alg_not_allowed',
    ],
    ['HS256 header', async () => `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(baseClaims())}.AAAA`, 'alg_not_allowed'],
    ['PS256 header', async () => `${b64({ alg: 'PS256', kid: 'k1' })}.${b64(baseClaims())}.AAAA`, 'alg_not_allowed'],
    ['jku header', () => sign(baseClaims(), { jku: 'https://evil.test/keys' }), 'forbidden_header'],
    [
      'embedded jwk header',
      () => sign(baseClaims(), { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } }),
      'forbidden_header',
    ],
    ['Graph nonce header', () => sign(baseClaims(), { nonce: 'abc' }), 'graph_nonce'],
    ['unknown kid', () => sign(baseClaims(), { kid: 'nope' }), 'unknown_kid'],
    ['wrong issuer', () => sign({ ...baseClaims(), iss: 'https://evil.test/' }), 'issuer_mismatch'],
    [
      'tenant not allowed',
      () => sign({ ...baseClaims(), tid: '99999999-1111-4111-8111-111111111111' }),
      'tenant_not_allowed',
    ],
    ['tid not a GUID', () => sign({ ...baseClaims(), tid: '../../evil' }), 'tenant_invalid'],
    ['wrong audience', () => sign({ ...baseClaims(), aud: 'https://management.azure.com/' }), 'audience_mismatch'],
    ['expired', () => sign({ ...baseClaims(), exp: nowSeconds - 120 }), 'expired'],
    ['not yet valid', () => sign({ ...baseClaims(), nbf: nowSeconds + 600 }), 'not_yet_valid'],
    ['missing exp', () => sign({ ...baseClaims(), exp: undefined }), 'missing_exp'],
    ['two segments', async () => (await sign(baseClaims())).split('.').slice(0, 2).join('.'), 'malformed'],
    [
      'altered payload',
      async () => {
        const [h, , s] = (await sign(baseClaims())).split('.');
        return `${h}.${b64({ ...baseClaims(), oid: 'someone-else' })}.${s}`;
      },
      'bad_signature',
    ],
    ['oversized', async () => 'a'.repeat(20_000), 'too_large'],
  ];

  it.each(rejections)('rejects %s', async (_name, makeToken, reason) => {
    const result = await verify(await makeToken());
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('caches discovery and keys per tenant', async () => {
    const before = fetches;
    await verify(await sign(baseClaims()));
    await verify(await sign(baseClaims()));
    expect(fetches - before).toBe(0);
  });
});
