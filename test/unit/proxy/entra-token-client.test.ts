import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { EntraTokenClient, type FetchLike, TokenCache } from '../../../src/proxy/credentials/index.ts';

const TID = '11111111-1111-4111-8111-111111111111';
const NOW = Date.UTC(2026, 0, 1);

function recordingFetch(answer: (form: URLSearchParams) => [number, unknown]) {
  const calls: { url: string; form: URLSearchParams }[] = [];
  const fetch: FetchLike = async (url, init) => {
    const form = new URLSearchParams(String(init.body));
    calls.push({ url, form });
    const [status, body] = answer(form);
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
  return { calls, fetch };
}

describe('EntraTokenClient', () => {
  it('sends the on-behalf-of grant with the client secret to the tenant token endpoint', async () => {
    const { calls, fetch } = recordingFetch(() => [200, { access_token: 'obo-token', expires_in: 3600 }]);
    const client = new EntraTokenClient({
      authority: 'https://login.example',
      client: { kind: 'secret', clientId: 'app-1', secret: 's3cret' },
      fetch,
    });
    const result = await client.onBehalfOf(TID, 'user-token', 'https://management.azure.com/.default', NOW);
    expect(result).toEqual({ ok: true, token: { accessToken: 'obo-token', expiresAt: NOW + 3600_000 } });
    expect(calls[0]?.url).toBe(`https://login.example/${TID}/oauth2/v2.0/token`);
    expect(Object.fromEntries(calls[0]?.form ?? [])).toEqual({
      client_id: 'app-1',
      client_secret: 's3cret',
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: 'user-token',
      scope: 'https://management.azure.com/.default',
      requested_token_use: 'on_behalf_of',
    });
  });

  it('authenticates with a PS256 certificate assertion carrying x5t#S256, aud = token endpoint', async () => {
    const { privateKey, publicKey } = await generateKeyPair('PS256');
    const thumb = await calculateJwkThumbprint(await exportJWK(publicKey));
    const { calls, fetch } = recordingFetch(() => [200, { access_token: 'app-token', expires_in: 600 }]);
    const client = new EntraTokenClient({
      authority: 'https://login.example',
      client: { kind: 'certificate', clientId: 'app-1', privateKey, thumbprintS256: thumb },
      fetch,
    });
    expect((await client.clientCredentials(TID, 'https://graph.microsoft.com/.default', NOW)).ok).toBe(true);
    const form = calls[0]?.form ?? new URLSearchParams();
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('client_secret')).toBeNull();
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = form.get('client_assertion') ?? '';
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'PS256', 'x5t#S256': thumb });
    const { payload } = await jwtVerify(assertion, publicKey, {
      algorithms: ['PS256'],
      audience: `https://login.example/${TID}/oauth2/v2.0/token`,
      issuer: 'app-1',
      subject: 'app-1',
      currentDate: new Date(NOW),
    });
    expect(payload.exp).toBe(NOW / 1000 + 600);
    expect(typeof payload.jti).toBe('string');
  });

  it('returns a Conditional Access claims challenge as its own result', async () => {
    const claims = '{"access_token":{"capolids":{"essential":true,"values":["p1"]}}}';
    const { fetch } = recordingFetch(() => [400, { error: 'invalid_grant', error_codes: [50076], claims }]);
    const client = new EntraTokenClient({
      authority: 'https://login.example',
      client: { kind: 'secret', clientId: 'app-1', secret: 'x' },
      fetch,
    });
    const result = await client.onBehalfOf(TID, 't', 's', NOW);
    expect(result).toEqual({ ok: false, reason: 'claims_challenge', claims, detail: 'invalid_grant (AADSTS 50076)' });
  });

  it('tells refusals from outages and never echoes the secret', async () => {
    const rejected = new EntraTokenClient({
      authority: 'https://login.example',
      client: { kind: 'secret', clientId: 'a', secret: 'topsecret' },
      fetch: recordingFetch(() => [401, { error: 'invalid_client' }]).fetch,
    });
    const result = await rejected.clientCredentials(TID, 's', NOW);
    expect(result).toMatchObject({ ok: false, reason: 'rejected' });
    expect(JSON.stringify(result)).not.toContain('topsecret');
    const down = new EntraTokenClient({
      authority: 'https://login.example',
      client: { kind: 'secret', clientId: 'a', secret: 'x' },
      fetch: async () => {
        throw new TypeError('connect ECONNREFUSED');
      },
    });
    expect(await down.clientCredentials(TID, 's', NOW)).toMatchObject({ ok: false, reason: 'unavailable' });
    expect(await down.clientCredentials('../evil', 's', NOW)).toMatchObject({ ok: false, reason: 'rejected' });
  });
});

describe('TokenCache', () => {
  it('reuses a token until shortly before expiry, then fetches again', async () => {
    const cache = new TokenCache({ refreshSkewMs: 60_000 });
    let fetched = 0;
    const fetchToken = async () => {
      fetched++;
      return { ok: true as const, token: { accessToken: `t${fetched}`, expiresAt: NOW + 600_000 } };
    };
    expect(await cache.get('k', NOW, fetchToken)).toMatchObject({ token: { accessToken: 't1' } });
    expect(await cache.get('k', NOW + 539_000, fetchToken)).toMatchObject({ token: { accessToken: 't1' } });
    expect(await cache.get('k', NOW + 541_000, fetchToken)).toMatchObject({ token: { accessToken: 't2' } });
    expect(await cache.get('other', NOW, fetchToken)).toMatchObject({ token: { accessToken: 't3' } });
  });

  it('does not cache failures and shares one fetch between concurrent misses', async () => {
    const cache = new TokenCache();
    let fetched = 0;
    const failing = async () => {
      fetched++;
      return { ok: false as const, reason: 'unavailable' as const, detail: 'down' };
    };
    await Promise.all([cache.get('k', NOW, failing), cache.get('k', NOW, failing)]);
    expect(fetched).toBe(1);
    await cache.get('k', NOW, failing);
    expect(fetched).toBe(2);
    expect(cache.size).toBe(0);
  });
});
