import { BENCH_SPEC_DETECTORS as BENCH_SPEC, runMasker, workload } from './mask-workload.ts';
const w = workload(30 * 1024 * 1024);
for (let i = 0; i < 4; i++) {
  const t = performance.now();
  await runMasker(w, BENCH_SPEC);
  console.log((w.totalBytes / 1e6 / ((performance.now() - t) / 1000)).toFixed(0), 'MB/s');
}
