// kubectl and curl against the real `wrangler dev` gateway (served over https with wrangler's
// self-signed certificate: client-go sends a bearer token only over TLS), the mock Kubernetes API
// server, the demo Resource Manager and the mock Entra authority. Isolated KUBECONFIG.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from '../../scripts/dev-stack/stack.mjs';
import { installed, run } from './az-kubectl-run.ts';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const hasKubectl = installed(KUBECTL);
const hasCurl = installed('curl');
let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  if (!hasKubectl && !hasCurl) return;
  dir = mkdtempSync(join(tmpdir(), 'edgeward-kubectl-'));
  stack = await startStack({ persistTo: join(dir, 'state'), https: true });
  const token = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] });
  const writerToken = await stack.entra.mint({ user: 'bob@contoso.com', groups: ['readers', 'writers'] });
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
- name: edgeward
  cluster:
    server: ${stack.gatewayUrl}/k8s
    insecure-skip-tls-verify: true
contexts:
- name: edgeward
  context: {cluster: edgeward, user: alice, namespace: default}
current-context: edgeward
users:
- name: alice
  user:
    token: ${token}
- name: bob
  user:
    token: ${writerToken}
`,
    { mode: 0o600 },
  );
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const kubectl = (...args: string[]) => run(KUBECTL, args, { KUBECONFIG: kubeconfig, HOME: dir });
const latestExecRow = async () =>
  (await stack.d1("SELECT * FROM audit_events WHERE path LIKE '%/exec' ORDER BY started_at DESC LIMIT 1"))[0] as
    | Record<string, unknown>
    | undefined;

describe.skipIf(!hasKubectl)('kubectl through the gateway', () => {
  it('gets pods', async () => {
    const pods = await kubectl('get', 'pods', '-o', 'name');
    expect(pods.code, pods.stderr).toBe(0);
    expect(pods.stdout.trim().split('\n')).toEqual(['pod/web-0', 'pod/web-1']);
    expect(stack.k8s.received.at(-1)?.headers.authorization).toBeUndefined();
  });

  it('gets secrets as JSON with their data masked by policy', async () => {
    const secrets = await kubectl('get', 'secrets', '-o', 'json');
    expect(secrets.code, secrets.stderr).toBe(0);
    expect(secrets.stdout).not.toContain(stack.k8s.secretValue);
    const list = JSON.parse(secrets.stdout) as { items: { metadata: { name: string }; data: unknown }[] };
    expect(list.items.map((item) => [item.metadata.name, item.data])).toEqual([['db-credentials', '***']]);
  });

  it('refuses a delete and kubectl shows the policy message', async () => {
    const denied = await kubectl('delete', 'pod', 'web-0');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Error from server (Forbidden)');
    expect(denied.stderr).toContain('Deleting Kubernetes objects through Edgeward is not allowed');
    expect(stack.k8s.pods.has('web-0')).toBe(true);
  });

  it('runs kubectl exec over WebSocket for a writer, and audits the session', async () => {
    const sessions = stack.k8s.execSessions.length;
    const exec = await kubectl('--user', 'bob', 'exec', 'web-0', '--', 'echo', 'hello', 'through', 'edgeward');
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout).toBe('hello through edgeward\n');
    const session = stack.k8s.execSessions.at(sessions);
    expect(session?.protocol).toMatch(/^v[45]\.channel\.k8s\.io$/);
    expect(session?.headers.authorization).toBeUndefined();
    const row = await latestExecRow();
    expect(row).toMatchObject({
      phase: 'final',
      status: 101,
      outcome: 'completed',
      decision: 'allow',
      operation: 'k8s:create pods/exec',
      subject_upn: 'bob@contoso.com',
    });
    expect(String(row?.detail)).toMatch(/^websocket closed by upstream/);
    expect(Number(row?.bytes_out)).toBeGreaterThan(0);
  });

  it('refuses kubectl exec to a reader (a WebSocket exec is a GET, but it is create pods/exec)', async () => {
    const sessions = stack.k8s.execSessions.length;
    const exec = await kubectl('exec', 'web-0', '--', 'echo', 'nope');
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toMatch(/forbidden|Forbidden/);
    expect(stack.k8s.execSessions.length).toBe(sessions);
    expect(await latestExecRow()).toMatchObject({ decision: 'deny', status: 403, subject_upn: 'alice@contoso.com' });
  });

  it('streams a watch: an event emitted upstream reaches kubectl through the gateway', async () => {
    const child = spawn(KUBECTL, ['get', 'pods', '--watch', '-o', 'name'], {
      env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let emitted = false;
    const seen = await new Promise<boolean>((resolve) => {
      child.stdout.on('data', (d) => {
        output += d;
        if (!emitted && output.includes('pod/web-1')) {
          emitted = true;
          // Wait until the watch request itself is open upstream, then push an event into it.
          const push = () => (stack.k8s.watchers > 0 ? stack.k8s.emitPod('ADDED', 'web-2') : setTimeout(push, 50));
          push();
        }
        if (output.includes('pod/web-2')) resolve(true);
      });
      child.on('close', () => resolve(false));
    });
    child.kill();
    expect(seen, output).toBe(true);
  });
});

describe.skipIf(!hasCurl)('curl through the gateway', () => {
  const curl = (...args: string[]) => run('curl', ['-sk', ...args]);

  it('reaches Resource Manager on behalf of the user (OBO): the upstream sees the human via the gateway app', async () => {
    const token = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] });
    const result = await curl(
      '-D',
      '-',
      '-H',
      `authorization: Bearer ${token}`,
      `${stack.gatewayUrl}/azure/subscriptions?api-version=2022-12-01`,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(result.stdout).toContain(
      'x-demo-caller: aud=https://management.azure.com oid=bbbbbbbb-0000-4000-8000-00000000a11c appid=22222222-2222-4222-8222-222222222222',
    );
    expect(stack.entra.stats.grants.at(-1)).toEqual({
      grant: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      scope: 'https://management.azure.com/.default',
    });
  });

  it('follows a nextLink rewritten to the gateway', async () => {
    stack.arm.groups.set('second-rg', { location: 'westeurope' });
    const token = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] });
    const first = await curl(
      '-H',
      `authorization: Bearer ${token}`,
      `${stack.gatewayUrl}/arm/subscriptions/00000000-0000-4000-8000-00000000a2b1/resourcegroups?api-version=2021-04-01&$top=1`,
    );
    const page = JSON.parse(first.stdout) as { nextLink: string; value: { name: string }[] };
    expect(page.nextLink.startsWith(`${stack.gatewayUrl}/arm/`)).toBe(true);
    const second = await curl('-H', `authorization: Bearer ${token}`, page.nextLink);
    expect((JSON.parse(second.stdout) as { value: { name: string }[] }).value.map((g) => g.name)).toEqual([
      'second-rg',
    ]);
  });

  it('serves the metadata document without a token', async () => {
    const result = await curl(`${stack.gatewayUrl}/arm/metadata/endpoints?api-version=2015-01-01`);
    expect(JSON.parse(result.stdout).authentication.audiences).toEqual([
      'api://edgeward-dev',
      '22222222-2222-4222-8222-222222222222',
    ]);
  });
});
