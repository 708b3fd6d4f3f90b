// The cost of the connection-level default mask (`azure_secrets`), which now runs on every JSON
// response of the starter policy's arm, azure, keyvault, k8s and graph connections. One run, one
// ~50 MB document (the masking workload), 16 KiB chunks, on Node (the Worker runs the same code):
// the masker with the default mask, with a typical rule mask plus detectors (what a listKeys rule
// costs), and a bare pass-through TransformStream. Figures, never assertions.
import { AZURE_SECRETS_DEFAULT_MASK } from '../src/mask/azure-defaults.ts';
import type { MaskSpec } from '../src/mask/spec.ts';
import { BENCH_SPEC_DETECTORS, runMasker, runPassThrough, workload } from './mask-workload.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const w = workload();
const mb = w.totalBytes / 1e6;
const DEFAULT: MaskSpec = { ...AZURE_SECRETS_DEFAULT_MASK, style: 'redact' };

async function best(run: () => Promise<unknown>, rounds = 5): Promise<number> {
  await run();
  let top = 0;
  for (let r = 0; r < rounds; r++) {
    gc();
    const start = performance.now();
    await run();
    top = Math.max(top, mb / ((performance.now() - start) / 1000));
  }
  return top;
}

const defaultMask = await best(() => runMasker(w, DEFAULT));
const ruleMask = await best(() => runMasker(w, BENCH_SPEC_DETECTORS));
const passThrough = await best(() => runPassThrough(w));
console.log(`document: ${mb.toFixed(1)} MB, ${w.secrets} planted secrets`);
console.log(`default mask (azure_secrets): ${defaultMask.toFixed(0)} MB/s`);
console.log(`rule mask + every detector:   ${ruleMask.toFixed(0)} MB/s`);
console.log(`bare pass-through stream:     ${passThrough.toFixed(0)} MB/s`);
console.log(`default mask / pass-through:  ${(defaultMask / passThrough).toFixed(2)}`);
