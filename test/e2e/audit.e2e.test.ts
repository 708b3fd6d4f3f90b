// End to end: `npm run audit -- verify` against the local D1 a real `wrangler dev` gateway wrote,
// before and after tampering with a sealed row.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startStack } from '../../scripts/dev-stack/stack.mjs';

let stack: Awaited<ReturnType<typeof startStack>>;
let persistTo: string;

beforeAll(async () => {
  persistTo = mkdtempSync(join(tmpdir(), 'edgeward-audit-e2e-'));
  stack = await startStack({ persistTo });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

const verify = () =>
  spawnSync(process.execPath, [join(ROOT, 'scripts/audit.mjs'), 'verify', '--local', '--persist-to', persistTo], {
    cwd: ROOT,
    encoding: 'utf8',
  });

describe('npm run audit -- verify', () => {
  it('passes on the trail the gateway wrote and sealed, and fails precisely after tampering', async () => {
    const reader = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] });
    const auditor = await stack.entra.mint({ user: 'carol@contoso.com', groups: ['auditors'] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${stack.gatewayUrl}/arm/subscriptions?api-version=2022-12-01`, {
        headers: { authorization: `Bearer ${reader}` },
      });
      await response.arrayBuffer();
      ids.push(response.headers.get('x-edgeward-request-id') ?? '');
    }
    // Seal once every row is final (rows land just after the response).
    let sealed = 0;
    for (let attempt = 0; attempt < 40 && sealed < 3; attempt++) {
      const seal = await fetch(`${stack.gatewayUrl}/_gateway/audit/seal`, {
        method: 'POST',
        headers: { authorization: `Bearer ${auditor}` },
      });
      expect(seal.status).toBe(200);
      sealed += ((await seal.json()) as { sealed: number }).sealed;
      if (sealed < 3) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const clean = verify();
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain('OK: the audit trail verifies');

    const victim = ids[1] as string;
    stack.d1(`UPDATE audit_events SET status = 500 WHERE request_id = '${victim}'`);
    const tampered = verify();
    expect(tampered.status).toBe(1);
    expect(tampered.stdout).toContain(`PROBLEM: row ${victim}`);
    expect(tampered.stdout).toContain('was modified: content changed');
  });
});
