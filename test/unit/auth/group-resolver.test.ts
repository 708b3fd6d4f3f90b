/** GraphGroupResolver: the Graph call it makes, its per tid+oid cache, and that every failure is "unknown". */
import { describe, expect, it } from 'vitest';
import { GraphGroupResolver } from '../../../src/auth/group-resolver.ts';
import { AGENT_SP_OID, ALICE_OID, NOW_MS, TID } from './fixtures.ts';

const GROUP = 'aaaaaaaa-0000-4000-8000-000000000002';

function graph(answer: () => Response, token: () => Promise<string> = async () => 'app-token') {
  const requests: { url: string; init: RequestInit | undefined }[] = [];
  const resolver = new GraphGroupResolver({
    graphEndpoint: 'https://graph.test/',
    getAppToken: token,
    ttlMs: 60_000,
    fetch: async (url, init) => {
      requests.push({ url, init });
      return answer();
    },
  });
  return { resolver, requests };
}
const user = { tenantId: TID, objectId: ALICE_OID, kind: 'user' as const };

describe('GraphGroupResolver', () => {
  it('POSTs getMemberObjects with securityEnabledOnly false and the app token', async () => {
    const { resolver, requests } = graph(() => Response.json({ value: [GROUP.toUpperCase()] }));
    expect(await resolver.resolve(user, NOW_MS)).toEqual([GROUP]);
    expect(requests[0]?.url).toBe(`https://graph.test/v1.0/users/${ALICE_OID}/getMemberObjects`);
    expect(requests[0]?.init?.method).toBe('POST');
    expect(JSON.parse(String(requests[0]?.init?.body))).toEqual({ securityEnabledOnly: false });
    expect(new Headers(requests[0]?.init?.headers).get('authorization')).toBe('Bearer app-token');
  });

  it('uses servicePrincipals for app-only callers', async () => {
    const { resolver, requests } = graph(() => Response.json({ value: [] }));
    await resolver.resolve({ tenantId: TID, objectId: AGENT_SP_OID, kind: 'servicePrincipal' }, NOW_MS);
    expect(requests[0]?.url).toContain(`/v1.0/servicePrincipals/${AGENT_SP_OID}/getMemberObjects`);
  });

  it('caches per tid+oid for the TTL, then asks again', async () => {
    const { resolver, requests } = graph(() => Response.json({ value: [GROUP] }));
    await resolver.resolve(user, NOW_MS);
    await resolver.resolve(user, NOW_MS + 59_000);
    expect(requests).toHaveLength(1);
    await resolver.resolve({ ...user, objectId: AGENT_SP_OID }, NOW_MS);
    expect(requests).toHaveLength(2);
    await resolver.resolve(user, NOW_MS + 60_000);
    expect(requests).toHaveLength(3);
  });

  const failures: [string, () => Response, (() => Promise<string>) | undefined][] = [
    ['Graph answers 403', () => new Response('{}', { status: 403 }), undefined],
    ['Graph answers 503', () => new Response('{}', { status: 503 }), undefined],
    ['the body has no value array', () => Response.json({ groups: [GROUP] }), undefined],
    ['a value is not a GUID', () => Response.json({ value: [GROUP, 'admins'] }), undefined],
    ['the body is not JSON', () => new Response('<html>'), undefined],
    [
      'no app token can be had',
      () => Response.json({ value: [GROUP] }),
      async () => {
        throw new Error('no credential');
      },
    ],
  ];

  it.each(failures)('returns undefined (unknown) and caches nothing when %s', async (_name, answer, token) => {
    let ok = false;
    const { resolver, requests } = graph(() => (ok ? Response.json({ value: [GROUP] }) : answer()), token);
    expect(await resolver.resolve(user, NOW_MS)).toBeUndefined();
    ok = true;
    const second = await resolver.resolve(user, NOW_MS);
    if (token) expect(second).toBeUndefined();
    else expect(second).toEqual([GROUP]);
    expect(requests.length).toBe(token ? 0 : 2);
  });

  it('never calls Graph with an object id that is not a GUID', async () => {
    const { resolver, requests } = graph(() => Response.json({ value: [] }));
    expect(await resolver.resolve({ ...user, objectId: '../me' }, NOW_MS)).toBeUndefined();
    expect(requests).toHaveLength(0);
  });
});
