/**
 * Runtime activation of signed policy bundles in workerd with real D1: refusals leave the active
 * bundle as it was, a valid bundle takes effect, rollback is one call, each call is an audit row.
 */
import { env } from 'cloudflare:workers';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGateway, refreshActivePolicy } from '../../src/gateway.ts';
import { bundleSigningBytes } from '../../src/policy/bundle.ts';
import { compilePolicyDocument } from '../../src/policy/compile.ts';
import { auditRow, gateway, mintToken } from './helpers.ts';

// Development signing key: its public half is POLICY_BUNDLE_PUBLIC_KEY in wrangler.toml [vars].
// Never use it outside development and tests.
const DEV_PRIVATE_KEY_PEM =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKEhYANnrqfD/o7oJngDDXdba4Z3CcthfO0oBbtsAn+4\n-----END PRIVATE KEY-----\n';

const AUDITORS = 'aaaaaaaa-0000-4000-8000-000000000004';
const frozen = {
  version: 1,
  connections: [{ name: 'arm', kind: 'azure_resource_manager', upstream: 'https://management.azure.com' }],
  auditors: { groups: [AUDITORS] },
  policy_admins: { groups: [AUDITORS], app_only: false },
  rules: [
    {
      id: 'change-freeze',
      description: 'Nothing passes during the freeze.',
      effect: 'deny',
      message: 'Change freeze.',
    },
  ],
};

async function importKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
}

async function signedBundle(source: unknown, key?: CryptoKey) {
  const compiled = await compilePolicyDocument(source);
  if (!compiled.ok) throw new Error(compiled.errors.join('\n'));
  const digest = compiled.policy.digest;
  const bundle: Record<string, unknown> = { format: 'edgeward-policy-bundle/1', digest, source };
  if (key) {
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, bundleSigningBytes(digest)));
    bundle.signature = btoa(String.fromCharCode(...signature))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  }
  return { digest, bundle };
}

const health = async () =>
  ((await (await gateway('/_gateway/health')).json()) as { policy: { digest: string } }).policy.digest;
const activate = (token: string, body: unknown) =>
  gateway('/_gateway/policy/bundles', { method: 'POST', token, body: JSON.stringify(body) });
const problem = async (response: Response) => (await response.json()) as { code: string; reason?: string };

describe('runtime activation of signed policy bundles', () => {
  let embedded = '';
  let admin = '';

  afterAll(async () => {
    // Leave the embedded bundle active for the other test files.
    if (admin && embedded)
      await gateway('/_gateway/policy/rollback', {
        method: 'POST',
        token: admin,
        body: JSON.stringify({ digest: embedded }),
      });
  });

  it('refuses unsigned, mis-signed and invalid bundles and keeps the active one', async () => {
    embedded = await health();
    admin = await mintToken({ user: 'alice@contoso.com', groups: ['auditors'] });
    const key = await importKey(DEV_PRIVATE_KEY_PEM);
    const otherKey = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;

    const unsigned = await activate(admin, (await signedBundle(frozen)).bundle);
    expect(unsigned.status).toBe(422);
    expect(await problem(unsigned)).toMatchObject({ code: 'EDGEWARD_BUNDLE_REJECTED', reason: 'unsigned' });

    const misSigned = await activate(admin, (await signedBundle(frozen, otherKey.privateKey)).bundle);
    expect(await problem(misSigned)).toMatchObject({ code: 'EDGEWARD_BUNDLE_REJECTED', reason: 'bad_signature' });

    const { bundle } = await signedBundle(frozen, key);
    const tampered = await activate(admin, { ...bundle, source: { ...frozen, rules: [] } });
    expect(await problem(tampered)).toMatchObject({ code: 'EDGEWARD_BUNDLE_REJECTED', reason: 'digest_mismatch' });

    const noAdmins = await activate(admin, (await signedBundle({ ...frozen, policy_admins: undefined }, key)).bundle);
    expect(await problem(noAdmins)).toMatchObject({ code: 'EDGEWARD_BUNDLE_REJECTED', reason: 'invalid_policy' });

    const garbage = await gateway('/_gateway/policy/bundles', { method: 'POST', token: admin, body: '{not json' });
    expect(await problem(garbage)).toMatchObject({ code: 'EDGEWARD_BUNDLE_REJECTED', reason: 'malformed' });

    expect(await health()).toBe(embedded);
  });

  it('lets only policy admins activate', async () => {
    const reader = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const { bundle } = await signedBundle(frozen, await importKey(DEV_PRIVATE_KEY_PEM));
    const response = await activate(reader, bundle);
    expect(response.status).toBe(403);
    expect(await health()).toBe(embedded);
  });

  it('activates a signed bundle at once, audits it, and rolls back in one call', async () => {
    const reader = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    expect((await gateway('/arm/subscriptions?api-version=2022-12-01', { token: reader })).status).toBe(200);

    const { digest, bundle } = await signedBundle(frozen, await importKey(DEV_PRIVATE_KEY_PEM));
    const activated = await activate(admin, bundle);
    expect(activated.status, await activated.clone().text()).toBe(201);
    expect(await activated.json()).toEqual({ active: digest, previous: embedded });
    expect(await health()).toBe(digest);
    const row = await auditRow(activated.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'control', outcome: 'completed', detail: 'policy activate' });

    const denied = await gateway('/arm/subscriptions?api-version=2022-12-01', { token: reader });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: 'EDGEWARD_POLICY_DENIED', detail: 'Change freeze.' });

    const status = (await (await gateway('/_gateway/policy', { token: admin })).json()) as {
      active: { digest: string };
      history: { digest: string; action: string; previous_digest: string }[];
    };
    expect(status.active.digest).toBe(digest);
    expect(status.history[0]).toMatchObject({ digest, action: 'activate', previous_digest: embedded });

    const rollback = await gateway('/_gateway/policy/rollback', {
      method: 'POST',
      token: admin,
      body: JSON.stringify({ digest: embedded }),
    });
    expect(rollback.status, await rollback.clone().text()).toBe(200);
    expect(await health()).toBe(embedded);
    expect((await gateway('/arm/subscriptions?api-version=2022-12-01', { token: reader })).status).toBe(200);

    const unknown = await gateway('/_gateway/policy/rollback', {
      method: 'POST',
      token: admin,
      body: JSON.stringify({ digest: 'f'.repeat(64) }),
    });
    expect(await problem(unknown)).toMatchObject({ code: 'EDGEWARD_BUNDLE_REJECTED', reason: 'unknown_digest' });
    expect(await health()).toBe(embedded);
  });

  it('turns a condition that fails at run time into a deny recorded in the audit row', async () => {
    const conditional = {
      ...frozen,
      rules: [
        {
          id: 'gold-readers',
          match: { connections: ['arm'], operations: ['*/read'] },
          when: 'request.query.tier == "gold"',
          effect: 'allow',
        },
      ],
    };
    const { bundle } = await signedBundle(conditional, await importKey(DEV_PRIVATE_KEY_PEM));
    expect((await activate(admin, bundle)).status).toBe(201);
    const reader = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const gold = await gateway('/arm/subscriptions?api-version=2022-12-01&tier=gold', { token: reader });
    expect(gold.status).toBe(200);
    const broken = await gateway('/arm/subscriptions?api-version=2022-12-01', { token: reader });
    expect(broken.status).toBe(403);
    expect(await broken.json()).toMatchObject({ code: 'EDGEWARD_POLICY_DENIED' });
    const row = await auditRow(broken.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'deny', status: 403 });
    expect(String(row?.detail)).toMatch(/condition errors: gold-readers: .*tier/);
    const rollback = await gateway('/_gateway/policy/rollback', {
      method: 'POST',
      token: admin,
      body: JSON.stringify({ digest: embedded }),
    });
    expect(rollback.status).toBe(200);
  });

  it('makes an isolate follow activations recorded by others, and ignore ones that do not verify', async () => {
    const isolate = await loadGateway(env);
    const { digest } = await signedBundle(frozen, await importKey(DEV_PRIVATE_KEY_PEM));
    const record = (target: string) =>
      env.AUDIT_DB.prepare(
        "INSERT INTO policy_activations (digest, action, previous_digest, activated_at, activated_by, request_id) VALUES (?, 'activate', NULL, '2026-01-01T00:00:00Z', 'test', 'test')",
      )
        .bind(target)
        .run();

    await record(digest); // stored (and verified) by the previous test
    await refreshActivePolicy(isolate, env, Date.now(), true);
    expect(isolate.policy.digest).toBe(digest);

    await env.AUDIT_DB.prepare(
      "UPDATE policy_bundles SET bundle = replace(bundle, 'Change freeze.', 'Open.') WHERE digest = ?",
    )
      .bind(digest)
      .run();
    await record(embedded);
    await refreshActivePolicy(isolate, env, Date.now(), true);
    expect(isolate.policy.digest).toBe(embedded);
    await record(digest); // its stored bundle no longer verifies: the isolate keeps what it has
    await refreshActivePolicy(isolate, env, Date.now(), true);
    expect(isolate.policy.digest).toBe(embedded);
    await record(embedded);
  });
});
