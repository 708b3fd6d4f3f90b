// The real Azure CLI (Debian's azure-cli) against the real `wrangler dev` gateway, a local mock
// Entra authority and the demo Resource Manager — never the cloud. Isolated AZURE_CONFIG_DIR.
//
// What this proves:
// - `az cloud register` fills the cloud from the gateway's metadata document (authority and token
//   audience = the gateway's App ID URI); `az rest` list / create / listKeys (masked) / long-running
//   delete with polling through the rewritten Location / a denied call, with minted tokens passed
//   by `--skip-authorization-header --headers`;
// - `az login` itself, as a user (`-u/-p`: MSAL's user realm discovery, then the password grant)
//   and as a service principal (client secret), then `az group list` / `az group create` with the
//   token az obtained and cached itself, audited under that user or app.
// How `az login` reaches the mock: MSAL accepts only an https authority and, for any host it does
// not know, first asks https://login.microsoftonline.com/common/discovery/instance. So the cloud's
// authority is the real `https://login.microsoftonline.com`, and az runs with HTTPS_PROXY set to a
// loopback CONNECT tunnel that sends only login.microsoftonline.com:443 to the mock's https
// listener and refuses every other host; REQUESTS_CA_BUNDLE is a CA made for this run (openssl),
// so az could not even complete TLS with the real Entra. The gateway is served over https with the
// same certificate (azure-core sends bearer tokens only over TLS) and keeps reading keys from the
// mock's http URL (ENTRA_AUTHORITY). Without openssl the stack is plain http and the login tests
// skip. Not covered: interactive sign-in (browser, device code) and `az login` without --tenant.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectTunnel } from '../../scripts/dev-stack/connect-tunnel.mjs';
import { directory, startStack } from '../../scripts/dev-stack/stack.mjs';
import { createTestCertificate } from '../../scripts/dev-stack/test-certificate.mjs';
import { installed, run } from './az-kubectl-run.ts';

const SUB = '00000000-0000-4000-8000-00000000a2b1';
const ENTRA_HOST = 'login.microsoftonline.com';
const AZURE_CLI_APP_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
const hasAz = installed('az');
const hasOpenssl = installed('openssl');
let stack: Awaited<ReturnType<typeof startStack>>;
let tunnel: Awaited<ReturnType<typeof startConnectTunnel>>;
let tls: ReturnType<typeof createTestCertificate> | undefined;
let dir: string;
let azEnv: Record<string, string>;

beforeAll(async () => {
  if (!hasAz) return;
  dir = mkdtempSync(join(tmpdir(), 'edgeward-az-'));
  if (hasOpenssl) {
    mkdirSync(join(dir, 'tls'));
    tls = createTestCertificate(join(dir, 'tls'), [ENTRA_HOST, '127.0.0.1', 'localhost']);
  }
  stack = await startStack({ persistTo: join(dir, 'state'), ...(tls ? { https: true, tls } : {}) });
  const entraTls = stack.entra.httpsUrl
    ? { host: '127.0.0.1', port: Number(new URL(stack.entra.httpsUrl).port) }
    : null;
  tunnel = await startConnectTunnel({ routes: entraTls ? { [`${ENTRA_HOST}:443`]: entraTls } : {} });
  azEnv = {
    AZURE_CONFIG_DIR: join(dir, 'azure'),
    AZURE_CORE_COLLECT_TELEMETRY: 'false',
    AZURE_CORE_ONLY_SHOW_ERRORS: 'true',
    AZURE_CORE_NO_COLOR: 'true',
    // Every https request az makes goes to the tunnel (which refuses all but the mock authority),
    // except to the gateway on loopback.
    HTTPS_PROXY: tunnel.url,
    https_proxy: tunnel.url,
    HTTP_PROXY: '',
    http_proxy: '',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...(tls ? { REQUESTS_CA_BUNDLE: tls.caFile } : {}),
  };
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await tunnel?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A JSON request to the gateway from this process, trusting this run's CA when it is https. */
function gatewayJson(
  url: string,
  token: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const headers = { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) };
  return new Promise((resolve, reject) => {
    const req = send(url, { method: init.method ?? 'GET', headers, ...(tls ? { ca: tls.ca } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const az = (...args: string[]) => run('az', args, azEnv);
const azRest = (token: string, method: string, url: string, ...extra: string[]) =>
  az(
    'rest',
    '--method',
    method,
    '--url',
    url,
    '--skip-authorization-header',
    '--headers',
    `Authorization=Bearer ${token}`,
    ...extra,
  );

async function finalRow(requestId: string): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const rows = stack.d1(`SELECT * FROM audit_events WHERE request_id = '${requestId.replace(/[^0-9a-f-]/g, '')}'`);
    if (rows[0]?.phase === 'final') return rows[0];
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no final audit row for ${requestId}`);
}

describe.skipIf(!hasAz)('Azure CLI through the gateway', () => {
  it('registers the gateway as a cloud from its metadata endpoints document', async () => {
    const register = await az(
      'cloud',
      'register',
      '-n',
      'edgeward',
      '--endpoint-resource-manager',
      `${stack.gatewayUrl}/arm/`,
    );
    expect(register.code, register.stderr).toBe(0);
    const show = await az('cloud', 'show', '-n', 'edgeward', '-o', 'json');
    expect(show.code, show.stderr).toBe(0);
    const { endpoints } = JSON.parse(show.stdout) as { endpoints: Record<string, string> };
    expect(endpoints).toMatchObject({
      resourceManager: `${stack.gatewayUrl}/arm/`,
      activeDirectory: `${stack.entra.url}/`,
      activeDirectoryResourceId: 'api://edgeward-dev',
    });
  }, 180_000);

  it('lists subscriptions, creates a resource group and masks listKeys', async () => {
    const reader = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] });
    const writer = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['writers'] });
    const list = await azRest(reader, 'get', `${stack.gatewayUrl}/arm/subscriptions?api-version=2022-12-01`);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).value[0].subscriptionId).toBe(SUB);

    const create = await azRest(
      writer,
      'put',
      `${stack.gatewayUrl}/arm/subscriptions/${SUB}/resourceGroups/az-e2e-rg?api-version=2021-04-01`,
      '--body',
      '{"location":"northeurope"}',
    );
    expect(create.code, create.stderr).toBe(0);
    expect(JSON.parse(create.stdout)).toMatchObject({ name: 'az-e2e-rg', location: 'northeurope' });
    expect(stack.arm.groups.has('az-e2e-rg')).toBe(true);

    const keys = await azRest(
      writer,
      'post',
      `${stack.gatewayUrl}/arm/subscriptions/${SUB}/resourceGroups/demo-rg/providers/Microsoft.Storage/storageAccounts/demo/listKeys?api-version=2023-05-01`,
    );
    expect(keys.code, keys.stderr).toBe(0);
    for (const key of stack.arm.storageKeys) expect(keys.stdout).not.toContain(key);
    expect(JSON.parse(keys.stdout).keys.map((k: { value: string }) => k.value)).toEqual(['***', '***']);
  }, 120_000);

  it('runs a long-running delete (after approval) whose polling goes through the gateway', async () => {
    const writer = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['writers'] });
    const reader = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] });
    const approver = await stack.entra.mint({ user: 'bob@contoso.com', groups: ['approvers'] });
    const url = `${stack.gatewayUrl}/arm/subscriptions/${SUB}/resourceGroups/demo-rg?api-version=2021-04-01`;

    // The gateway holds the DELETE open while it waits for approval, so `az` just takes longer:
    // start it, approve from another "person" while it waits, and it completes.
    const waiting = azRest(writer, 'delete', url, '--debug');
    let approvalId = '';
    for (let attempt = 0; attempt < 40 && !approvalId; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const listed = await gatewayJson(`${stack.gatewayUrl}/_gateway/approvals?status=pending`, approver);
      const { approvals } = listed.body as { approvals: { approvalId: string; method: string }[] };
      approvalId = approvals.find((a) => a.method === 'DELETE')?.approvalId ?? '';
    }
    expect(approvalId).not.toBe('');
    const decision = await gatewayJson(`${stack.gatewayUrl}/_gateway/approvals/${approvalId}/decision`, approver, {
      method: 'POST',
      body: { decision: 'approve', reason: 'az e2e' },
    });
    expect(decision.status).toBe(200);

    // --debug makes az print the response headers; Location must point back at the gateway.
    const deleted = await waiting;
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain('Response status: 202');
    const location = /'Location': '([^']+)'/.exec(deleted.stderr)?.[1] ?? '';
    const asyncOperation = /'azure-asyncoperation': '([^']+)'/i.exec(deleted.stderr)?.[1] ?? '';
    expect(location.startsWith(`${stack.gatewayUrl}/arm/subscriptions/${SUB}/operationresults/`)).toBe(true);
    expect(asyncOperation.startsWith(`${stack.gatewayUrl}/arm/subscriptions/${SUB}/providers/`)).toBe(true);
    expect(stack.arm.groups.has('demo-rg')).toBe(false);

    const poll = await azRest(reader, 'get', asyncOperation, '--debug');
    expect(poll.code, poll.stderr).toBe(0);
    expect(JSON.parse(poll.stdout)).toEqual({ status: 'Succeeded' });
    const pollRequestId = /'x-edgeward-request-id': '([^']+)'/i.exec(poll.stderr)?.[1] ?? '';
    const row = await finalRow(pollRequestId);
    expect(row).toMatchObject({ connection: 'arm', method: 'GET', status: 200, subject_upn: 'alice@contoso.com' });
    expect(String(row.path)).toMatch(/^\/subscriptions\/[^/]+\/providers\/Microsoft\.Resources\/operations\//);
    const lro = await azRest(reader, 'get', location);
    expect(lro.code, lro.stderr).toBe(0);
  }, 120_000);

  it('shows a useful error for a call policy denies', async () => {
    const reader = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] });
    const denied = await azRest(
      reader,
      'put',
      `${stack.gatewayUrl}/arm/subscriptions/${SUB}/resourceGroups/not-allowed?api-version=2021-04-01`,
      '--body',
      '{"location":"westeurope"}',
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Forbidden');
    expect(denied.stderr).toContain('EDGEWARD_POLICY_DENIED');
    expect(denied.stderr).toContain('No policy rule allows this request.');
    expect(stack.arm.groups.has('not-allowed')).toBe(false);
  }, 60_000);
});

/** az with its own configuration directory: each sign-in starts from nothing. */
const azIn =
  (configDir: string) =>
  (...args: string[]) =>
    run('az', args, { ...azEnv, AZURE_CONFIG_DIR: join(dir, configDir) });

/** Register and select the gateway as a cloud whose authority is Entra's public one (tunnelled here). */
async function useGatewayCloud(az: ReturnType<typeof azIn>) {
  const register = await az(
    'cloud',
    'register',
    '-n',
    'edgeward',
    '--endpoint-resource-manager',
    `${stack.gatewayUrl}/arm/`,
    '--endpoint-active-directory',
    `https://${ENTRA_HOST}`,
  );
  expect(register.code, register.stderr).toBe(0);
  const select = await az('cloud', 'set', '-n', 'edgeward');
  expect(select.code, select.stderr).toBe(0);
}

const requestIdOf = (debugOutput: string) => /'x-edgeward-request-id': '([^']+)'/i.exec(debugOutput)?.[1] ?? '';
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));

describe.skipIf(!hasAz || !hasOpenssl)('az login against the mock authority, then through the gateway', () => {
  it('signs a user in with az login -u/-p and reads and writes with the token az obtained', async () => {
    const az = azIn('azure-user');
    await useGatewayCloud(az);
    const login = await az(
      'login',
      '-u',
      'alice@contoso.com',
      '-p',
      directory.userPassword,
      '--tenant',
      directory.tenantId,
      '-o',
      'json',
    );
    expect(login.code, login.stderr).toBe(0);
    expect(JSON.parse(login.stdout)).toEqual([
      expect.objectContaining({ id: SUB, user: { name: 'alice@contoso.com', type: 'user' } }),
    ]);
    expect(stack.entra.stats.grants).toContainEqual({
      grant: 'password',
      scope: expect.stringContaining('api://edgeward-dev/.default'),
    });

    // The token az cached: issued by the mock to the Azure CLI for the gateway, naming alice.
    const token = await az('account', 'get-access-token', '-o', 'json');
    expect(token.code, token.stderr).toBe(0);
    expect(claimsOf(JSON.parse(token.stdout).accessToken)).toMatchObject({
      aud: 'api://edgeward-dev',
      iss: `https://sts.windows.net/${directory.tenantId}/`,
      appid: AZURE_CLI_APP_ID,
      upn: 'alice@contoso.com',
      groups: [directory.groups.readers, directory.groups.writers],
    });

    const list = await az('group', 'list', '-o', 'json', '--debug');
    expect(list.code, list.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(list.stdout))).toBe(true);
    expect(await finalRow(requestIdOf(list.stderr))).toMatchObject({
      connection: 'arm',
      method: 'GET',
      status: 200,
      subject_upn: 'alice@contoso.com',
      actor_app_id: AZURE_CLI_APP_ID,
    });

    const create = await az('group', 'create', '-n', 'az-login-rg', '-l', 'northeurope', '-o', 'json');
    expect(create.code, create.stderr).toBe(0);
    expect(stack.arm.groups.has('az-login-rg')).toBe(true);

    const logout = await az('logout');
    expect(logout.code, logout.stderr).toBe(0);
  }, 120_000);

  it('signs a service principal in with az login --service-principal and reads as that app', async () => {
    const app = directory.servicePrincipals['monitor-app'];
    const az = azIn('azure-sp');
    await useGatewayCloud(az);
    const login = await az(
      'login',
      '--service-principal',
      '-u',
      app.appId,
      '-p',
      app.secret,
      '--tenant',
      directory.tenantId,
      '-o',
      'json',
    );
    expect(login.code, login.stderr).toBe(0);
    expect(JSON.parse(login.stdout)).toEqual([
      expect.objectContaining({ id: SUB, user: { name: app.appId, type: 'servicePrincipal' } }),
    ]);
    expect(stack.entra.stats.grants).toContainEqual({
      grant: 'client_credentials',
      scope: 'api://edgeward-dev/.default',
    });

    const list = await az('group', 'list', '-o', 'json', '--debug');
    expect(list.code, list.stderr).toBe(0);
    expect(await finalRow(requestIdOf(list.stderr))).toMatchObject({
      method: 'GET',
      status: 200,
      actor_app_id: app.appId,
      actor_app_only: 1,
    });

    // The app reads (readers group) but the starter policy gives apps without a human no writes.
    const create = await az('group', 'create', '-n', 'az-sp-rg', '-l', 'northeurope');
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain('EDGEWARD_POLICY_DENIED');
    expect(stack.arm.groups.has('az-sp-rg')).toBe(false);
  }, 120_000);

  it('tunnelled az to the mock authority only', () => {
    // Every sign-in above went through the tunnel, to the mock; any other https host az tried
    // (its version check probes https://azure.microsoft.com) was refused there.
    expect(tunnel.tunnels.length).toBeGreaterThan(0);
    expect(new Set(tunnel.tunnels)).toEqual(new Set([`${ENTRA_HOST}:443`]));
  });
});
