// Policy evaluation and compile time for a generated 1,000-rule bundle with CEL conditions.
// Targets (issue 4): evaluation median ≤ 5 µs and p99 ≤ 20 µs, compile ≤ 1 s. Printed, never asserted.
import type { Principal } from '../src/auth/principal.ts';
import { compilePolicy } from '../src/policy/compile.ts';
import { evaluatePolicy, type PolicyRequest } from '../src/policy/evaluate.ts';
import { measure, report } from './harness.ts';

const PROVIDERS = Array.from({ length: 40 }, (_, i) => `Microsoft.Service${i}`).concat([
  'Microsoft.Storage',
  'Microsoft.Compute',
  'Microsoft.Web',
  'Microsoft.KeyVault',
  'Microsoft.Authorization',
]);
const TYPES = ['widgets', 'gadgets', 'storageAccounts', 'sites', 'vaults'];
const VERBS = ['read', 'write', 'delete', 'listKeys/action'];

function generatePolicy(count: number): string {
  const lines = [
    'version: 1',
    'connections:',
    '  - { name: arm, kind: azure_resource_manager, upstream: "https://management.azure.com" }',
    '  - { name: k8s, kind: kubernetes, upstream: "https://aks.example" }',
    'rules:',
  ];
  for (let i = 0; i < count; i++) {
    const provider = PROVIDERS[i % PROVIDERS.length];
    const type = TYPES[i % TYPES.length];
    const verb = VERBS[(i >> 2) % VERBS.length];
    const group = `group-${i % 25}`;
    const effect = i % 11 === 0 ? 'deny' : i % 7 === 0 ? 'require_approval' : 'allow';
    const extra =
      effect === 'require_approval'
        ? '\n    approval: { groups: [approvers] }'
        : effect === 'deny'
          ? '\n    message: no'
          : '';
    const when =
      i % 3 === 0
        ? `\n    when: 'resource.resource_group.startsWith("rg-") && request.method != "PATCH" && now.getHours() >= 0'`
        : '';
    const mask = i % 13 === 0 ? '\n    mask: { keys: [value, "*Key"] }' : '';
    if (i % 50 === 0) {
      lines.push(`  - id: k8s-${i}
    match: { connections: [k8s], kubernetes: { verbs: [get, list], resources: [pods], namespaces: [ns-${i}] } }
    principals: { groups: [${group}] }
    effect: allow`);
    } else {
      lines.push(`  - id: rule-${i}
    match: { connections: [arm], operations: ["${provider}/${type}/${verb}"], resource_groups: ["rg-*"] }
    principals: { groups: [${group}] }${when}
    effect: ${effect}${extra}${mask}`);
    }
  }
  // A few broad rules that every ARM request must examine (wildcard bucket).
  lines.push(`  - id: broad-reads
    match: { connections: [arm], operations: ["*/read"] }
    principals: { groups: [readers] }
    when: '"readers" in principal.groups'
    effect: allow
  - id: broad-no-app-writes
    match: { connections: [arm], not_operations: ["*/read"] }
    principals: { app_only: true }
    effect: deny`);
  return `${lines.join('\n')}\n`;
}

const source = generatePolicy(1000);
if (process.env.DUMP_POLICY) (await import('node:fs')).writeFileSync(process.env.DUMP_POLICY, source);

// Compile time, median of 5 runs: validation, CEL parse + type check, wildcards, index, digest.
// From the JSON bundle (what activation and the Worker compile) and from the YAML source (the
// authoring format: the `yaml` parser dominates that figure).
async function timeCompile(label: string, text: string) {
  const times: number[] = [];
  let result: Awaited<ReturnType<typeof compilePolicy>> | undefined;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    result = await compilePolicy(text, { file: 'generated' });
    times.push(performance.now() - started);
  }
  if (!result?.ok) throw new Error(result?.errors.join('\n'));
  times.sort((a, z) => a - z);
  console.log(
    `compile 1,000 rules from ${label.padEnd(4)} (${(text.length / 1024).toFixed(0)} KiB): median ${times[2]?.toFixed(1)} ms (min ${times[0]?.toFixed(1)}, max ${times[4]?.toFixed(1)}); ${result.policy.index.keys.size} index keys`,
  );
  return result.policy;
}
const fromYaml = await timeCompile('YAML', source);
const compiled = await timeCompile('JSON', JSON.stringify(fromYaml.document));

const principal = (i: number): Principal => ({
  tenantId: 't',
  subject: i % 10 === 0 ? null : { objectId: `user-${i}` },
  actor: { appId: 'app', credentialType: 'public_client', appOnly: i % 10 === 0 },
  groups: [0, 3, 7, 11, 19].map((k) => `group-${(i + k) % 25}`).concat(i % 4 === 0 ? ['readers'] : []),
  roles: [],
  scopes: ['user_impersonation'],
  directoryRoles: [],
  tokenVersion: '2.0',
  tokenFingerprint: 'f',
  expiresAt: 0,
});
const METHOD = { read: 'GET', write: 'PUT', delete: 'DELETE', 'listKeys/action': 'POST' } as const;
const requests: PolicyRequest[] = Array.from({ length: 512 }, (_, i) => {
  const provider = PROVIDERS[(i * 13) % PROVIDERS.length];
  const type = TYPES[i % TYPES.length];
  const verb = VERBS[i % VERBS.length] as keyof typeof METHOD;
  const base = `/subscriptions/sub-1/resourceGroups/rg-${i % 9}/providers/${provider}/${type}/name-${i}`;
  return {
    connection: 'arm',
    method: METHOD[verb],
    path: verb === 'listKeys/action' ? `${base}/listKeys` : base,
    query: '?api-version=2023-05-01',
    now: 1_800_000_000_000,
  };
});
const principals = Array.from({ length: 64 }, (_, i) => principal(i));

// Sanity: the workload exercises every effect and conditions.
const effects = new Map<string, number>();
let matchedTotal = 0;
for (let i = 0; i < requests.length; i++) {
  const d = evaluatePolicy(compiled, requests[i] as PolicyRequest, principals[i % 64] as Principal);
  effects.set(d.effect, (effects.get(d.effect) ?? 0) + 1);
  matchedTotal += d.matchedRuleIds.length;
}
console.log(
  `workload: ${requests.length} ARM requests × 64 principals; effects ${JSON.stringify(Object.fromEntries(effects))}; ${(matchedTotal / requests.length).toFixed(2)} rules matched per request`,
);

let n = 0;
const evaluate = () => {
  n++;
  return evaluatePolicy(compiled, requests[n & 511] as PolicyRequest, principals[n & 63] as Principal);
};
report(await measure('evaluate (1,000 rules, batch means of 100)', evaluate, { batches: 300, warmup: 20_000 }));

// Per-call latency distribution (includes ~50 ns timer overhead per call).
if (typeof globalThis.gc === 'function') globalThis.gc();
const samples = new Float64Array(200_000);
for (let i = 0; i < samples.length; i++) {
  const start = process.hrtime.bigint();
  evaluate();
  samples[i] = Number(process.hrtime.bigint() - start);
}
samples.sort();
const at = (q: number) =>
  ((samples[Math.min(samples.length - 1, Math.floor(samples.length * q))] ?? 0) / 1000).toFixed(2);
console.log(
  `evaluate per call (n=${samples.length}): median ${at(0.5)} µs  p90 ${at(0.9)} µs  p99 ${at(0.99)} µs  p99.9 ${at(0.999)} µs`,
);
