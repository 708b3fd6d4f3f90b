// `npm run bundle:check`: build the production Worker exactly as `wrangler deploy` would
// (`--dry-run`, nothing is uploaded) and fail if the compressed bundle passes the Workers size
// limit (3 MiB on the Free plan, the strictest; 10 MiB on paid plans).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from './dev-stack/stack.mjs';

const LIMIT = 3 * 1024 * 1024;
const out = mkdtempSync(join(tmpdir(), 'edgeward-bundle-'));
try {
  const build = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'wrangler'),
    ['deploy', '--dry-run', '--env', 'production', '--outdir', out],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  );
  if (build.status !== 0) {
    console.error(build.stdout, build.stderr);
    process.exit(1);
  }
  let raw = 0;
  let gzipped = 0;
  for (const file of readdirSync(out)) {
    if (file.endsWith('.map') || file === 'README.md') continue;
    raw += statSync(join(out, file)).size;
    gzipped += gzipSync(readFileSync(join(out, file))).length;
  }
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`production bundle: ${kib(raw)} raw, ${kib(gzipped)} gzip (limit ${kib(LIMIT)} gzip)`);
  process.exit(gzipped <= LIMIT ? 0 : 1);
} finally {
  rmSync(out, { recursive: true, force: true });
}
