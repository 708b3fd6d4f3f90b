// Skeleton masker throughput versus a bare pass-through, same process, same input.
import { JsonMasker } from '../src/mask/json-mask-stream.ts';

const item = (i: number) => ({ keyName: `key${i}`, value: 'x'.repeat(88), permissions: 'FULL', note: 'a'.repeat(200) });
const text = JSON.stringify({ keys: Array.from({ length: 20000 }, (_, i) => item(i)) });
const bytes = new TextEncoder().encode(text);
const chunkSize = 16 * 1024;

function run(mask: boolean): number {
  const masker = new JsonMasker({ keys: mask ? ['value'] : [] });
  const start = performance.now();
  let out = 0;
  for (let i = 0; i < bytes.length; i += chunkSize) {
    for (const part of masker.push(bytes.subarray(i, i + chunkSize))) out += part.length;
  }
  masker.end();
  const ms = performance.now() - start;
  if (out === 0) throw new Error('no output');
  return bytes.length / 1e6 / (ms / 1000);
}

for (let i = 0; i < 2; i++) run(true);
const masked = Math.max(run(true), run(true), run(true));
const tokenizeOnly = Math.max(run(false), run(false), run(false));
console.log(`input ${(bytes.length / 1e6).toFixed(1)} MB, ${chunkSize / 1024} KiB chunks (Node ${process.version})`);
console.log(`masker (20k values masked)   ${masked.toFixed(0)} MB/s`);
console.log(`tokenizer, nothing masked    ${tokenizeOnly.toFixed(0)} MB/s`);
