// The load generator, run as its own process so it does not share an event loop with the
// servers it measures. Reads a plan (JSON) from argv[2], fires `total` requests at `concurrency`,
// writes one NDJSON line per request (kind, status, request id, latency, leak check) to
// argv[3], and prints a JSON summary on stdout.
import { createWriteStream, readFileSync } from 'node:fs';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = createWriteStream(process.argv[3]);
const kinds = plan.mix.flatMap((entry) => Array(entry.weight).fill(entry));
const latencies = [];
let next = 0;
let errors = 0;
const statusCounts = {};

async function one(index) {
  const kind = kinds[index % kinds.length];
  const started = performance.now();
  let status = 0;
  let requestId = null;
  let leaked = false;
  try {
    const response = await fetch(
      `${plan.baseUrl}${kind.path.replaceAll('{i50}', String(index % 50)).replaceAll('{i}', String(index))}`,
      {
        method: kind.method,
        headers: { ...(kind.token ? { authorization: `Bearer ${kind.token}` } : {}), ...kind.headers },
        body: kind.body,
      },
    );
    const text = await response.text();
    status = response.status;
    requestId = response.headers.get('x-edgeward-request-id');
    leaked = (plan.secrets ?? []).some((secret) => text.includes(secret));
  } catch (error) {
    errors++;
    status = -1;
    requestId = String(error).slice(0, 100);
  }
  const ms = performance.now() - started;
  latencies.push(ms);
  statusCounts[status] = (statusCounts[status] ?? 0) + 1;
  out.write(`${JSON.stringify({ kind: kind.name, status, requestId, ms: Math.round(ms * 1000) / 1000, leaked })}\n`);
}

async function worker() {
  for (;;) {
    const index = next++;
    if (index >= plan.total) return;
    await one(index);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: plan.concurrency }, worker));
const seconds = (performance.now() - started) / 1000;
await new Promise((resolve) => out.end(resolve));
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))];
console.log(
  JSON.stringify({
    requests: plan.total,
    concurrency: plan.concurrency,
    seconds,
    rps: plan.total / seconds,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: latencies.at(-1),
    errors,
    statusCounts,
  }),
);
