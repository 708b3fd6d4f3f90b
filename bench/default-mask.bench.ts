// The cost of the connection-level default mask (`azure_secrets`), which now runs on every JSON
// response of the starter policy's arm, azure, keyvault, k8s and graph connections. One run, one
// ~50 MB document (the masking workload), 16 KiB chunks, on Node (the Worker runs the same code):
// the masker with the default mask, with a typical rule mask plus detectors (what a listKeys rule
// costs), and a bare pass-through TransformStream; then what the default adds to policy evaluation
// (the starter policy, a listKeys whose rule mask joins the default). Figures, never assertions.
import { readFileSync } from 'node:fs';
import { AZURE_SECRETS_DEFAULT_MASK } from '../src/mask/azure-defaults.ts';
import type { MaskSpec } from '../src/mask/spec.ts';
import { compilePolicy } from '../src/policy/compile.ts';
import { evaluatePolicy } from '../src/policy/evaluate.ts';
import { principalFromTest } from '../src/policy/policy-tests.ts';
import { measure, report } from './harness.ts';
import { BENCH_SPEC_DETECTORS, bestThroughput, runMasker, runPassThrough, workload } from './mask-workload.ts';

const w = workload();
const DEFAULT: MaskSpec = { ...AZURE_SECRETS_DEFAULT_MASK, style: 'redact' };

const defaultMask = await bestThroughput(w, () => runMasker(w, DEFAULT));
const ruleMask = await bestThroughput(w, () => runMasker(w, BENCH_SPEC_DETECTORS));
const passThrough = await bestThroughput(w, () => runPassThrough(w));
console.log(`document: ${(w.totalBytes / 1e6).toFixed(1)} MB, ${w.secrets} planted secrets`);
console.log(`default mask (azure_secrets): ${defaultMask.toFixed(0)} MB/s`);
console.log(`rule mask + every detector:   ${ruleMask.toFixed(0)} MB/s`);
console.log(`bare pass-through stream:     ${passThrough.toFixed(0)} MB/s`);
console.log(`default mask / pass-through:  ${(defaultMask / passThrough).toFixed(2)}`);

const compiled = await compilePolicy(readFileSync('policies/default.yaml', 'utf8'));
if (!compiled.ok) throw new Error(compiled.errors.join('\n'));
const writer = principalFromTest({
  subject: 'u1',
  app: 'cli',
  tenant: 't1',
  groups: ['aaaaaaaa-0000-4000-8000-000000000002'], // writers
  groups_resolved: true,
  roles: [],
  scopes: [],
});
const listKeys = {
  connection: 'arm',
  method: 'POST',
  path: '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa/listKeys',
  query: 'api-version=2023-05-01',
  now: 0,
};
report(
  await measure('evaluatePolicy: listKeys, rule mask + default', () =>
    evaluatePolicy(compiled.policy, listKeys, writer),
  ),
);
