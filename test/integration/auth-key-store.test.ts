/** The shared key cache over the real Workers Cache API (workerd): round trip, and junk is never trusted. */
import { describe, expect, it } from 'vitest';
import { CacheApiKeyStore } from '../../src/auth/key-store-cache-api.ts';

const document = {
  issuer: 'https://login.microsoftonline.com/11111111-1111-4111-8111-111111111111/v2.0',
  keys: [{ kid: 'k1', n: 'AQAB', e: 'AQAB', issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' }],
  fetchedAt: 1_700_000_000_000,
};

describe('CacheApiKeyStore (Workers Cache API)', () => {
  it('round-trips a key document between store instances (as between isolates)', async () => {
    await new CacheApiKeyStore(caches.default).put('auth-test|round-trip', document);
    expect(await new CacheApiKeyStore(caches.default).get('auth-test|round-trip')).toEqual(document);
  });

  it('answers undefined for a missing entry and ignores an entry of the wrong shape', async () => {
    const store = new CacheApiKeyStore(caches.default);
    expect(await store.get('auth-test|missing')).toBeUndefined();
    await caches.default.put(
      `https://edgeward-keys.internal/${encodeURIComponent('auth-test|junk')}`,
      new Response(JSON.stringify({ issuer: 'x', keys: [{ kid: 1 }], fetchedAt: 'now' }), {
        headers: { 'cache-control': 'max-age=60' },
      }),
    );
    expect(await store.get('auth-test|junk')).toBeUndefined();
  });
});
