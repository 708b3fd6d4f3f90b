/**
 * The token attack suite (hostile input first): every case must be refused with the exact reason,
 * and the valid controls at the end must be accepted by the same verifier and keys.
 */
import { constants, createHmac, createPrivateKey, createPublicKey, createSign } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EntraKeySource } from '../../../src/auth/entra-keys.ts';
import { type TokenFailure, verifyAccessToken } from '../../../src/auth/verify-token.ts';
import {
  AGENT_APP_ID,
  ALICE_OID,
  AUDIENCES,
  appOnlyClaims,
  b64url,
  GATEWAY_APP_ID_URI,
  makeKey,
  NOW_MS,
  NOW_S,
  OTHER_TID,
  sign,
  TestAuthority,
  type TestKey,
  TID,
  v1UserClaims,
  v2UserClaims,
} from './fixtures.ts';

const NOT_ALLOWED_TID = '44444444-4444-4444-8444-444444444444';
let key: TestKey;
let attacker: TestKey;
let retired: TestKey;
let keys: EntraKeySource;

beforeAll(async () => {
  key = await makeKey('k1');
  attacker = await makeKey('evil');
  retired = await makeKey('k0');
  const authority = new TestAuthority([key], [TID, OTHER_TID, NOT_ALLOWED_TID]);
  keys = authority.keySource();
});

const verify = (token: string) =>
  verifyAccessToken(token, keys, {
    tenantAllowlist: [TID, OTHER_TID],
    audiences: AUDIENCES,
    clockToleranceSeconds: 60,
    now: new Date(NOW_MS),
  });

/** header.payload with a signature made by `signer` over it (for foreign algorithms). */
const unsigned = (header: Record<string, unknown>, claims: JWTPayload = v2UserClaims()) =>
  `${b64url(header)}.${b64url(claims)}`;
const rsaPem = () =>
  createPublicKey({ key: key.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
const flipLast = (segment: string) => `${segment.slice(0, -2)}${segment.endsWith('AA') ? 'BB' : 'AA'}`;
const parts = async (claims = v2UserClaims(), header = {}) =>
  (await sign(key, claims, header)).split('.') as [string, string, string];

/** Sign with the tenant's private key outside jose (jose refuses to produce some of these). */
async function rsaSign(header: Record<string, unknown>, claims: JWTPayload, digest = 'RSA-SHA256', pss = false) {
  const input = unsigned(header, claims);
  const privateKey = createPrivateKey({ key: (await exportJWK(key.privateKey)) as never, format: 'jwk' });
  const signature = createSign(digest)
    .update(input)
    .sign(pss ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

type Case = [name: string, token: () => Promise<string>, reason: TokenFailure];

const cases: Case[] = [
  // --- algorithm attacks ---
  ['alg none, empty signature', async () => `${unsigned({ alg: 'none', kid: 'k1' })}.`, 'malformed'],
  ['alg none with a signature', async () => `${unsigned({ alg: 'none', kid: 'k1' })}.AAAA`, 'alg_not_allowed'],
  ['alg None (capitalised)', async () => `${unsigned({ alg: 'None', kid: 'k1' })}.AAAA`, 'alg_not_allowed'],
  ['alg NONE', async () => `${unsigned({ alg: 'NONE', kid: 'k1' })}.AAAA`, 'alg_not_allowed'],
  ['alg missing', async () => `${unsigned({ kid: 'k1' })}.AAAA`, 'alg_not_allowed'],
  ['alg rs256 (wrong case)', async () => `${unsigned({ alg: 'rs256', kid: 'k1' })}.AAAA`, 'alg_not_allowed'],
  [
    'HS256 signed with the RSA public key as secret (key confusion)',
    async () => {
      const input = unsigned({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
      return `${input}.${createHmac('sha256', rsaPem()).update(input).digest('base64url')}`;
    },
    'alg_not_allowed',
  ],
  [
    'HS512 signed with the JWK modulus as secret',
    async () => {
      const input = unsigned({ alg: 'HS512', kid: 'k1' });
      return `${input}.${createHmac('sha512', String(key.publicJwk.n)).update(input).digest('base64url')}`;
    },
    'alg_not_allowed',
  ],
  [
    'PS256 genuinely signed by the tenant key (same RSA key, other alg)',
    () => rsaSign({ alg: 'PS256', kid: 'k1' }, v2UserClaims(), 'RSA-SHA256', true),
    'alg_not_allowed',
  ],
  [
    'RS512 genuinely signed by the tenant key',
    () => rsaSign({ alg: 'RS512', kid: 'k1' }, v2UserClaims(), 'RSA-SHA512'),
    'alg_not_allowed',
  ],
  [
    'ES256 with an all-zero signature',
    async () => `${unsigned({ alg: 'ES256', kid: 'k1' })}.${Buffer.alloc(64).toString('base64url')}`,
    'alg_not_allowed',
  ],
  [
    'ES256 genuinely signed by an attacker EC key named k1',
    async () => {
      const ec = await generateKeyPair('ES256');
      return new SignJWT(v2UserClaims()).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(ec.privateKey);
    },
    'alg_not_allowed',
  ],
  ['EdDSA header', async () => `${unsigned({ alg: 'EdDSA', kid: 'k1' })}.AAAA`, 'alg_not_allowed'],
  // --- key-source header attacks (keys come only from the tenant JWKS) ---
  [
    'jku pointing at attacker keys',
    () => sign(attacker, v2UserClaims(), { jku: 'https://evil.test/keys' }),
    'forbidden_header',
  ],
  [
    'x5u pointing at an attacker certificate',
    () => sign(attacker, v2UserClaims(), { x5u: 'https://evil.test/cert' }),
    'forbidden_header',
  ],
  [
    'embedded jwk (attacker key, self-signed)',
    () => sign(attacker, v2UserClaims(), { kid: 'k1', jwk: attacker.publicJwk }),
    'forbidden_header',
  ],
  ['x5c chain in header', () => sign(attacker, v2UserClaims(), { x5c: ['MIIBIjANBgkq'] }), 'forbidden_header'],
  ['crit header', () => rsaSign({ alg: 'RS256', kid: 'k1', crit: ['exp'] }, v2UserClaims()), 'forbidden_header'],
  ['zip header', () => sign(key, v2UserClaims(), { zip: 'DEF' }), 'forbidden_header'],
  ['Microsoft Graph token (header nonce)', () => sign(key, v2UserClaims(), { nonce: 'Zm9v' }), 'graph_nonce'],
  // --- kid attacks ---
  ['unknown kid (attacker key)', () => sign(attacker, v2UserClaims()), 'unknown_kid'],
  [
    'kid missing',
    async () => {
      const [, p, s] = await parts();
      return `${b64url({ alg: 'RS256' })}.${p}.${s}`;
    },
    'unknown_kid',
  ],
  ['kid path traversal', () => sign(attacker, v2UserClaims(), { kid: '../../../etc/passwd' }), 'unknown_kid'],
  ['kid SQL injection', () => sign(attacker, v2UserClaims(), { kid: "k1' OR '1'='1" }), 'unknown_kid'],
  ['kid __proto__', () => sign(attacker, v2UserClaims(), { kid: '__proto__' }), 'unknown_kid'],
  ['kid 500 characters', () => sign(attacker, v2UserClaims(), { kid: 'k'.repeat(500) }), 'unknown_kid'],
  ['kid with a NUL byte', () => sign(attacker, v2UserClaims(), { kid: 'k1\u0000' }), 'unknown_kid'],
  ['kid not a string', () => sign(attacker, v2UserClaims(), { kid: 1 }), 'unknown_kid'],
  ['real kid, attacker signature', () => sign(attacker, v2UserClaims(), { kid: 'k1' }), 'bad_signature'],
  ['key rotated out of the JWKS', () => sign(retired, v2UserClaims()), 'unknown_kid'],
  // --- tampering and shape ---
  [
    'truncated signature',
    async () => {
      const [h, p, s] = await parts();
      return `${h}.${p}.${s.slice(0, 100)}`;
    },
    'bad_signature',
  ],
  [
    'altered signature',
    async () => {
      const [h, p, s] = await parts();
      return `${h}.${p}.${flipLast(s)}`;
    },
    'bad_signature',
  ],
  [
    'altered payload (another oid)',
    async () => {
      const [h, , s] = await parts();
      return `${h}.${b64url(v2UserClaims({ oid: 'bbbbbbbb-0000-4000-8000-000000000b0b' }))}.${s}`;
    },
    'bad_signature',
  ],
  [
    'altered header (typ changed)',
    async () => {
      const [, p, s] = await parts();
      return `${b64url({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${p}.${s}`;
    },
    'bad_signature',
  ],
  [
    'signature of another token',
    async () => {
      const [h, p] = await parts();
      const [, , s] = await parts(v2UserClaims({ scp: 'x' }));
      return `${h}.${p}.${s}`;
    },
    'bad_signature',
  ],
  [
    'empty signature segment',
    async () => {
      const [h, p] = await parts();
      return `${h}.${p}.`;
    },
    'malformed',
  ],
  ['two segments', async () => (await parts()).slice(0, 2).join('.'), 'malformed'],
  ['four segments', async () => `${(await parts()).join('.')}.AAAA`, 'malformed'],
  ['five segments (JWE shape)', async () => 'eyJhbGciOiJSU0EtT0FFUCJ9.AAAA.AAAA.AAAA.AAAA', 'malformed'],
  [
    'base64 padding in a segment',
    async () => {
      const [h, p, s] = await parts();
      return `${h}.${p}=.${s}`;
    },
    'malformed',
  ],
  [
    'whitespace inside',
    async () => {
      const [h, p, s] = await parts();
      return `${h}. ${p}.${s}`;
    },
    'malformed',
  ],
  [
    'payload not JSON',
    async () => {
      const [h, , s] = await parts();
      return `${h}.${Buffer.from('not json').toString('base64url')}.${s}`;
    },
    'malformed',
  ],
  [
    'payload a JSON array',
    async () => {
      const [h, , s] = await parts();
      return `${h}.${b64url([1, 2])}.${s}`;
    },
    'malformed',
  ],
  [
    'header not JSON',
    async () => {
      const [, p, s] = await parts();
      return `${Buffer.from('{alg').toString('base64url')}.${p}.${s}`;
    },
    'malformed',
  ],
  [
    'oversized token (32 KiB)',
    async () => `${b64url({ alg: 'RS256', kid: 'k1' })}.${'A'.repeat(32 * 1024)}.AAAA`,
    'too_large',
  ],
  // --- issuer and tenant ---
  ['wrong issuer', () => sign(key, v2UserClaims({ iss: 'https://evil.test/v2.0' })), 'issuer_mismatch'],
  ['missing issuer', () => sign(key, v2UserClaims({ iss: undefined })), 'issuer_mismatch'],
  [
    'v2 token carrying the v1 issuer',
    () => sign(key, v2UserClaims({ iss: `https://sts.windows.net/${TID}/` })),
    'issuer_mismatch',
  ],
  [
    'v1 token carrying the v2 issuer',
    () => sign(key, v1UserClaims({ iss: `https://login.microsoftonline.com/${TID}/v2.0` })),
    'issuer_mismatch',
  ],
  [
    'issuer with a trailing slash added',
    () => sign(key, v2UserClaims({ iss: `https://login.microsoftonline.com/${TID}/v2.0/` })),
    'issuer_mismatch',
  ],
  ['tid/iss mismatch (both tenants allowed)', () => sign(key, v2UserClaims({ tid: OTHER_TID })), 'issuer_mismatch'],
  [
    'tenant not in the allowlist',
    () =>
      sign(
        key,
        v2UserClaims({ tid: NOT_ALLOWED_TID, iss: `https://login.microsoftonline.com/${NOT_ALLOWED_TID}/v2.0` }),
      ),
    'tenant_not_allowed',
  ],
  ['tid not a GUID', () => sign(key, v2UserClaims({ tid: '../../common' })), 'tenant_invalid'],
  [
    'tid upper-case GUID',
    () => sign(key, v2UserClaims({ tid: 'AAAAAAAA-1111-4111-8111-111111111111' })),
    'tenant_invalid',
  ],
  ['tid "common"', () => sign(key, v2UserClaims({ tid: 'common' })), 'tenant_invalid'],
  ['tid missing', () => sign(key, v2UserClaims({ tid: undefined })), 'tenant_invalid'],
  ['ver missing', () => sign(key, v2UserClaims({ ver: undefined })), 'version_invalid'],
  ['ver 3.0', () => sign(key, v2UserClaims({ ver: '3.0' })), 'version_invalid'],
  // --- audience (confused deputy) ---
  [
    'audience of Resource Manager',
    () => sign(key, v2UserClaims({ aud: 'https://management.azure.com/' })),
    'audience_mismatch',
  ],
  ['audience missing', () => sign(key, v2UserClaims({ aud: undefined })), 'audience_mismatch'],
  [
    'audience with a shared prefix',
    () => sign(key, v2UserClaims({ aud: `${GATEWAY_APP_ID_URI}-evil` })),
    'audience_mismatch',
  ],
  [
    'audience array without ours',
    () => sign(key, v2UserClaims({ aud: ['api://other', 'https://graph.microsoft.com'] })),
    'audience_mismatch',
  ],
  ['audience a number', () => sign(key, v2UserClaims({ aud: 42 as never })), 'audience_mismatch'],
  // --- lifetime ---
  ['expired beyond the tolerance', () => sign(key, v2UserClaims({ exp: NOW_S - 61 })), 'expired'],
  ['nbf in the future beyond the tolerance', () => sign(key, v2UserClaims({ nbf: NOW_S + 120 })), 'not_yet_valid'],
  ['exp missing', () => sign(key, v2UserClaims({ exp: undefined })), 'missing_exp'],
  ['exp not numeric', () => sign(key, v2UserClaims({ exp: String(NOW_S + 3600) as never })), 'claim_invalid'],
  ['nbf not numeric', () => sign(key, v2UserClaims({ nbf: 'soon' as never })), 'claim_invalid'],
];

describe('token attack suite: every hostile token is refused with the right reason', () => {
  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)('refuses: %s', async (_name, makeToken, reason) => {
    const result = await verify(await makeToken());
    expect(result.ok ? 'accepted' : result.reason).toBe(reason);
  });
});

describe('valid controls: the same verifier accepts genuine tokens', () => {
  it('accepts a v2 user token and maps subject, actor, groups, scopes, wids', async () => {
    const result = await verify(await sign(key, v2UserClaims()));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.principal).toMatchObject({
      tenantId: TID,
      subject: { objectId: ALICE_OID, userPrincipalName: 'alice@contoso.com' },
      actor: { appOnly: false, credentialType: 'public_client' },
      groups: ['aaaaaaaa-0000-4000-8000-000000000001'],
      scopes: ['user_impersonation'],
      directoryRoles: ['b79fbf4d-3ef9-4689-8143-76b194e85509'],
      actorMode: 'delegated',
      groupsResolved: true,
      tokenVersion: '2.0',
    });
    expect(result.principal.tokenFingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('accepts a v1 user token (App ID URI audience with trailing slash) against the v1 issuer', async () => {
    const result = await verify(await sign(key, v1UserClaims()));
    expect(result.ok && result.principal.actor.appId).toBe('04b07795-8ddb-461a-bbee-02f9e1bf7b46');
  });

  it('accepts an App ID URI audience without the trailing slash', async () => {
    const result = await verify(await sign(key, v1UserClaims({ aud: GATEWAY_APP_ID_URI })));
    expect(result.ok).toBe(true);
  });

  it('accepts an app-only token as an actor with no subject', async () => {
    const result = await verify(await sign(key, appOnlyClaims()));
    expect(result.ok && result.principal).toMatchObject({
      subject: null,
      actor: { appId: AGENT_APP_ID, appOnly: true, credentialType: 'certificate' },
      roles: ['Gateway.Write'],
      actorMode: 'app_only',
    });
  });

  it('accepts a token expired within the clock tolerance, and one whose nbf is just ahead', async () => {
    expect((await verify(await sign(key, v2UserClaims({ exp: NOW_S - 30 })))).ok).toBe(true);
    expect((await verify(await sign(key, v2UserClaims({ nbf: NOW_S + 30 })))).ok).toBe(true);
  });

  it('accepts a token of another allowed tenant against its own issuer', async () => {
    const result = await verify(
      await sign(key, v2UserClaims({ tid: OTHER_TID, iss: `https://login.microsoftonline.com/${OTHER_TID}/v2.0` })),
    );
    expect(result.ok && result.principal.tenantId).toBe(OTHER_TID);
  });

  it('marks a group-overage token as groups unknown', async () => {
    const claims = v2UserClaims({
      groups: undefined,
      _claim_names: { groups: 'src1' },
      _claim_sources: { src1: { endpoint: 'https://graph.windows.net/x/users/y/getMemberObjects' } },
    });
    const result = await verify(await sign(key, claims));
    expect(result.ok && result.principal).toMatchObject({ groups: [], groupsResolved: false, groupsOverage: true });
  });
});
