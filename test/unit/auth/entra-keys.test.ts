/**
 * JWKS behaviour, counted: discovery and JWKS fetches per tenant, the shared (cross-isolate)
 * cache, background refresh, rotation, the unknown-kid rate limit, and outages with a warm cache
 * (keeps working up to 24 h) and a cold one (fails closed). The clock is injected throughout.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EntraKeySource,
  type KeyDocument,
  type KeyDocumentStore,
  KeysUnavailableError,
} from '../../../src/auth/entra-keys.ts';
import { verifyAccessToken } from '../../../src/auth/verify-token.ts';
import {
  AUDIENCES,
  makeKey,
  NOW_MS,
  sign,
  TestAuthority,
  type TestKey,
  TID,
  v1UserClaims,
  v2UserClaims,
} from './fixtures.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
let k1: TestKey;
let k2: TestKey;
let authority: TestAuthority;
let clock: { now: number };

class MapStore implements KeyDocumentStore {
  readonly map = new Map<string, KeyDocument>();
  async get(key: string) {
    return this.map.get(key);
  }
  async put(key: string, document: KeyDocument) {
    this.map.set(key, structuredClone(document));
  }
}

beforeEach(async () => {
  k1 ??= await makeKey('k1');
  k2 ??= await makeKey('k2');
  authority = new TestAuthority([k1]);
  clock = { now: NOW_MS };
});

/** Verify at the injected clock; tokens are minted valid around that clock. */
function verifier(keys = authority.keySource({ clock }), waitUntil?: (p: Promise<unknown>) => void) {
  return async (key: TestKey, claims = v2UserClaims(), header: Record<string, unknown> = {}) => {
    const s = Math.floor(clock.now / 1000);
    const token = await sign(key, { ...claims, nbf: s - 60, iat: s - 60, exp: s + 3600 }, header);
    return verifyAccessToken(token, keys, {
      tenantAllowlist: [TID],
      audiences: AUDIENCES,
      clockToleranceSeconds: 60,
      now: new Date(clock.now),
      ...(waitUntil ? { waitUntil } : {}),
    });
  };
}
const reason = (r: { ok: boolean; reason?: string }) => (r.ok ? 'ok' : r.reason);

describe('EntraKeySource caching', () => {
  it('fetches discovery and JWKS once per tenant and version, then serves from the isolate', async () => {
    const verify = verifier();
    for (let i = 0; i < 5; i++) expect(reason(await verify(k1))).toBe('ok');
    expect(authority.stats).toEqual({ discovery: 1, jwks: 1 });
    expect(reason(await verify(k1, v1UserClaims()))).toBe('ok');
    expect(authority.stats).toEqual({ discovery: 2, jwks: 2 });
  });

  it('deduplicates concurrent cold loads into one fetch', async () => {
    const verify = verifier();
    const results = await Promise.all(Array.from({ length: 10 }, () => verify(k1)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(authority.stats).toEqual({ discovery: 1, jwks: 1 });
  });

  it('shares keys across isolates through the store: a second isolate fetches nothing', async () => {
    const store = new MapStore();
    expect(reason(await verifier(authority.keySource({ clock, store }))(k1))).toBe('ok');
    expect(store.map.size).toBe(1);
    const secondIsolate = verifier(authority.keySource({ clock, store }));
    expect(reason(await secondIsolate(k1))).toBe('ok');
    expect(authority.stats).toEqual({ discovery: 1, jwks: 1 });
  });

  it('refetches when the shared entry is older than an hour, and falls back to it during an outage', async () => {
    const store = new MapStore();
    await verifier(authority.keySource({ clock, store }))(k1);
    clock.now += 2 * HOUR;
    expect(reason(await verifier(authority.keySource({ clock, store }))(k1))).toBe('ok');
    expect(authority.stats.jwks).toBe(2);
    clock.now += 2 * HOUR;
    authority.available = false;
    expect(reason(await verifier(authority.keySource({ clock, store }))(k1))).toBe('ok');
  });

  it('ignores a shared entry older than 24 h when Entra is down: fails closed', async () => {
    const store = new MapStore();
    await verifier(authority.keySource({ clock, store }))(k1);
    clock.now += 25 * HOUR;
    authority.available = false;
    expect(reason(await verifier(authority.keySource({ clock, store }))(k1))).toBe('keys_unavailable');
  });

  it('refreshes in the background after an hour, handing the refresh to waitUntil, once per retry window', async () => {
    const pending: Promise<unknown>[] = [];
    const keys = authority.keySource({ clock });
    const verify = verifier(keys, (p) => pending.push(p));
    await verify(k1);
    clock.now += HOUR + MIN;
    expect(reason(await verify(k1))).toBe('ok');
    expect(reason(await verify(k1))).toBe('ok');
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(authority.stats).toEqual({ discovery: 2, jwks: 2 });
    // The refreshed entry is fresh again: no more refreshes.
    await verify(k1);
    expect(pending).toHaveLength(1);
  });
});

describe('EntraKeySource rotation and unknown kids', () => {
  it('picks up a newly published key with one synchronous refetch', async () => {
    const verify = verifier();
    await verify(k1);
    authority.published = [k1.publicJwk, k2.publicJwk];
    expect(reason(await verify(k2))).toBe('ok');
    expect(authority.stats.jwks).toBe(2);
  });

  it('stops accepting a key rotated out of the JWKS once the keys are refreshed', async () => {
    authority.published = [k1.publicJwk, k2.publicJwk];
    const pending: Promise<unknown>[] = [];
    const verify = verifier(authority.keySource({ clock }), (p) => pending.push(p));
    expect(reason(await verify(k1))).toBe('ok');
    authority.published = [k2.publicJwk];
    clock.now += HOUR + MIN;
    await verify(k2);
    await Promise.all(pending);
    expect(reason(await verify(k1))).toBe('unknown_kid');
    expect(reason(await verify(k2))).toBe('ok');
  });

  it('refetches for unknown kids at most once per tenant per 5 minutes', async () => {
    const attacker = await makeKey('x');
    const verify = verifier();
    await verify(k1);
    const before = authority.stats.jwks;
    for (let i = 0; i < 20; i++) {
      expect(reason(await verify(attacker, v2UserClaims(), { kid: `random-${i}` }))).toBe('unknown_kid');
    }
    expect(authority.stats.jwks - before).toBe(1);
    clock.now += 4 * MIN;
    await verify(attacker, v2UserClaims(), { kid: 'random-a' });
    expect(authority.stats.jwks - before).toBe(1);
    clock.now += MIN;
    await verify(attacker, v2UserClaims(), { kid: 'random-b' });
    expect(authority.stats.jwks - before).toBe(2);
  });

  it('the rate limit is per tenant across versions: a v1 unknown kid after a v2 one does not refetch', async () => {
    const attacker = await makeKey('x');
    const verify = verifier();
    await verify(k1);
    await verify(k1, v1UserClaims());
    const before = authority.stats.jwks;
    await verify(attacker, v2UserClaims(), { kid: 'a' });
    await verify(attacker, v1UserClaims(), { kid: 'b' });
    expect(authority.stats.jwks - before).toBe(1);
  });
});

describe('EntraKeySource during an Entra outage', () => {
  it('warm cache: keeps verifying with cached keys for up to 24 h, then fails closed', async () => {
    const verify = verifier();
    await verify(k1);
    authority.available = false;
    clock.now += 2 * HOUR;
    expect(reason(await verify(k1))).toBe('ok');
    clock.now += 21 * HOUR;
    expect(reason(await verify(k1))).toBe('ok');
    clock.now += 2 * HOUR;
    expect(reason(await verify(k1))).toBe('keys_unavailable');
  });

  it('warm cache: an unknown kid during the outage is rejected as unknown, not as an outage', async () => {
    const verify = verifier();
    await verify(k1);
    authority.available = false;
    expect(reason(await verify(k2))).toBe('unknown_kid');
    expect(reason(await verify(k1))).toBe('ok');
  });

  it('cold cache: no keys at all → keys_unavailable (never accepted)', async () => {
    authority.available = false;
    expect(reason(await verifier()(k1))).toBe('keys_unavailable');
    authority.available = true;
    expect(reason(await verifier()(k1))).toBe('ok');
  });

  it('cold cache: after a failure, Entra is not asked again for 10 s, then recovery is picked up', async () => {
    let asked = 0;
    const keys = new EntraKeySource({
      authority: 'https://login.test',
      now: () => clock.now,
      fetch: (url, init) => {
        asked++;
        return authority.fetch(url, init);
      },
    });
    const cold = verifier(keys);
    authority.available = false;
    for (let i = 0; i < 5; i++) expect(reason(await cold(k1))).toBe('keys_unavailable');
    expect(asked).toBe(1);
    authority.available = true;
    clock.now += 5_000;
    expect(reason(await cold(k1))).toBe('keys_unavailable');
    expect(asked).toBe(1);
    clock.now += 5_000;
    expect(reason(await cold(k1))).toBe('ok');
    expect(asked).toBe(3);
  });
});

describe('EntraKeySource metadata rules', () => {
  it('substitutes {tenantid} in multi-tenant issuer metadata and requires an exact match', async () => {
    authority.v2Issuer = () => 'https://login.microsoftonline.com/{tenantid}/v2.0';
    expect(reason(await verifier()(k1))).toBe('ok');
  });

  it("honours a key's own issuer: templated after substitution, otherwise exactly", async () => {
    authority.published = [{ ...k1.publicJwk, issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' }];
    expect(reason(await verifier()(k1))).toBe('ok');
    authority = new TestAuthority([k1]);
    authority.published = [{ ...k1.publicJwk, issuer: 'https://login.microsoftonline.com/someone-else/v2.0' }];
    expect(reason(await verifier()(k1))).toBe('issuer_mismatch');
  });

  it('refuses keys from a jwks_uri off the authority origin', async () => {
    authority.jwksUri = () => 'https://evil.test/keys';
    expect(reason(await verifier()(k1))).toBe('keys_unavailable');
    expect(authority.stats.jwks).toBe(0);
  });

  it('skips non-RSA, encryption and malformed keys; a JWKS with none usable is no keys', async () => {
    authority.published = [
      { kty: 'EC', kid: 'k1', crv: 'P-256', x: 'AA', y: 'AA' },
      { ...k1.publicJwk, use: 'enc' },
    ];
    expect(reason(await verifier()(k1))).toBe('keys_unavailable');
    authority = new TestAuthority([k1]);
    authority.published = [{ kty: 'RSA', kid: 'bad', n: 12 as never, e: 'AQAB' }, k1.publicJwk];
    expect(reason(await verifier()(k1))).toBe('ok');
  });

  it('uses the authority it was given (sovereign clouds change only the authority)', async () => {
    const urls: string[] = [];
    const keys = new EntraKeySource({
      authority: 'https://login.microsoftonline.us/',
      now: () => clock.now,
      fetch: async (url) => {
        urls.push(url);
        return new Response('down', { status: 503 });
      },
    });
    await expect(keys.resolve(TID, '2.0', 'k1')).rejects.toThrow(KeysUnavailableError);
    expect(urls).toEqual([`https://login.microsoftonline.us/${TID}/v2.0/.well-known/openid-configuration`]);
  });
});
