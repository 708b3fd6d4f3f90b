// The real Azure CLI (Debian's azure-cli) against the real `wrangler dev` gateway, a local mock
// Entra authority and the demo Resource Manager — never the cloud. Isolated AZURE_CONFIG_DIR.
//
// What this proves: `az cloud register` fills the cloud from the gateway's metadata document
// (authority and token audience = the gateway's App ID URI); `az rest` list / create / listKeys
// (masked) / long-running delete with polling through the rewritten Location / a denied call.
// What it cannot: `az login` — the CLI's MSAL accepts only an https authority and the mock is
// http, so the tests pass a minted token with `--skip-authorization-header --headers`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from '../../scripts/dev-stack/stack.mjs';
import { installed, run } from './az-kubectl-run.ts';

const SUB = '00000000-0000-4000-8000-00000000a2b1';
const hasAz = installed('az');
let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;
let azEnv: Record<string, string>;

beforeAll(async () => {
  if (!hasAz) return;
  dir = mkdtempSync(join(tmpdir(), 'edgeward-az-'));
  azEnv = {
    AZURE_CONFIG_DIR: join(dir, 'azure'),
    AZURE_CORE_COLLECT_TELEMETRY: 'false',
    AZURE_CORE_ONLY_SHOW_ERRORS: 'true',
    AZURE_CORE_NO_COLOR: 'true',
  };
  stack = await startStack({ persistTo: join(dir, 'state') });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

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
      const listed = await fetch(`${stack.gatewayUrl}/_gateway/approvals?status=pending`, {
        headers: { authorization: `Bearer ${approver}` },
      });
      const { approvals } = (await listed.json()) as { approvals: { approvalId: string; method: string }[] };
      approvalId = approvals.find((a) => a.method === 'DELETE')?.approvalId ?? '';
    }
    expect(approvalId).not.toBe('');
    const decision = await fetch(`${stack.gatewayUrl}/_gateway/approvals/${approvalId}/decision`, {
      method: 'POST',
      headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve', reason: 'az e2e' }),
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
