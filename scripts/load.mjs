// `npm run load`: the gateway under load and faults, on loopback only, bounded, stopping by itself.
//
// 1. Starts the real gateway (`wrangler dev`, local D1 + Durable Object), the mock Entra authority
//    and the demo ARM upstream, plus a bare pass-through Worker on the same runtime and upstream.
// 2. Baseline: the same read workload against the bare Worker and the gateway, side by side.
// 3. Mixed workload (default 10,000 requests at concurrency 50: reads, writes, denials, masked
//    listKeys, unauthenticated calls) from a second process, with the Entra authority taken down
//    in the middle (a warm key cache must keep serving), plus a few approvals end to end.
// 3b. A signed policy bundle is activated in the middle of the mixed workload.
// 4. Faults: upstream failing, upstream cutting a masked body mid-stream, upstream slow, D1
//    refusing audit writes for a while (mutations refused, reads' rows buffered then drained), and a
//    cold gateway with Entra down (must refuse with 503, never accept).
// 5. Checks: every request the gateway answered has exactly one final audit row whose status
//    matches what the client saw; no 5xx except where injected; no secret in any response.
// Results go to bench/results/load-latest.json; `node scripts/load/chart.mjs` draws the chart.
// Options: LOAD_TOTAL (10000), LOAD_CONCURRENCY (50), LOAD_BASELINE (3000).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startBareWorker, startStack } from './dev-stack/stack.mjs';

const TOTAL = Number(process.env.LOAD_TOTAL ?? 10_000);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 50);
const BASELINE = Number(process.env.LOAD_BASELINE ?? 3000);
const SUB = '00000000-0000-4000-8000-00000000a2b1';
const LIST_KEYS = `/arm/subscriptions/${SUB}/resourceGroups/demo-rg/providers/Microsoft.Storage/storageAccounts/demo/listKeys?api-version=2023-05-01`;
const work = mkdtempSync(join(tmpdir(), 'edgeward-load-'));
const failures = [];
const check = (ok, message) => {
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${message}`);
  if (!ok) failures.push(message);
};

const stack = await startStack({ persistTo: join(work, 'state') });
const bare = await startBareWorker(stack.arm.url);
let cold;
try {
  const tokens = {
    reader: await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] }),
    writer: await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers', 'writers'] }),
    agent: await stack.entra.mint({ appOnly: true, app: 'agent' }),
    approver: await stack.entra.mint({ user: 'bob@contoso.com', groups: ['approvers'] }),
  };
  const secrets = [...stack.arm.storageKeys, ...stack.arm.storageKeys.map((k) => k.slice(0, 20))];

  // 2. Baseline, side by side.
  const readMix = (token) => [
    { name: 'read', weight: 1, method: 'GET', path: '/arm/subscriptions?api-version=2022-12-01', token },
  ];
  await drive('warmup-bare', bare.url, readMix(), 200, 10, secrets);
  await drive('warmup-gateway', stack.gatewayUrl, readMix(tokens.reader), 200, 10, secrets);
  const bareRun = await drive('baseline-bare', bare.url, readMix(), BASELINE, CONCURRENCY, secrets);
  const gatewayRun = await drive(
    'baseline-gateway',
    stack.gatewayUrl,
    readMix(tokens.reader),
    BASELINE,
    CONCURRENCY,
    secrets,
  );
  console.log('\nread workload, same runtime, same upstream:');
  table([
    ['bare pass-through Worker', bareRun.summary],
    ['Edgeward (auth+policy+audit)', gatewayRun.summary],
  ]);

  // A policy activation mid-load: the starter policy plus one inert rule, compiled, signed with the
  // development bundle key (test/fixtures/policy-dev-signing-key.pem) and activated while the
  // mixed workload runs. Every row must name either the old or the new digest — never anything else.
  const before = (await (await fetch(`${stack.gatewayUrl}/_gateway/health`)).json()).policy.digest;
  const bundleFile = join(work, 'bundle.json');
  writeFileSync(
    join(work, 'policy.yaml'),
    `${readFileSync(join(ROOT, 'policies/default.yaml'), 'utf8')}
  - id: load-test-inert-rule
    description: Matches nothing real; only changes the bundle digest.
    match:
      connections: [arm]
      methods: [OPTIONS]
    principals:
      apps: [00000000-0000-4000-8000-0000000000fe]
    effect: deny
`,
  );
  for (const args of [
    ['compile', join(work, 'policy.yaml'), '--out', bundleFile],
    ['sign', '--bundle', bundleFile, '--key', join(ROOT, 'test/fixtures/policy-dev-signing-key.pem')],
  ]) {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts/policy.mjs'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`policy ${args[0]} failed: ${run.stderr}`);
  }
  const signedBundle = readFileSync(bundleFile, 'utf8');
  const after = JSON.parse(signedBundle).digest;
  const admin = await stack.entra.mint({ user: 'carol@contoso.com', groups: ['auditors'] });
  let activation;

  // 3. Mixed workload with Entra taken down in the middle.
  const mix = [
    {
      name: 'read',
      weight: 5,
      method: 'GET',
      path: '/arm/subscriptions?api-version=2022-12-01',
      token: tokens.reader,
      expect: [200],
    },
    {
      name: 'list-rg',
      weight: 2,
      method: 'GET',
      path: `/arm/subscriptions/${SUB}/resourcegroups?api-version=2021-04-01`,
      token: tokens.reader,
      expect: [200],
    },
    { name: 'masked-listkeys', weight: 2, method: 'POST', path: LIST_KEYS, token: tokens.writer, expect: [200] },
    {
      name: 'write',
      weight: 2,
      method: 'PUT',
      path: `/arm/subscriptions/${SUB}/resourceGroups/load-{i50}?api-version=2021-04-01`,
      token: tokens.writer,
      headers: { 'content-type': 'application/json' },
      body: '{"location":"westeurope"}',
      expect: [201, 200],
    },
    {
      name: 'denied-reader-write',
      weight: 1,
      method: 'PUT',
      path: `/arm/subscriptions/${SUB}/resourceGroups/x-{i}?api-version=2021-04-01`,
      token: tokens.reader,
      body: '{}',
      expect: [403],
    },
    {
      name: 'denied-agent-write',
      weight: 1,
      method: 'PUT',
      path: `/arm/subscriptions/${SUB}/resourceGroups/y-{i}?api-version=2021-04-01`,
      token: tokens.agent,
      body: '{}',
      expect: [403],
    },
    { name: 'unauthenticated', weight: 1, method: 'GET', path: '/arm/subscriptions', expect: [401] },
  ];
  const outage = setTimeout(() => stack.entra.setAvailable(false), 1500);
  const restore = setTimeout(() => stack.entra.setAvailable(true), 6000);
  const activate = setTimeout(async () => {
    activation = await call(stack.gatewayUrl, 'POST', '/_gateway/policy/bundles', admin, signedBundle, {
      'content-type': 'application/json',
    });
  }, 3000);
  const mixed = await drive('mixed', stack.gatewayUrl, mix, TOTAL, CONCURRENCY, secrets);
  clearTimeout(outage);
  clearTimeout(restore);
  clearTimeout(activate);
  stack.entra.setAvailable(true);
  console.log('\nmixed workload (Entra unavailable from 1.5 s to 6 s):');
  table([['Edgeward mixed', mixed.summary]]);
  const unexpected = mixed.rows.filter((r) => !mix.find((m) => m.name === r.kind)?.expect.includes(r.status));
  check(
    unexpected.length === 0,
    `mixed: every response had its expected status (${unexpected.length} unexpected${unexpected.length ? `: ${JSON.stringify(unexpected.slice(0, 3))}` : ''})`,
  );
  check(
    mixed.rows.every((r) => r.status < 500),
    'mixed: no gateway 5xx (the warm key cache served through the Entra outage)',
  );

  check(activation?.status === 201, `policy activation mid-load: accepted (${activation?.status} Created)`);
  const digests = stack.d1(
    `SELECT policy_digest AS digest, count(*) AS n FROM audit_events WHERE connection = 'arm' AND policy_digest IS NOT NULL GROUP BY policy_digest`,
  );
  check(
    digests.every((d) => d.digest === before || d.digest === after) && digests.some((d) => d.digest === after),
    `policy activation mid-load: every row names the old or the new bundle (${digests.map((d) => `${d.digest.slice(0, 8)}×${d.n}`).join(', ')})`,
  );

  // A few approvals, end to end.
  const approvalRows = [];
  for (let n = 0; n < 3; n++) {
    const path = `/arm/subscriptions/${SUB}/resourceGroups/approval-${n}?api-version=2021-04-01`;
    approvalRows.push(await call(stack.gatewayUrl, 'PUT', path, tokens.writer, '{"location":"westeurope"}'));
    const first = await call(stack.gatewayUrl, 'DELETE', path, tokens.writer, undefined, { prefer: 'respond-async' });
    approvalRows.push(first);
    const { approvalId } = JSON.parse(first.text);
    const decision = await call(
      stack.gatewayUrl,
      'POST',
      `/_gateway/approvals/${approvalId}/decision`,
      tokens.approver,
      JSON.stringify({ decision: 'approve', reason: 'load test' }),
    );
    approvalRows.push(decision);
    const retry = await call(stack.gatewayUrl, 'DELETE', path, tokens.writer);
    approvalRows.push(retry);
    check(
      first.status === 202 && decision.status === 200 && retry.status === 202 && retry.location,
      `approval ${n}: held (202), approved, then executed once (upstream 202 with Location)`,
    );
  }

  // 4. Faults.
  const faultRows = [];
  stack.arm.setFault({ kind: 'fail' });
  for (let n = 0; n < 5; n++)
    faultRows.push({ ...(await call(stack.gatewayUrl, 'GET', '/arm/subscriptions', tokens.reader)), injected: true });
  stack.arm.setFault({ kind: 'cut' });
  for (let n = 0; n < 5; n++)
    faultRows.push({ ...(await call(stack.gatewayUrl, 'POST', LIST_KEYS, tokens.writer)), injected: true });
  stack.arm.setFault({ kind: 'slow', ms: 1500 });
  faultRows.push({ ...(await call(stack.gatewayUrl, 'GET', '/arm/subscriptions', tokens.reader)), injected: true });
  stack.arm.setFault({ kind: 'none' });
  check(
    faultRows.slice(0, 5).every((r) => r.status === 502 && r.code === 'EDGEWARD_UPSTREAM_UNREACHABLE'),
    'upstream failing: 502 EDGEWARD_UPSTREAM_UNREACHABLE problems',
  );
  check(
    faultRows.slice(5, 10).every((r) => !secrets.some((s) => r.text.includes(s))),
    'upstream cutting a masked body: no byte of the held secret reached the client',
  );
  check(faultRows[10].status === 200, 'upstream slow (1.5 s): the response still arrives');

  // D1 failing for a while: a SQLite trigger in the gateway's own local D1 aborts every audit write
  // of requests sent with OUTAGE_AGENT. Mutations must be refused (503, never sent upstream); reads
  // must still be answered, their rows held in the retry buffer and drained once D1 is back.
  const OUTAGE_AGENT = 'edgeward-load/d1-outage';
  for (const event of ['INSERT', 'UPDATE']) {
    stack.d1(
      `CREATE TRIGGER load_outage_${event.toLowerCase()} BEFORE ${event} ON audit_events WHEN NEW.user_agent = '${OUTAGE_AGENT}' BEGIN SELECT RAISE(ABORT, 'injected D1 outage'); END`,
    );
  }
  const outageHeaders = { 'user-agent': OUTAGE_AGENT };
  const outageRows = await Promise.all([
    ...Array.from({ length: 20 }, () =>
      call(
        stack.gatewayUrl,
        'GET',
        '/arm/subscriptions?api-version=2022-12-01',
        tokens.reader,
        undefined,
        outageHeaders,
      ),
    ),
    ...Array.from({ length: 5 }, (_, n) =>
      call(
        stack.gatewayUrl,
        'PUT',
        `/arm/subscriptions/${SUB}/resourceGroups/d1-outage-${n}?api-version=2021-04-01`,
        tokens.writer,
        '{"location":"westeurope"}',
        outageHeaders,
      ),
    ),
  ]);
  for (const event of ['insert', 'update']) stack.d1(`DROP TRIGGER load_outage_${event}`);
  const outageReads = outageRows.slice(0, 20);
  const outageWrites = outageRows.slice(20);
  check(
    outageReads.every((r) => r.status === 200),
    'D1 outage: reads still answered (200)',
  );
  check(
    outageWrites.every((r) => r.status === 503 && r.code === 'EDGEWARD_AUDIT_UNAVAILABLE') &&
      !stack.arm.received.some((r) => r.method === 'PUT' && r.path.includes('/d1-outage-')),
    'D1 outage: mutations refused with 503 EDGEWARD_AUDIT_UNAVAILABLE and never sent upstream',
  );
  const outageIds = outageRows.map((r) => r.requestId).filter(Boolean);
  let drained = [];
  for (let attempt = 0; attempt < 45; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    drained = stack.d1(
      `SELECT request_id FROM audit_events WHERE request_id IN (${outageIds.map((id) => `'${id.replace(/[^0-9a-f-]/g, '')}'`).join(',')})`,
    );
    if (drained.length === outageIds.length) break;
  }
  check(
    drained.length === outageIds.length,
    `D1 outage: the retry buffer drained every held row after recovery (${drained.length}/${outageIds.length})`,
  );

  // Cold gateway with Entra down: refuses with 503, never accepts.
  stack.entra.setAvailable(false);
  cold = await startStack({
    persistTo: join(work, 'cold'),
    vars: { ENTRA_AUTHORITY: stack.entra.url, UPSTREAM_ARM: stack.arm.url },
  });
  const coldCall = await call(cold.gatewayUrl, 'GET', '/arm/subscriptions', tokens.reader);
  check(
    coldCall.status === 503 && coldCall.code === 'EDGEWARD_KEYS_UNAVAILABLE',
    `cold start with Entra down: ${coldCall.status} ${coldCall.code}`,
  );
  stack.entra.setAvailable(true);

  // 5. Every request has exactly one final audit row with the status the client saw.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const answered = [...gatewayRun.rows, ...mixed.rows, ...approvalRows, ...faultRows, ...outageRows].filter(
    (r) => r.requestId,
  );
  const dbRows = stack.d1('SELECT request_id, status, phase, outcome FROM audit_events');
  const byId = new Map(dbRows.map((row) => [row.request_id, row]));
  const missing = answered.filter((r) => !byId.has(r.requestId));
  const mismatched = answered.filter(
    (r) => byId.has(r.requestId) && byId.get(r.requestId).status !== r.status && r.status !== 0,
  );
  const notFinal = dbRows.filter((row) => row.phase !== 'final');
  check(
    missing.length === 0,
    `audit: every answered request has a row (${answered.length} requests, ${missing.length} missing)`,
  );
  check(dbRows.length === byId.size, `audit: no duplicate rows (${dbRows.length} rows)`);
  check(
    mismatched.length === 0,
    `audit: row status equals what the client saw (${mismatched.length} mismatched${mismatched.length ? `: ${JSON.stringify(mismatched.slice(0, 3))}` : ''})`,
  );
  check(notFinal.length === 0, `audit: every row is final (${notFinal.length} still intent)`);
  check(
    [...gatewayRun.rows, ...mixed.rows].every((r) => !r.leaked),
    'masking: no storage key (or its first 20 characters) in any response',
  );

  const results = {
    date: new Date().toISOString(),
    machine: { cores: (await import('node:os')).cpus().length, node: process.version },
    settings: { total: TOTAL, concurrency: CONCURRENCY, baseline: BASELINE },
    baseline: { bare: bareRun.summary, gateway: gatewayRun.summary },
    mixed: mixed.summary,
    failures,
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'load-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    `\nthroughput ratio gateway/bare: ${(gatewayRun.summary.rps / bareRun.summary.rps).toFixed(2)}; added median ${(gatewayRun.summary.p50 - bareRun.summary.p50).toFixed(2)} ms`,
  );
  console.log(
    `results: bench/results/load-latest.json; ${failures.length ? `${failures.length} check(s) FAILED` : 'all checks passed'}`,
  );
} finally {
  await cold?.stop();
  await bare.stop();
  await stack.stop();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failures.length ? 1 : 0);

async function call(base, method, path, token, body, headers = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body,
  });
  let text = '';
  try {
    text = await response.text();
  } catch {
    text = '(body cut)';
  }
  let code;
  try {
    code = JSON.parse(text).code;
  } catch {}
  return {
    status: response.status,
    requestId: response.headers.get('x-edgeward-request-id'),
    text,
    code,
    location: response.headers.get('location'),
  };
}

async function drive(name, baseUrl, mix, total, concurrency, secrets) {
  const planFile = join(work, `${name}.plan.json`);
  const outFile = join(work, `${name}.ndjson`);
  writeFileSync(planFile, JSON.stringify({ baseUrl, mix, total, concurrency, secrets }));
  const child = spawn(process.execPath, [join(ROOT, 'scripts/load/driver.mjs'), planFile, outFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const rows = readFileSync(outFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  return { summary: JSON.parse(stdout), rows };
}

function table(entries) {
  console.log(
    `${'target'.padEnd(32)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p90 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`,
  );
  for (const [label, s] of entries) {
    console.log(
      `${label.padEnd(32)} ${s.rps.toFixed(0).padStart(8)} ${s.p50.toFixed(2).padStart(8)} ${s.p90.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${String(s.errors).padStart(7)}`,
    );
  }
}
