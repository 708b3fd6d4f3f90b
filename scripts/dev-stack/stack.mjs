// Start the whole local stack: the mock Entra authority, the demo ARM upstream and the real
// gateway under `wrangler dev` (local D1 with migrations applied first, a local Durable Object).
// Used by `npm run dev`, the end-to-end tests and the load tests. Loopback only.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoArm } from './demo-arm.mjs';
import { startMockEntra } from './mock-entra.mjs';
import { startMockGraph } from './mock-graph.mjs';
import { startMockKubernetes } from './mock-k8s.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const directory = JSON.parse(readFileSync(join(ROOT, 'scripts/dev-stack/directory.json'), 'utf8'));
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');
const WRANGLER_ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: process.env.CI ?? 'true', NO_COLOR: '1' };

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `wrangler dev` on a loopback port (`port`, or a free one) with `args`, in its own process group,
 * waited for until `ready(url)` resolves true (90 s; `wrangler dev` exiting first is an error with
 * its output). Returns { url, output(), stop() }; `stop` ends the whole group (SIGTERM, then
 * SIGKILL after 5 s). Used for the gateway, the bare baseline Worker and the workerd mask bench.
 * @param {{ args?: string[], port?: number, https?: boolean, ready: (url: string) => Promise<boolean>,
 *           log?: (line: string) => void }} options
 */
export async function startWranglerDev({ args = [], port, https = false, ready, log = () => {} }) {
  const listen = port ?? (await freePort());
  const child = spawn(
    WRANGLER,
    ['dev', '--ip', '127.0.0.1', '--port', String(listen), '--inspector-port', String(await freePort()), ...args],
    { cwd: ROOT, env: WRANGLER_ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  const collect = (d) => {
    output += d;
    log(String(d).trimEnd());
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const url = `${https ? 'https' : 'http'}://127.0.0.1:${listen}`;
  const stop = async () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
    await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      if (await ready(url)) return { url, output: () => output, stop };
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not become ready in 90 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Options: { gatewayPort, armPort, entraPort, persistTo, keyFile, vars: {extra wrangler vars},
 *            log: (line) => void, https: serve the gateway over https with wrangler's self-signed
 *            certificate (`--local-protocol https`; kubectl sends bearer tokens only over TLS),
 *            tls: a certificate { key, cert, keyFile, certFile } (PEM, e.g. from test-certificate.mjs)
 *            that the gateway serves instead of wrangler's own (with `https`) and with which the mock
 *            authority also listens over https (`entra.httpsUrl`: the Azure CLI accepts only an https
 *            authority; the gateway keeps fetching keys from the http URL) }.
 * Returns { gatewayUrl, entra, arm, k8s, stop(), d1(sql) }.
 */
export async function startStack(options = {}) {
  const log = options.log ?? (() => {});
  const persistTo = options.persistTo ?? join(ROOT, '.wrangler', 'state');
  mkdirSync(persistTo, { recursive: true });
  const entra = await startMockEntra({
    port: options.entraPort ?? 0,
    keyFile: options.keyFile,
    directory,
    tls: options.tls,
  });
  const arm = await startDemoArm({ port: options.armPort ?? 0, tenantId: directory.tenantId });
  const k8s = await startMockKubernetes({ port: options.k8sPort ?? 0 });
  // Microsoft Graph for the `graph` connection (users, $batch, addPassword): a local mock.
  const graph = await startMockGraph({ port: options.graphPort ?? 0 });

  const migrate = spawnSync(WRANGLER, ['d1', 'migrations', 'apply', 'AUDIT_DB', '--local', '--persist-to', persistTo], {
    cwd: ROOT,
    env: WRANGLER_ENV,
    encoding: 'utf8',
  });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  log('local D1 migrations applied');

  // The gateway app's client secret is a Worker secret in production (`wrangler secret put`);
  // the development stack passes the mock directory's value as a var.
  const vars = {
    ENTRA_AUTHORITY: entra.url,
    UPSTREAM_ARM: arm.url,
    UPSTREAM_AZURE: arm.url,
    UPSTREAM_K8S: k8s.url,
    UPSTREAM_GRAPH: graph.url,
    ENTRA_CLIENT_SECRET: directory.gatewayClientSecret,
    ...options.vars,
  };
  const args = ['--persist-to', persistTo];
  if (options.https) args.push('--local-protocol', 'https');
  if (options.https && options.tls) {
    args.push('--https-key-path', options.tls.keyFile, '--https-cert-path', options.tls.certFile);
  }
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);
  const closeMocks = () => Promise.all([entra.close(), arm.close(), k8s.close(), graph.close()]);
  let gateway;
  try {
    gateway = await startWranglerDev({
      args,
      port: options.gatewayPort,
      https: options.https,
      log,
      ready: (url) => healthy(`${url}/_gateway/health`),
    });
  } catch (error) {
    await closeMocks();
    throw error;
  }
  const gatewayUrl = gateway.url;
  const stop = async () => {
    await gateway.stop();
    await closeMocks();
  };

  /** Run SQL against the same local D1 the gateway uses (JSON results). */
  const d1 = (sql) => {
    const result = spawnSync(
      WRANGLER,
      ['d1', 'execute', 'AUDIT_DB', '--local', '--persist-to', persistTo, '--json', '--command', sql],
      // Load tests read tens of thousands of rows: far more than spawnSync's 1 MiB default buffer.
      { cwd: ROOT, env: WRANGLER_ENV, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
    );
    if (result.status !== 0) throw new Error(`d1 execute failed: ${result.stderr}`);
    return JSON.parse(result.stdout)[0].results;
  };

  return { gatewayUrl, entra, arm, k8s, stop, d1, persistTo };
}

/** GET the health URL; over https, accept wrangler's self-signed development certificate. */
function healthy(url) {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/**
 * The baseline for benchmarks and load tests: a bare pass-through Worker (bench/bare-worker) under
 * `wrangler dev` on the same runtime and upstream as the gateway, with no auth, policy or audit.
 */
export async function startBareWorker(upstream) {
  const bare = await startWranglerDev({
    args: ['--config', join(ROOT, 'bench/bare-worker/wrangler.toml'), '--var', `UPSTREAM:${upstream}`],
    ready: async (url) => (await fetch(`${url}/arm/subscriptions`)).ok,
  });
  const stop = async () => {
    await bare.stop();
    // wrangler bundles next to the config; leave no build output in the tree (Biome would lint it).
    rmSync(join(ROOT, 'bench/bare-worker/.wrangler'), { recursive: true, force: true });
  };
  return { url: bare.url, stop };
}
