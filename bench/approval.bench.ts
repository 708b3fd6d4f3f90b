/**
 * What the approval gate adds to a request, measured end to end through a real `wrangler dev`
 * (local workerd, local SQLite-backed Durable Object, local D1) started by the dev stack, over
 * loopback HTTP from this Node process. Wall-clock per request; medians and p90 over N runs.
 *
 * - creating an approval: a DELETE that policy holds (Prefer: wait=0, a new approval each time)
 *   vs. a DELETE refused by policy (same auth + policy work, no approval, no upstream);
 * - matching an approved retry: the approved DELETE going upstream (find + consume + proxy) vs. an
 *   allowed PUT going upstream (no approval gate at all: no DO call).
 * Figures are printed, never asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Stack {
  gatewayUrl: string;
  entra: { mint(options: Record<string, unknown>): Promise<string> };
  stop(): Promise<void>;
}
const stackModule = new URL('../scripts/dev-stack/stack.mjs', import.meta.url).href;
const { startStack } = (await import(stackModule)) as { startStack(options: Record<string, unknown>): Promise<Stack> };

const N = Number(process.env.BENCH_N ?? '40');
const SUB = '00000000-0000-4000-8000-00000000a2b1';
const persistTo = mkdtempSync(join(tmpdir(), 'edgeward-bench-approval-'));
const stack = await startStack({ persistTo });

try {
  const alice = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['writers'] });
  const bob = await stack.entra.mint({ user: 'bob@contoso.com', groups: ['approvers'] });
  const agent = await stack.entra.mint({ app: 'agent', appOnly: true });
  const rg = (name: string) =>
    `${stack.gatewayUrl}/arm/subscriptions/${SUB}/resourceGroups/${name}?api-version=2021-04-01`;
  const auth = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

  async function timed(fn: () => Promise<Response>, expected: number): Promise<number> {
    const start = performance.now();
    const response = await fn();
    await response.arrayBuffer();
    const elapsed = performance.now() - start;
    if (response.status !== expected) throw new Error(`expected ${expected}, got ${response.status}`);
    return elapsed;
  }
  const put = (name: string) =>
    fetch(rg(name), {
      method: 'PUT',
      headers: auth(alice, { 'content-type': 'application/json' }),
      body: '{"location":"westeurope"}',
    });

  const samples: Record<string, number[]> = { denied: [], create: [], allowedPut: [], approvedRetry: [] };
  for (let i = -5; i < N; i++) {
    const name = `bench-${i + 5}`;
    const keep = i >= 0; // the first 5 rounds warm up isolates, caches and the JWKS
    const d = await timed(() => fetch(rg(name), { method: 'DELETE', headers: auth(agent) }), 403);
    const p = await timed(() => put(name), 201);
    const c = await timed(() => fetch(rg(name), { method: 'DELETE', headers: auth(alice, { prefer: 'wait=0' }) }), 403);
    const pending = await fetch(rg(name), { method: 'DELETE', headers: auth(alice, { prefer: 'respond-async' }) });
    const { approvalId } = (await pending.json()) as { approvalId: string };
    const decided = await fetch(`${stack.gatewayUrl}/_gateway/approvals/${approvalId}/decision`, {
      method: 'POST',
      headers: auth(bob, { 'content-type': 'application/json' }),
      body: '{"decision":"approve","reason":"benchmark"}',
    });
    if (decided.status !== 200) throw new Error(`approve: ${decided.status}`);
    const r = await timed(() => fetch(rg(name), { method: 'DELETE', headers: auth(alice) }), 202);
    if (keep) {
      samples.denied?.push(d);
      samples.allowedPut?.push(p);
      samples.create?.push(c);
      samples.approvedRetry?.push(r);
    }
  }
  const stat = (values: number[]) => {
    const sorted = [...values].sort((a, z) => a - z);
    return { median: sorted[Math.floor(sorted.length / 2)] ?? 0, p90: sorted[Math.floor(sorted.length * 0.9)] ?? 0 };
  };
  const row = (label: string, values: number[]) => {
    const s = stat(values);
    console.log(
      `${label.padEnd(58)} median ${s.median.toFixed(2).padStart(7)} ms  p90 ${s.p90.toFixed(2).padStart(7)} ms  n=${values.length}`,
    );
    return s;
  };
  console.log(`wrangler dev (local workerd + DO + D1), loopback HTTP, sequential requests, N=${N}`);
  const denied = row('DELETE refused by policy (no approval, no upstream)', samples.denied ?? []);
  const create = row('DELETE held: creates an approval (Prefer: wait=0)', samples.create ?? []);
  const allowed = row('PUT allowed (no approval gate, upstream)', samples.allowedPut ?? []);
  const retry = row('DELETE approved retry (find + consume + upstream)', samples.approvedRetry ?? []);
  console.log(
    `added by creating an approval:      ${(create.median - denied.median).toFixed(2)} ms (median difference)`,
  );
  console.log(
    `added by matching an approved retry: ${(retry.median - allowed.median).toFixed(2)} ms (median difference)`,
  );
} finally {
  await stack.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
