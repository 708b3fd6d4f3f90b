// Proxy benchmark (`npm run bench -- proxy`): Edgeward's full pipeline (token verification,
// policy, audit row in D1, streaming response) against a bare pass-through Worker, both under
// `wrangler dev` (the same workerd runtime) in front of the same local upstream (the demo ARM),
// loaded by autocannon in a separate process. Prints requests/s and median/p99 latency, and the
// ratios the issue targets (≥ 80% of bare throughput, ≤ 1 ms added median). Never asserts: the
// figures depend on the machine (run it on an idle one: `uptime` is printed with the figures).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startBareWorker, startStack } from '../scripts/dev-stack/stack.mjs';

const DURATION = Number(process.env.BENCH_SECONDS ?? '10');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? '10');
const AUTOCANNON = join(ROOT, 'node_modules', '.bin', 'autocannon');

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
const bare = await startBareWorker(stack.arm.url);
try {
  const token = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'], expiresIn: 7200 });
  const path = '/arm/subscriptions?api-version=2022-12-01';
  const runs = {
    bare: () => load(`${bare.url}${path}`, {}, DURATION),
    edgeward: () => load(`${stack.gatewayUrl}${path}`, { authorization: `Bearer ${token}` }, DURATION),
  };
  // Warm both (JIT, key cache, D1), then measure each twice, interleaved, and keep the better run.
  await load(`${bare.url}${path}`, {}, 2);
  await load(`${stack.gatewayUrl}${path}`, { authorization: `Bearer ${token}` }, 2);
  const best = {};
  for (let round = 0; round < 2; round++) {
    for (const [name, run] of Object.entries(runs)) {
      const result = await run();
      if (result.non2xx > 0 || result.errors > 0)
        console.log(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      if (!best[name] || result.requests.average > best[name].requests.average) best[name] = result;
    }
  }
  const row = (name) => ({
    'req/s': Math.round(best[name].requests.average),
    'median ms': best[name].latency.p50,
    'p99 ms': best[name].latency.p99,
  });
  console.log(`GET ${path} — ${CONNECTIONS} connections, ${DURATION} s per run, best of 2`);
  console.log(
    `load average during the run: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
  );
  for (const name of ['bare', 'edgeward']) {
    const r = row(name);
    console.log(
      `${name.padEnd(9)} ${String(r['req/s']).padStart(7)} req/s   median ${r['median ms']} ms   p99 ${r['p99 ms']} ms`,
    );
  }
  const ratio = best.edgeward.requests.average / best.bare.requests.average;
  console.log(`throughput: ${(ratio * 100).toFixed(1)}% of bare (target ≥ 80%)`);
  console.log(`added median: ${(best.edgeward.latency.p50 - best.bare.latency.p50).toFixed(2)} ms (target ≤ 1 ms)`);
  console.log(`added p99: ${(best.edgeward.latency.p99 - best.bare.latency.p99).toFixed(2)} ms`);
} finally {
  await bare.stop();
  await stack.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
