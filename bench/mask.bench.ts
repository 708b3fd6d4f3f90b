// Masking throughput and memory on Node (the same code as the Worker; see bench/mask-workerd.bench.ts
// for the figures measured inside workerd). Streams a ~50 MB JSON document with a few hundred
// secrets, 16 KiB chunks, and reports in one run: masker MB/s (with and without detectors), a bare
// pass-through TransformStream, the whole-body JSON.parse → mask → JSON.stringify approach, and the
// peak memory growth of the masker and of the whole-body approach. Figures, never assertions.
import {
  BENCH_SPEC,
  BENCH_SPEC_DETECTORS,
  bestThroughput,
  runMasker,
  runPassThrough,
  runWholeBody,
  workload,
} from './mask-workload.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const w = workload();
const mb = w.totalBytes / 1e6;

function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function peak(run: (sample: () => void) => Promise<unknown>): Promise<number> {
  gc();
  const base = memory();
  let max = base;
  // Live memory: collect garbage before each sample, so the figure is what the approach retains.
  const sample = () => {
    gc();
    max = Math.max(max, memory());
  };
  await run(sample);
  sample();
  return (max - base) / 1024 / 1024;
}

const report = await runMasker(w, BENCH_SPEC);
if (report.maskedCount !== w.secrets) throw new Error(`masked ${report.maskedCount}, expected ${w.secrets}`);

const masker = await bestThroughput(w, () => runMasker(w, BENCH_SPEC));
const maskerDetectors = await bestThroughput(w, () => runMasker(w, BENCH_SPEC_DETECTORS));
const passThrough = await bestThroughput(w, () => runPassThrough(w));
const wholeBody = await bestThroughput(w, () => runWholeBody(w), 3);
const maskerPeak = await peak((sample) => runMasker(w, BENCH_SPEC_DETECTORS, sample));
const wholePeak = await peak((sample) => runWholeBody(w, sample));
const small = workload(5 * 1024 * 1024);
const maskerPeakSmall = await peak((sample) => runMasker(small, BENCH_SPEC_DETECTORS, sample));

const row = (label: string, value: string) => console.log(`${label.padEnd(58)} ${value}`);
console.log(
  `runtime: Node ${process.version} (V8), input ${mb.toFixed(1)} MB, 16 KiB chunks, ${report.maskedCount} secrets masked`,
);
row('masker (paths + key patterns), streamed body', `${masker.toFixed(0)} MB/s`);
row('masker (paths + key patterns + all 9 detectors)', `${maskerDetectors.toFixed(0)} MB/s`);
row('bare pass-through TransformStream', `${passThrough.toFixed(0)} MB/s`);
row('whole body: JSON.parse → mask → JSON.stringify', `${wholeBody.toFixed(0)} MB/s`);
row('masker vs whole body', `${(masker / wholeBody).toFixed(1)}×`);
row('peak live memory growth, masker (50 MB body)', `${maskerPeak.toFixed(1)} MB`);
row('peak live memory growth, masker (5 MB body)', `${maskerPeakSmall.toFixed(1)} MB`);
row('peak live memory growth, whole body (50 MB body)', `${wholePeak.toFixed(1)} MB`);
