// Proxy benchmark (`npm run bench -- proxy`): Edgeward's full pipeline (token verification,
// policy, audit row in D1, streaming response) against a bare pass-through Worker, both under
// `wrangler dev` (the same workerd runtime) in front of the same local upstream (the demo ARM),
// loaded by autocannon in a separate process.
//
// Two measurements, because they answer different questions:
// - throughput: BENCH_CONNECTIONS (10) concurrent connections saturate the machine; requests/s
//   is then the inverse of the CPU each request costs across every process on it;
// - added latency: one connection (no queueing), so median/p99 are the time one request takes —
//   at saturation the median is only connections ÷ throughput and says nothing more.
// Edgeward runs twice: as configured by default (one JSON log line per request) and with
// REQUEST_LOG=off, because under `wrangler dev` every console.log travels over the inspector
// protocol to the wrangler process — a development-only cost the comparison should show apart.
// Never asserts: the figures depend on the machine (`uptime` is printed with them).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startBareWorker, startStack } from '../scripts/dev-stack/stack.mjs';

const DURATION = Number(process.env.BENCH_SECONDS ?? '10');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? '10');
const ROUNDS = 2;
/** Latency: this many short sequential runs per target, interleaved, samples pooled. */
const LATENCY_ROUNDS = 6;
const LATENCY_SECONDS = 2;
const AUTOCANNON = join(ROOT, 'node_modules', '.bin', 'autocannon');

/**
 * One keep-alive connection, one request at a time, for `seconds`: per-request latencies (ms)
 * measured here with sub-millisecond resolution (autocannon's histogram has whole milliseconds).
 */
async function sequential(url, headers, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const started = performance.now();
    const status = await new Promise((resolve, reject) => {
      const req = request(url, { agent, headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });
    times.push(performance.now() - started);
    if (status !== 200) failures++;
  }
  agent.destroy();
  return { times, failures };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

function load(url, headers, seconds) {
  return new Promise((resolve, reject) => {
    const args = ['-j', '-c', String(CONNECTIONS), '-d', String(seconds)];
    for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
    const child = spawn(AUTOCANNON, [...args, url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out));
      } catch (error) {
        reject(new Error(`autocannon output unreadable: ${error}`));
      }
    });
  });
}

const persistTo = mkdtempSync(join(tmpdir(), 'edgeward-bench-'));
const stack = await startStack({ persistTo });
const quiet = await startStack({
  persistTo: mkdtempSync(join(tmpdir(), 'edgeward-bench-')),
  vars: { REQUEST_LOG: 'off' },
});
const bare = await startBareWorker(stack.arm.url);
try {
  const token = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'], expiresIn: 7200 });
  const quietToken = await quiet.entra.mint({ user: 'alice@contoso.com', groups: ['readers'], expiresIn: 7200 });
  const path = '/arm/subscriptions?api-version=2022-12-01';
  const targets = {
    bare: [`${bare.url}${path}`, {}],
    edgeward: [`${stack.gatewayUrl}${path}`, { authorization: `Bearer ${token}` }],
    'edgeward, REQUEST_LOG=off': [`${quiet.gatewayUrl}${path}`, { authorization: `Bearer ${quietToken}` }],
  };
  // Warm each (JIT, key cache, D1). Throughput: ROUNDS saturated runs per target, interleaved,
  // keeping the best. Latency: LATENCY_ROUNDS short sequential runs per target, interleaved so
  // that drift on a noisy machine hits every target alike, with all samples pooled.
  for (const [url, headers] of Object.values(targets)) await load(url, headers, 2);
  const best = {};
  const samples = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, [url, headers]] of Object.entries(targets)) {
      const saturated = await load(url, headers, DURATION);
      if (saturated.non2xx > 0 || saturated.errors > 0)
        console.log(`${name}: ${saturated.non2xx} non-2xx, ${saturated.errors} errors`);
      if (!best[name] || saturated.requests.average > best[name].requests.average) best[name] = saturated;
    }
  }
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    for (const [name, [url, headers]] of Object.entries(targets)) {
      const single = await sequential(url, headers, LATENCY_SECONDS);
      if (single.failures > 0) console.log(`${name}: ${single.failures} sequential requests failed`);
      samples[name].push(...single.times);
    }
  }
  const latency = Object.fromEntries(
    Object.entries(samples).map(([name, times]) => {
      const sorted = times.sort((a, b) => a - b);
      return [name, { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), count: sorted.length }];
    }),
  );
  console.log(
    `GET ${path} — throughput: best of ${ROUNDS} × ${DURATION} s; latency: ${LATENCY_ROUNDS} × ${LATENCY_SECONDS} s interleaved, pooled`,
  );
  console.log(
    `load average during the run: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
  );
  const base = { t: best.bare, l: latency.bare };
  const fmt = (n) => n.toFixed(2).padStart(6);
  console.log(`${''.padEnd(26)} ${CONNECTIONS} connections        1 connection`);
  console.log(`${''.padEnd(26)} req/s  of bare     median    p99   added median  added p99`);
  for (const name of Object.keys(targets)) {
    const t = best[name];
    const l = latency[name];
    console.log(
      `${name.padEnd(26)} ${String(Math.round(t.requests.average)).padStart(5)}  ${((t.requests.average / base.t.requests.average) * 100).toFixed(1).padStart(5)}%  ` +
        `${fmt(l.p50)} ${fmt(l.p99)}   ${fmt(l.p50 - base.l.p50)}   ${fmt(l.p99 - base.l.p99)}  ms`,
    );
  }
  console.log('targets: ≥ 80% of bare throughput, ≤ 1 ms added median latency');
} finally {
  await bare.stop();
  await stack.stop();
  await quiet.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
