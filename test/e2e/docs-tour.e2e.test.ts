// The five-minute tour in docs/getting-started.md, executed verbatim: every `sh` block after the
// install step runs, in order, in one bash session against the stack `npm run dev` starts (same
// ports, same local D1), and what the prose promises is checked in the output. It needs those
// ports free: stop a running `npm run dev` first.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startStack } from '../../scripts/dev-stack/stack.mjs';

let stack: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  stack = await startStack({ gatewayPort: 8787, armPort: 8790, entraPort: 8791 });
});

afterAll(async () => {
  await stack?.stop();
});

/** The tour's shell blocks: every ```sh block from the first numbered step on. */
function tourScript(): string {
  const doc = readFileSync(join(ROOT, 'docs/getting-started.md'), 'utf8');
  const tour = doc.slice(doc.indexOf('### 1.'));
  const blocks = [...tour.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return ['set -euo pipefail', ...blocks].join('\n');
}

describe('docs/getting-started.md', () => {
  it('runs as written and does what it says', async () => {
    const script = tourScript();
    expect(script).toContain('npm run audit -- verify --local');
    // Asynchronously: the mock Entra authority and demo upstream answer from this very process.
    const child = spawn('bash', ['-c', script], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const run = { status: await new Promise<number | null>((resolve) => child.once('exit', resolve)) };
    expect(run.status, out).toBe(0);
    expect(out).toContain('Edgeward Demo'); // 1. an allowed read
    expect(out).toContain('"value":"***"'); // 2. keys masked
    for (const key of stack.arm.storageKeys) expect(out).not.toContain(key);
    expect(out).toContain('EDGEWARD_TOKEN_MISSING'); // 3. no token
    expect(out).toMatch(/(^|\})202$/m); // 4. the approved DELETE went upstream once (`-w "%{http_code}\n"`)
    expect(out).toContain('"approval_pending"'); // 5. the audit trail has the refusal …
    expect(out).toContain('"subject_upn":"alice@contoso.com"'); // … and who did it
    expect(out).toContain('OK: the audit trail verifies'); // 6. sealed and verified
    expect(out).toContain('"status":"ready"'); // 7. readiness
  }, 240_000);
});
