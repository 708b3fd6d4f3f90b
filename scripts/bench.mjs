// `npm run bench`: runs every benchmark in bench/ (files named *.bench.ts or *.bench.mjs), one
// after another, each in its own Node process (Node 24 runs the TypeScript core directly).
// Benchmarks print figures; they never fail the build on timing. Pass names to run a subset:
// `npm run bench -- mask auth`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../bench/', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => /\.bench\.(ts|mjs)$/.test(f))
  .filter((f) => only.length === 0 || only.some((name) => f.includes(name)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const result = spawnSync(process.execPath, ['--expose-gc', join(dir, file)], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    console.log(`(${file} exited with ${result.status})`);
  }
}
// A benchmark that crashes is a broken benchmark, not a slow one: that does fail.
process.exit(failed ? 1 : 0);
