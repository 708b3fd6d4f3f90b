/**
 * Authenticator: headers → Principal or a typed error; agent on behalf of a human (subject-token
 * header); the verified-token cache; group overage through a GroupResolver.
 */
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Authenticator, type AuthenticatorOptions } from '../../../src/auth/authenticate.ts';
import type { EntraKeySource } from '../../../src/auth/entra-keys.ts';
import type { GroupLookup, GroupResolver } from '../../../src/auth/group-resolver.ts';
import { VerifiedTokenCache } from '../../../src/auth/token-cache.ts';
import { EdgewardError } from '../../../src/errors.ts';
import {
  AGENT_APP_ID,
  AGENT_SP_OID,
  ALICE_OID,
  AUDIENCES,
  appOnlyClaims,
  makeKey,
  NOW_MS,
  NOW_S,
  OTHER_TID,
  sign,
  TestAuthority,
  type TestKey,
  TID,
  v2UserClaims,
} from './fixtures.ts';

const HEADER = 'x-edgeward-subject-token';
let key: TestKey;
let authority: TestAuthority;
let keys: EntraKeySource;

beforeAll(async () => {
  key = await makeKey('k1');
});

beforeEach(() => {
  authority = new TestAuthority([key], [TID, OTHER_TID]);
  keys = authority.keySource();
});

const make = (options: Partial<AuthenticatorOptions> = {}) =>
  new Authenticator({
    keys,
    tenantAllowlist: [TID, OTHER_TID],
    clockToleranceSeconds: 60,
    subjectTokenHeader: HEADER,
    tokenCache: new VerifiedTokenCache(100),
    ...options,
  });

const context = { audiences: AUDIENCES, nowMs: NOW_MS };
const headers = (bearer?: string, subject?: string) => {
  const h = new Headers();
  if (bearer !== undefined) h.set('authorization', `Bearer ${bearer}`);
  if (subject !== undefined) h.set(HEADER, subject);
  return h;
};

async function refusal(promise: Promise<unknown>): Promise<EdgewardError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof EdgewardError)) throw new Error(`expected an EdgewardError, got ${String(error)}`);
  return error;
}

describe('Authenticator: the bearer token', () => {
  it('maps a delegated token to subject + actor with actorMode delegated', async () => {
    const principal = await make().authenticate(headers(await sign(key, v2UserClaims())), context);
    expect(principal).toMatchObject({ subject: { objectId: ALICE_OID }, actorMode: 'delegated' });
  });

  it('refuses a missing token with EDGEWARD_TOKEN_MISSING', async () => {
    const error = await refusal(make().authenticate(headers(), context));
    expect([error.code, error.status]).toEqual(['EDGEWARD_TOKEN_MISSING', 401]);
  });

  it('refuses a bad token with EDGEWARD_TOKEN_INVALID: reason in auditDetail only, token nowhere', async () => {
    const token = await sign(key, v2UserClaims({ aud: 'https://management.azure.com/' }));
    const error = await refusal(make().authenticate(headers(token), context));
    expect([error.code, error.status]).toEqual(['EDGEWARD_TOKEN_INVALID', 401]);
    expect(error.auditDetail).toMatch(/^audience_mismatch/);
    expect(error.publicDetail).not.toMatch(/audience/);
    const everything = JSON.stringify({ ...error, message: error.message });
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split('.')[2]);
  });

  it('fails closed with a 503 EDGEWARD_KEYS_UNAVAILABLE when no keys can be had', async () => {
    authority.available = false;
    const error = await refusal(make().authenticate(headers(await sign(key, v2UserClaims())), context));
    expect([error.code, error.status]).toEqual(['EDGEWARD_KEYS_UNAVAILABLE', 503]);
  });

  it('explains a Microsoft Graph token, more specifically on a pass-through connection', async () => {
    const token = await sign(key, v2UserClaims(), { nonce: 'abc' });
    const plain = await refusal(make().authenticate(headers(token), context));
    const passthrough = await refusal(make().authenticate(headers(token), { ...context, passthrough: true }));
    expect(plain.code).toBe('EDGEWARD_TOKEN_INVALID');
    expect(plain.publicDetail).toMatch(/Microsoft Graph/);
    expect(passthrough.publicDetail).toMatch(/forwards the caller's token/);
    expect(passthrough.auditDetail).toMatch(/^graph_nonce/);
  });
});

describe('Authenticator: agent on behalf of a human (subject-token header)', () => {
  it('verifies both: the human becomes the subject, the agent the actor', async () => {
    const agent = await sign(key, appOnlyClaims({ groups: ['dddddddd-0000-4000-8000-000000000001'] }));
    const human = await sign(key, v2UserClaims({ exp: NOW_S + 600 }));
    const principal = await make().authenticate(headers(agent, human), context);
    expect(principal).toMatchObject({
      tenantId: TID,
      subject: { objectId: ALICE_OID, userPrincipalName: 'alice@contoso.com' },
      actor: { appId: AGENT_APP_ID, appOnly: true, objectId: AGENT_SP_OID, credentialType: 'certificate' },
      actorMode: 'app_with_subject_token',
      groups: ['aaaaaaaa-0000-4000-8000-000000000001'],
      roles: ['Gateway.Write'],
      scopes: ['user_impersonation'],
      expiresAt: NOW_S + 600,
    });
    expect(principal.subjectTokenFingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(principal.subjectTokenFingerprint).not.toBe(principal.tokenFingerprint);
  });

  const subjectFailures: [string, () => Promise<[string, string]>, RegExp][] = [
    [
      'a tampered subject token',
      async () => {
        const human = await sign(key, v2UserClaims());
        return [await sign(key, appOnlyClaims()), `${human.slice(0, -4)}AAAA`];
      },
      /bad_signature/,
    ],
    ['an empty subject header', async () => [await sign(key, appOnlyClaims()), ''], /malformed/],
    [
      'an expired subject token',
      async () => [await sign(key, appOnlyClaims()), await sign(key, v2UserClaims({ exp: NOW_S - 600 }))],
      /expired/,
    ],
    [
      'a subject token for another audience',
      async () => [await sign(key, appOnlyClaims()), await sign(key, v2UserClaims({ aud: 'api://other' }))],
      /audience_mismatch/,
    ],
    [
      'an app-only subject token',
      async () => [await sign(key, appOnlyClaims()), await sign(key, appOnlyClaims({ azp: 'other' }))],
      /app-only/,
    ],
    [
      'a subject token with a delegated bearer token',
      async () => [await sign(key, v2UserClaims()), await sign(key, v2UserClaims())],
      /delegated bearer/,
    ],
    [
      'a subject token with a delegated bearer token that carries no oid',
      async () => [await sign(key, v2UserClaims({ oid: undefined })), await sign(key, v2UserClaims())],
      /delegated bearer/,
    ],
    [
      'a subject token from another tenant',
      async () => [
        await sign(key, appOnlyClaims()),
        await sign(key, v2UserClaims({ tid: OTHER_TID, iss: `https://login.microsoftonline.com/${OTHER_TID}/v2.0` })),
      ],
      /tenant/,
    ],
    [
      'a Graph token as subject',
      async () => [await sign(key, appOnlyClaims()), await sign(key, v2UserClaims(), { nonce: 'x' })],
      /graph_nonce/,
    ],
  ];

  it.each(subjectFailures)('fails the request for %s (EDGEWARD_SUBJECT_TOKEN_INVALID, 401)', async (_n, make2, why) => {
    const [agent, human] = await make2();
    const error = await refusal(make().authenticate(headers(agent, human), context));
    expect([error.code, error.status]).toEqual(['EDGEWARD_SUBJECT_TOKEN_INVALID', 401]);
    expect(error.auditDetail).toMatch(/^subject token: /);
    expect(error.auditDetail).toMatch(why);
    if (human) expect(JSON.stringify({ ...error, message: error.message })).not.toContain(human);
  });

  it('still fails the actor first: a bad bearer token with a good subject token is EDGEWARD_TOKEN_INVALID', async () => {
    const agent = await sign(key, appOnlyClaims({ aud: 'api://other' }));
    const error = await refusal(make().authenticate(headers(agent, await sign(key, v2UserClaims())), context));
    expect(error.code).toBe('EDGEWARD_TOKEN_INVALID');
  });

  it('reads the configured header name', async () => {
    const auth = make({ subjectTokenHeader: 'X-Edgeward-On-Behalf-Of' });
    expect(auth.subjectTokenHeader).toBe('x-edgeward-on-behalf-of');
    const h = headers(await sign(key, appOnlyClaims()));
    h.set('x-edgeward-on-behalf-of', await sign(key, v2UserClaims()));
    expect((await auth.authenticate(h, context)).actorMode).toBe('app_with_subject_token');
  });
});

describe('Authenticator: verified-token cache', () => {
  it('answers a repeated token from the cache without key lookup or signature work', async () => {
    const auth = make();
    const resolve = vi.spyOn(keys, 'resolve');
    const token = await sign(key, v2UserClaims());
    await auth.authenticate(headers(token), context);
    await auth.authenticate(headers(token), context);
    await auth.authenticate(headers(token), context);
    expect(resolve).toHaveBeenCalledTimes(1);
  });

  it('checks the audience per request: a cached token is still refused by a connection with other audiences', async () => {
    const auth = make();
    const token = await sign(key, v2UserClaims());
    await auth.authenticate(headers(token), context);
    const error = await refusal(auth.authenticate(headers(token), { ...context, audiences: ['api://other'] }));
    expect(error.auditDetail).toMatch(/^audience_mismatch/);
  });

  it('never serves a token past its exp: it is verified again, and refused', async () => {
    const auth = make();
    const token = await sign(key, v2UserClaims({ exp: NOW_S + 120 }));
    await auth.authenticate(headers(token), context);
    const error = await refusal(auth.authenticate(headers(token), { ...context, nowMs: NOW_MS + 200_000 }));
    expect(error.auditDetail).toMatch(/^expired/);
  });

  it('does not cache failures', async () => {
    const cache = new VerifiedTokenCache(10);
    const auth = make({ tokenCache: cache });
    await refusal(auth.authenticate(headers(await sign(key, v2UserClaims({ aud: 'x' }))), context));
    expect(cache.size).toBe(0);
  });

  it('is bounded, evicting the least recently used entry', async () => {
    const cache = new VerifiedTokenCache(2);
    const auth = make({ tokenCache: cache });
    const resolve = vi.spyOn(keys, 'resolve');
    const [a, b, c] = await Promise.all([1, 2, 3].map((n) => sign(key, v2UserClaims({ jti: String(n) }))));
    for (const t of [a, b, a, c] as string[]) await auth.authenticate(headers(t), context);
    expect(cache.size).toBe(2);
    expect(resolve).toHaveBeenCalledTimes(3);
    await auth.authenticate(headers(a as string), context); // still cached (recently used)
    expect(resolve).toHaveBeenCalledTimes(3);
    await auth.authenticate(headers(b as string), context); // evicted
    expect(resolve).toHaveBeenCalledTimes(4);
  });
});

describe('Authenticator: group overage', () => {
  const overage = { groups: undefined, _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'x' } } };
  const resolver = (answer: readonly string[] | undefined) => {
    const calls: GroupLookup[] = [];
    const groups: GroupResolver = {
      resolve: async (lookup) => {
        calls.push(lookup);
        return answer;
      },
    };
    return { groups, calls };
  };

  it('resolves overage groups for a user through the GroupResolver', async () => {
    const { groups, calls } = resolver(['aaaaaaaa-0000-4000-8000-000000000002']);
    const principal = await make({ groups }).authenticate(headers(await sign(key, v2UserClaims(overage))), context);
    expect(principal).toMatchObject({
      groups: ['aaaaaaaa-0000-4000-8000-000000000002'],
      groupsResolved: true,
      groupsOverage: true,
    });
    expect(calls).toEqual([{ tenantId: TID, objectId: ALICE_OID, kind: 'user' }]);
  });

  it('treats hasgroups the same way, and resolves an app-only caller as a service principal', async () => {
    const { groups, calls } = resolver(['aaaaaaaa-0000-4000-8000-000000000001']);
    const principal = await make({ groups }).authenticate(
      headers(await sign(key, appOnlyClaims({ hasgroups: true }))),
      context,
    );
    expect(principal.groupsResolved).toBe(true);
    expect(calls).toEqual([{ tenantId: TID, objectId: AGENT_SP_OID, kind: 'servicePrincipal' }]);
  });

  it('leaves groups unknown (groupsResolved false) when resolution fails or no resolver is configured', async () => {
    const token = await sign(key, v2UserClaims(overage));
    const failed = await make({ groups: resolver(undefined).groups }).authenticate(headers(token), context);
    expect(failed).toMatchObject({ groups: [], groupsResolved: false });
    const none = await make().authenticate(headers(token), context);
    expect(none).toMatchObject({ groups: [], groupsResolved: false });
  });

  it("resolves the human's groups in agent+subject mode", async () => {
    const { groups, calls } = resolver(['aaaaaaaa-0000-4000-8000-000000000002']);
    const principal = await make({ groups }).authenticate(
      headers(await sign(key, appOnlyClaims()), await sign(key, v2UserClaims(overage))),
      context,
    );
    expect(principal).toMatchObject({ groups: ['aaaaaaaa-0000-4000-8000-000000000002'], groupsResolved: true });
    expect(calls.map((c) => c.kind)).toEqual(['user']);
  });

  it('does not call the resolver for a token that lists its groups', async () => {
    const { groups, calls } = resolver([]);
    await make({ groups }).authenticate(headers(await sign(key, v2UserClaims())), context);
    expect(calls).toHaveLength(0);
  });
});
