/**
 * The masking benchmark's workload, shared by the Node run (bench/mask.bench.ts) and the workerd
 * run (bench/mask-workerd.bench.ts): a ~50 MB ARM-style list (`{"value":[…]}`) with a few hundred
 * secrets, produced chunk by chunk from a small pool so the generator itself holds little memory,
 * and the three contenders: streaming masker, bare pass-through, whole-body parse → mask → stringify.
 */
import { compileMask, type MaskReport } from '../src/mask/json-mask-stream.ts';
import { maskBody } from '../src/mask/mask-body.ts';
import { DETECTOR_NAMES, type MaskSpec } from '../src/mask/spec.ts';

export const CHUNK_BYTES = 16 * 1024;
const POOL_ITEMS = 2000;
const SECRET_EVERY = 250; // → a few hundred secrets in 50 MB

const encoder = new TextEncoder();

function item(i: number): Record<string, unknown> {
  const name = `acct${i}`;
  const base = {
    id: `/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-${i % 17}/providers/Microsoft.Web/sites/${name}`,
    name,
    type: 'Microsoft.Web/sites',
    location: 'westeurope',
    tags: { env: i % 2 ? 'prod' : 'dev', owner: `team-${i % 7}`, 'cost center': `cc-${i % 13}` },
    properties: {
      state: 'Running',
      hostNames: [`${name}.azurewebsites.net`],
      enabled: true,
      defaultHostName: `${name}.azurewebsites.net`,
      siteConfig: {
        numberOfWorkers: (i % 3) + 1,
        linuxFxVersion: 'NODE|20-lts',
        http20Enabled: true,
        minTlsVersion: '1.2',
      },
      lastModifiedTimeUtc: '2026-04-24T16:30:54.5133333Z',
      outboundIpAddresses: '20.50.2.1,20.50.2.2,20.50.2.3,20.50.2.4',
      description: `Site ${i} — serves the “orders” API; see https://contoso.example/docs?id=${i}&lang=en`,
    },
  };
  if (i % SECRET_EVERY === 0) {
    (base.properties as Record<string, unknown>).connectionString =
      `DefaultEndpointsProtocol=https;AccountName=${name};AccountKey=${'K'.repeat(86)}==;EndpointSuffix=core.windows.net`;
    (base.properties as Record<string, unknown>).adminPassword = `P@ss-${i}-word`;
  }
  return base;
}

export interface Workload {
  totalBytes: number;
  /** A fresh stream of the document, CHUNK_BYTES at a time. */
  stream(): ReadableStream<Uint8Array>;
  /** Secrets in the document (for checking the masked count). */
  secrets: number;
}

/** Builds the pool once (a few MB); `stream()` repeats it to reach about `targetBytes`. */
export function workload(targetBytes = 50 * 1024 * 1024): Workload {
  const poolText = `${Array.from({ length: POOL_ITEMS }, (_, i) => JSON.stringify(item(i))).join(',')},`;
  const pool = encoder.encode(poolText);
  const head = encoder.encode('{"value":[');
  const tail = encoder.encode(`${JSON.stringify(item(1))}],"nextLink":null}`);
  const repeats = Math.max(1, Math.round((targetBytes - head.length - tail.length) / pool.length));
  const secretsPerPool = Math.ceil(POOL_ITEMS / SECRET_EVERY) * 2;
  return {
    totalBytes: head.length + pool.length * repeats + tail.length,
    secrets: secretsPerPool * repeats,
    stream() {
      let part = -1; // -1 head, 0..repeats-1 pool, repeats tail
      let offset = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (part === -1) {
            controller.enqueue(head.slice());
            part = 0;
            return;
          }
          if (part === repeats) {
            controller.enqueue(tail.slice());
            controller.close();
            return;
          }
          // Copy: consumers may keep or transfer chunks, as a network body's would be fresh.
          controller.enqueue(pool.slice(offset, offset + CHUNK_BYTES));
          offset += CHUNK_BYTES;
          if (offset >= pool.length) {
            offset = 0;
            part++;
          }
        },
      });
    },
  };
}

export const BENCH_SPEC: MaskSpec = {
  paths: ['$..connectionString', '$.value[*].properties.siteConfig.publishingPassword'],
  keys: ['*password', 'sharedKey'],
  detectors: [],
  style: 'redact',
};

export const BENCH_SPEC_DETECTORS: MaskSpec = { ...BENCH_SPEC, detectors: DETECTOR_NAMES };

/** Drain a stream, counting bytes; `onChunk` lets the caller sample memory. */
export async function drain(stream: ReadableStream<Uint8Array>, onChunk?: (n: number) => void): Promise<number> {
  const reader = stream.getReader();
  let bytes = 0;
  let chunks = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.byteLength;
    if (onChunk && ++chunks % 64 === 0) onChunk(chunks);
  }
}

/**
 * Best throughput in MB/s over `rounds` timed runs of `run` on `w`, after one warm-up run (garbage
 * collected before each when Node runs with --expose-gc, as `npm run bench` does).
 */
export async function bestThroughput(w: Workload, run: () => Promise<unknown>, rounds = 5): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const mb = w.totalBytes / 1e6;
  await run();
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    gc();
    const start = performance.now();
    await run();
    best = Math.max(best, mb / ((performance.now() - start) / 1000));
  }
  return best;
}

/** The masker as the gateway runs it (mask-response.ts → maskBody). */
export async function runMasker(w: Workload, spec: MaskSpec, onChunk?: (n: number) => void): Promise<MaskReport> {
  const compiled = compileMask(spec);
  if (!compiled.ok) throw new Error(compiled.reason);
  const { body, report } = maskBody(w.stream(), compiled.mask);
  await drain(body, onChunk);
  return report;
}

export async function runPassThrough(w: Workload, onChunk?: (n: number) => void): Promise<number> {
  return drain(w.stream().pipeThrough(new TransformStream<Uint8Array, Uint8Array>()), onChunk);
}

/** The whole-body approach: buffer, JSON.parse, walk and mask by key, JSON.stringify, encode. */
export async function runWholeBody(w: Workload, sample?: () => void): Promise<number> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = w.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.byteLength;
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.byteLength;
  }
  parts.length = 0;
  sample?.();
  const doc = JSON.parse(new TextDecoder().decode(body)) as unknown;
  sample?.();
  let masked = 0;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const lower = k.toLowerCase();
        if (lower === 'connectionstring' || lower.endsWith('password') || lower === 'sharedkey') {
          out[k] = '***';
          masked++;
        } else out[k] = walk(x);
      }
      return out;
    }
    return v;
  };
  const maskedDoc = walk(doc);
  sample?.();
  const out = new TextEncoder().encode(JSON.stringify(maskedDoc));
  sample?.();
  if (out.length === 0) throw new Error('no output');
  return masked;
}
