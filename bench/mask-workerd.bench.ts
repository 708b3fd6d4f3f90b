// Masking throughput inside workerd (the Workers runtime), same workload and code as
// bench/mask.bench.ts. The Worker (bench/mask-workerd-worker.ts) runs under wrangler dev; each contender is
// one request to `wrangler dev`, timed from Node around the request (a Worker's own clock stands
// still while it computes). The Worker builds its input pool on a first request, excluded here. workerd has
// no memory API, so peak memory is measured by the Node benchmark only. Figures, not assertions.
import { startWranglerDev } from '../scripts/dev-stack/stack.mjs';

const worker = await startWranglerDev({
  args: ['-c', 'bench/mask-workerd.wrangler.toml'],
  ready: async (url: string) => (await fetch(`${url}/?mode=warm&mb=1`)).ok,
});
const url = worker.url;
try {
  const call = async (mode: string) => {
    const start = performance.now();
    const response = await fetch(new URL(`/?mode=${mode}&mb=50`, url));
    const body = (await response.json()) as { bytes: number; result: unknown };
    return { ms: performance.now() - start, ...body };
  };
  await call('warm');
  const best = async (mode: string, rounds = 5) => {
    await call(mode); // warm up the JIT for this path
    let top = 0;
    let bytes = 0;
    let result: unknown;
    for (let r = 0; r < rounds; r++) {
      const run = await call(mode);
      bytes = run.bytes;
      result = run.result;
      top = Math.max(top, run.bytes / 1e6 / (run.ms / 1000));
    }
    return { mbps: top, bytes, result };
  };
  const masker = await best('masker');
  const detectors = await best('detectors');
  const pass = await best('passthrough');
  let whole: { mbps: number } | undefined;
  try {
    whole = await best('whole', 3);
  } catch (error) {
    console.log(`whole body failed in workerd: ${String(error)}`);
  }
  const row = (label: string, value: string) => console.log(`${label.padEnd(58)} ${value}`);
  console.log(
    `runtime: workerd via wrangler dev, input ${(masker.bytes / 1e6).toFixed(1)} MB, 16 KiB chunks, ${masker.result} secrets masked`,
  );
  row('masker (paths + key patterns), streamed body', `${masker.mbps.toFixed(0)} MB/s`);
  row('masker (paths + key patterns + all 9 detectors)', `${detectors.mbps.toFixed(0)} MB/s`);
  row('bare pass-through TransformStream', `${pass.mbps.toFixed(0)} MB/s`);
  if (whole) {
    row('whole body: JSON.parse → mask → JSON.stringify', `${whole.mbps.toFixed(0)} MB/s`);
    row('masker vs whole body', `${(masker.mbps / whole.mbps).toFixed(1)}×`);
  }
} finally {
  await worker.stop();
}
