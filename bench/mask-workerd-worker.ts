// The Worker that bench/mask-workerd.bench.ts runs inside workerd: one request runs one contender
// over the shared workload (bench/mask-workload.ts) and answers with what it did; the caller times
// the request from outside, because a Worker's clock only advances on I/O.
import {
  BENCH_SPEC,
  BENCH_SPEC_DETECTORS,
  runMasker,
  runPassThrough,
  runWholeBody,
  workload,
} from './mask-workload.ts';

let cached: ReturnType<typeof workload> | undefined;
let cachedMb = 0;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const mb = Number(url.searchParams.get('mb') ?? '50');
    if (!cached || cachedMb !== mb) {
      cached = workload(mb * 1024 * 1024);
      cachedMb = mb;
    }
    const w = cached;
    const mode = url.searchParams.get('mode');
    let result: unknown;
    if (mode === 'masker') result = (await runMasker(w, BENCH_SPEC)).maskedCount;
    else if (mode === 'detectors') result = (await runMasker(w, BENCH_SPEC_DETECTORS)).maskedCount;
    else if (mode === 'passthrough') result = await runPassThrough(w);
    else if (mode === 'whole') result = await runWholeBody(w);
    else result = 'warm';
    return Response.json({ mode, bytes: w.totalBytes, result });
  },
};
