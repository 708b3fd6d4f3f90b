// End to end: the real `wrangler dev` gateway, driven over real HTTP from Node, through
// token → policy → audit → upstream → masked response, then the D1 row read back from the same
// local database the Worker wrote.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from '../../scripts/dev-stack/stack.mjs';

const SUB = '00000000-0000-4000-8000-00000000a2b1';
let stack: Awaited<ReturnType<typeof startStack>>;
let persistTo: string;

beforeAll(async () => {
  persistTo = mkdtempSync(join(tmpdir(), 'edgeward-e2e-'));
  stack = await startStack({ persistTo });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

const call = (path: string, token: string | undefined, init: RequestInit = {}) =>
  fetch(`${stack.gatewayUrl}${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
  });

async function auditRow(requestId: string): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const rows = stack.d1(`SELECT * FROM audit_events WHERE request_id = '${requestId.replace(/[^0-9a-f-]/g, '')}'`);
    // stack.d1 blocks the event loop (spawnSync) for seconds: let undici see any keep-alive socket
    // the server closed meanwhile, or the next fetch reuses it and fails with "other side closed".
    await new Promise((resolve) => setImmediate(resolve));
    if (rows[0]?.phase === 'final') return rows[0];
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no final audit row for ${requestId}`);
}

describe('wrangler dev end to end', () => {
  it('masks listKeys for a writer and records who did it', async () => {
    const token = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['writers'] });
    const response = await call(
      `/arm/subscriptions/${SUB}/resourceGroups/demo-rg/providers/Microsoft.Storage/storageAccounts/demo/listKeys?api-version=2023-05-01`,
      token,
      { method: 'POST' },
    );
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const key of stack.arm.storageKeys) expect(text).not.toContain(key);
    expect(JSON.parse(text).keys.map((k: { value: string }) => k.value)).toEqual(['***', '***']);

    const forwarded = stack.arm.received.at(-1);
    expect(forwarded?.headers['x-ms-client-request-id']).toBe(response.headers.get('x-edgeward-request-id'));
    expect(forwarded?.headers.authorization).toBeUndefined();

    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({
      subject_upn: 'alice@contoso.com',
      decision: 'allow',
      status: 200,
      outcome: 'completed',
      masked_count: 2,
      connection: 'arm',
    });
    expect(String(row.token_fingerprint)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a missing token with 401 and still audits it', async () => {
    const response = await call('/arm/subscriptions?api-version=2022-12-01', undefined);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'unauthenticated', status: 401 });
  });

  it('serves the audit trail to auditors only', async () => {
    const auditor = await stack.entra.mint({ user: 'carol@contoso.com', groups: ['auditors'] });
    const reader = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['readers'] });
    expect((await call('/_gateway/audit?limit=5', reader)).status).toBe(403);
    const response = await call('/_gateway/audit?limit=5', auditor);
    expect(response.status).toBe(200);
    const { events } = (await response.json()) as { events: unknown[] };
    expect(events.length).toBeGreaterThan(0);
  });
});
