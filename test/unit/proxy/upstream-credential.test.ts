import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/index.ts';
import type { EdgewardError } from '../../../src/errors.ts';
import type { ConnectionSource } from '../../../src/policy/schema.ts';
import { EntraTokenClient, TokenCache, upstreamCredential } from '../../../src/proxy/credentials/index.ts';

const NOW = Date.UTC(2026, 0, 1);
const human: Principal = {
  tenantId: '11111111-1111-4111-8111-111111111111',
  subject: { objectId: 'user-oid' },
  actor: { appId: 'cli', credentialType: 'public_client', appOnly: false },
  groups: [],
  roles: [],
  scopes: ['user_impersonation'],
  directoryRoles: [],
  tokenVersion: '2.0',
  tokenFingerprint: 'f',
  expiresAt: NOW / 1000 + 3600,
};
const app: Principal = {
  ...human,
  subject: null,
  actor: { appId: 'agent', credentialType: 'client_secret', appOnly: true },
};
const conn = (credential: ConnectionSource['credential'], audiences?: string[]): ConnectionSource => ({
  name: 'arm',
  kind: 'azure_resource_manager',
  upstream: 'https://management.azure.com',
  credential,
  ...(audiences ? { audiences } : {}),
});

function deps(answer: () => [number, unknown] = () => [200, { access_token: 'exchanged', expires_in: 3600 }]) {
  const grants: string[] = [];
  const tokens = new EntraTokenClient({
    authority: 'https://login.example',
    client: { kind: 'secret', clientId: 'gw', secret: 's' },
    fetch: async (_url, init) => {
      grants.push(new URLSearchParams(String(init.body)).get('grant_type') ?? '');
      const [status, body] = answer();
      return Response.json(body, { status });
    },
  });
  return {
    grants,
    deps: {
      tokens,
      cache: new TokenCache(),
      authority: 'https://login.example',
      secret: (name: string) => (name === 'API_KEY' ? 'key-value' : undefined),
    },
  };
}

const fails = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as EdgewardError;
  }
  throw new Error('expected a refusal');
};

describe('upstreamCredential', () => {
  it('none drops the caller token; passthrough keeps it only with declared upstream audiences', async () => {
    const { deps: d } = deps();
    const ctx = { principal: human, callerToken: 'caller', nowMs: NOW };
    expect(await upstreamCredential({ ...ctx, connection: conn('none') }, d)).toEqual({
      mode: 'none',
      forwardCallerAuthorization: false,
    });
    expect(
      await upstreamCredential({ ...ctx, connection: conn('passthrough', ['https://management.azure.com']) }, d),
    ).toMatchObject({ forwardCallerAuthorization: true });
    expect((await fails(upstreamCredential({ ...ctx, connection: conn('passthrough') }, d))).code).toBe(
      'EDGEWARD_MISCONFIGURED',
    );
  });

  it('on_behalf_of exchanges once per caller token and scope, and refuses app-only callers', async () => {
    const { deps: d, grants } = deps();
    const connection = conn({ mode: 'on_behalf_of', scope: 'https://management.azure.com/.default' });
    const first = await upstreamCredential({ connection, principal: human, callerToken: 'caller', nowMs: NOW }, d);
    expect(first.header).toEqual({ name: 'authorization', value: 'Bearer exchanged' });
    await upstreamCredential({ connection, principal: human, callerToken: 'caller', nowMs: NOW + 1000 }, d);
    expect(grants).toEqual(['urn:ietf:params:oauth:grant-type:jwt-bearer']);
    const refusal = await fails(upstreamCredential({ connection, principal: app, callerToken: 'x', nowMs: NOW }, d));
    expect(refusal).toMatchObject({ code: 'EDGEWARD_CREDENTIAL_UNAVAILABLE', status: 403 });
  });

  it('does not reuse an exchanged token beyond the caller token it came from', async () => {
    const { deps: d, grants } = deps();
    const connection = conn({ mode: 'on_behalf_of', scope: 's/.default' });
    // The caller's token expires 10 minutes after NOW; the exchanged one would live an hour.
    const shortLived = { ...human, expiresAt: NOW / 1000 + 600 };
    await upstreamCredential({ connection, principal: shortLived, callerToken: 't', nowMs: NOW }, d);
    await upstreamCredential({ connection, principal: shortLived, callerToken: 't', nowMs: NOW + 240_000 }, d);
    expect(grants).toHaveLength(1);
    await upstreamCredential({ connection, principal: shortLived, callerToken: 't', nowMs: NOW + 360_000 }, d);
    expect(grants).toHaveLength(2);
  });

  it('never hands the exchange made for one caller token to another token of the same person', async () => {
    // Another app, or a weaker sign-in, of the same user must meet Entra's own conditions.
    const { deps: d, grants } = deps();
    const connection = conn({ mode: 'on_behalf_of', scope: 's/.default' });
    await upstreamCredential({ connection, principal: human, callerToken: 'token-from-cli', nowMs: NOW }, d);
    await upstreamCredential({ connection, principal: human, callerToken: 'token-from-other-app', nowMs: NOW }, d);
    expect(grants).toHaveLength(2);
  });

  it('passes a claims challenge back as a 401 with WWW-Authenticate', async () => {
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const { deps: d } = deps(() => [400, { error: 'invalid_grant', claims }]);
    const connection = conn({ mode: 'on_behalf_of', scope: 's/.default' });
    const refusal = await fails(upstreamCredential({ connection, principal: human, callerToken: 't', nowMs: NOW }, d));
    expect(refusal).toMatchObject({ code: 'EDGEWARD_UPSTREAM_CLAIMS_CHALLENGE', status: 401 });
    expect(refusal.headers['www-authenticate']).toContain(`claims="${btoa(claims)}"`);
    expect(refusal.headers['www-authenticate']).toContain('error="insufficient_claims"');
  });

  it('client_credentials uses the app token even for a human caller; static reads a Worker secret', async () => {
    const { deps: d, grants } = deps();
    const cc = conn({ mode: 'client_credentials', scope: 'https://graph.microsoft.com/.default' });
    expect(
      (await upstreamCredential({ connection: cc, principal: human, callerToken: 't', nowMs: NOW }, d)).header,
    ).toEqual({ name: 'authorization', value: 'Bearer exchanged' });
    expect(grants).toEqual(['client_credentials']);
    const stat = conn({ mode: 'static', header: 'x-api-key', secret: 'API_KEY' });
    expect(
      (await upstreamCredential({ connection: stat, principal: app, callerToken: 't', nowMs: NOW }, d)).header,
    ).toEqual({ name: 'x-api-key', value: 'key-value' });
    const missing = conn({ mode: 'static', header: 'x-api-key', secret: 'NOT_SET' });
    expect(
      (await fails(upstreamCredential({ connection: missing, principal: app, callerToken: 't', nowMs: NOW }, d))).code,
    ).toBe('EDGEWARD_CREDENTIAL_UNAVAILABLE');
  });

  it('refuses exchange modes when the gateway has no app credentials', async () => {
    const { deps: d } = deps();
    const connection = conn({ mode: 'client_credentials', scope: 's' });
    const refusal = await fails(
      upstreamCredential(
        { connection, principal: human, callerToken: 't', nowMs: NOW },
        { ...d, tokens: undefined, tokenClientProblem: 'ENTRA_CLIENT_ID is not set' },
      ),
    );
    expect(refusal).toMatchObject({
      code: 'EDGEWARD_CREDENTIAL_UNAVAILABLE',
      auditDetail: 'ENTRA_CLIENT_ID is not set',
    });
  });
});
