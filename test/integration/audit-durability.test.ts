// Nothing lost: write-ahead refusal when D1 is unavailable, and the durable retry buffer draining
// after D1 recovers, exactly once. The outage is real: a SQLite trigger in the local D1 aborts
// every audit write of requests sent with OUTAGE_USER_AGENT (see helpers.ts).
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/index.ts';
import { auditBuffer } from '../../src/audit/index.ts';
import { auditRowNow, endD1Outage, gateway, mintToken, OUTAGE_USER_AGENT, SUB, startD1Outage } from './helpers.ts';

const RG = `/arm/subscriptions/${SUB}/resourceGroups`;

async function untilHeld(requestId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const held = await auditBuffer(env).heldIds();
    if (held.includes(requestId)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${requestId} never reached the retry buffer`);
}

const countRows = async (requestId: string) =>
  (
    await env.AUDIT_DB.prepare('SELECT count(*) AS n FROM audit_events WHERE request_id = ?')
      .bind(requestId)
      .first<{ n: number }>()
  )?.n;

afterEach(endD1Outage);

describe('audit durability', () => {
  it('refuses a mutation with 503 when its write-ahead row cannot be written, and never sends it', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    await startD1Outage();
    const response = await gateway(`${RG}/never-created-rg?api-version=2021-04-01`, {
      token,
      method: 'PUT',
      body: '{"location":"westeurope"}',
      headers: { 'user-agent': OUTAGE_USER_AGENT },
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_AUDIT_UNAVAILABLE');
    const requestId = response.headers.get('x-edgeward-request-id') ?? '';
    // The refusal's own row goes to the retry buffer, since D1 is still down.
    await untilHeld(requestId);
    expect(await auditRowNow(requestId)).toBeNull();
    await endD1Outage();

    const reader = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const check = await gateway(`${RG}/never-created-rg?api-version=2021-04-01`, { token: reader });
    expect(check.status).toBe(404);

    await runDurableObjectAlarm(auditBuffer(env));
    await auditBuffer(env).drain();
    expect(await auditRowNow(requestId)).toMatchObject({
      phase: 'final',
      status: 503,
      outcome: 'refused',
      method: 'PUT',
      user_agent: OUTAGE_USER_AGENT,
    });
  });

  it('buffers rows D1 refused and drains them once D1 recovers, with no duplicates', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    await startD1Outage();
    const response = await gateway(`${RG}?api-version=2021-04-01`, {
      token,
      headers: { 'user-agent': OUTAGE_USER_AGENT },
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const requestId = response.headers.get('x-edgeward-request-id') ?? '';
    await untilHeld(requestId);

    // While D1 is down, retries keep the row.
    expect(await auditBuffer(env).drain()).toBeGreaterThan(0);
    expect(await auditBuffer(env).heldIds()).toContain(requestId);
    expect(await countRows(requestId)).toBe(0);
    const record = JSON.parse((await auditBuffer(env).heldRecord(requestId)) ?? 'null') as AuditRecord;
    expect(record.requestId).toBe(requestId);

    await endD1Outage();
    await runDurableObjectAlarm(auditBuffer(env));
    await auditBuffer(env).drain();
    expect(await auditBuffer(env).heldIds()).not.toContain(requestId);
    const row = await auditRowNow(requestId);
    expect(row).toMatchObject({ phase: 'final', status: 200, outcome: 'completed', decision: 'allow' });

    // Redelivery of the same record (at-least-once) changes nothing.
    const { row_hash: hash } = row as { row_hash: string };
    await auditBuffer(env).hold([{ ...record, status: 599, outcome: 'upstream_error' }]);
    await auditBuffer(env).drain();
    expect(await countRows(requestId)).toBe(1);
    expect(await auditRowNow(requestId)).toMatchObject({ row_hash: hash, status: 200 });
  });
});
