// Query and export: auditors only, every filter, cursor pagination, NDJSON and OCSF exports
// validated against their schemas, and every audit query itself audited.

import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditEventSchema, OcsfApiActivity } from '../../src/audit/index.ts';
import { auditRow, gateway, mintToken, SUB } from './helpers.ts';

const RG = `/subscriptions/${SUB}/resourceGroups`;
const ALICE = 'bbbbbbbb-0000-4000-8000-00000000a11c';
const BOB = 'bbbbbbbb-0000-4000-8000-000000000b0b';
let auditor: string;
let approvalId: string;
let deleteRequestId: string;
const ids: string[] = [];

type Page = { events: Record<string, unknown>[]; nextCursor: string | null };
const query = async (params: string, token = auditor) => {
  const response = await gateway(`/_gateway/audit/events?${params}`, { token });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Page;
};

beforeAll(async () => {
  auditor = await mintToken({ user: 'carol@contoso.com', groups: ['auditors'] });
  const reader = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
  const writer = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
  const approver = await mintToken({ user: 'bob@contoso.com', groups: ['approvers'] });
  const send = async (path: string, init: RequestInit & { token?: string }) => {
    const response = await gateway(path, init);
    await response.arrayBuffer();
    const id = response.headers.get('x-edgeward-request-id') ?? '';
    ids.push(id);
    await auditRow(id);
    return { response, id };
  };
  for (let i = 0; i < 5; i++) await send(`/arm${RG}?api-version=2021-04-01&n=${i}`, { token: reader });
  await send(`/arm${RG}/query-rg?api-version=2021-04-01`, {
    token: writer,
    method: 'PUT',
    body: '{"location":"westeurope"}',
  });
  await send(`/arm${RG}/query-rg?api-version=2021-04-01`, { token: reader, method: 'DELETE' });
  const held = await gateway(`/arm${RG}/query-rg?api-version=2021-04-01`, {
    token: writer,
    method: 'DELETE',
    headers: { prefer: 'respond-async' },
  });
  approvalId = ((await held.json()) as { approvalId: string }).approvalId;
  await auditRow(held.headers.get('x-edgeward-request-id') ?? '');
  await gateway(`/_gateway/approvals/${approvalId}/decision`, {
    token: approver,
    method: 'POST',
    body: JSON.stringify({ decision: 'approve', reason: 'planned cleanup' }),
  });
  deleteRequestId = (await send(`/arm${RG}/query-rg?api-version=2021-04-01`, { token: writer, method: 'DELETE' })).id;
});

describe('audit query', () => {
  it('is for auditors only, and each query is itself audited', async () => {
    const reader = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const refused = await gateway('/_gateway/audit/events', { token: reader });
    expect(refused.status).toBe(403);
    expect(await auditRow(refused.headers.get('x-edgeward-request-id') ?? '')).toMatchObject({
      connection: '_gateway',
      status: 403,
      subject_upn: 'alice@contoso.com',
    });
    const allowed = await gateway('/_gateway/audit/events?decision=deny', { token: auditor });
    expect(allowed.status).toBe(200);
    expect(await auditRow(allowed.headers.get('x-edgeward-request-id') ?? '')).toMatchObject({
      connection: '_gateway',
      decision: 'control',
      status: 200,
      subject_upn: 'carol@contoso.com',
      operation: 'Edgeward/audit/events/read',
      query: 'decision=deny',
    });
  });

  it('answers "who deleted resource group X, and who approved it?" in one query', async () => {
    const resource = `${RG}/query-rg`;
    const { events } = await query(
      `operation=Microsoft.Resources/subscriptions/resourceGroups/delete&resource=${encodeURIComponent(resource.toUpperCase())}&outcome=completed`,
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      request_id: deleteRequestId,
      subject_oid: ALICE,
      approval_id: approvalId,
      status: 202,
    });
    expect(JSON.parse(String(events[0]?.approvers))).toEqual([BOB]);
  });

  it('filters by subject, actor, connection, decision, status, approval and time range', async () => {
    const proxied = (page: Page) => page.events.filter((e) => e.connection === 'arm');
    expect(proxied(await query('subject=alice@contoso.com&limit=500')).length).toBe(9);
    expect(proxied(await query(`subject=${BOB}`))).toHaveLength(0);
    expect((await query('decision=deny')).events.map((e) => e.method)).toEqual(['DELETE']);
    expect((await query('status=201')).events.map((e) => e.method)).toEqual(['PUT']);
    // The held request, the approver's decision (control plane) and the request that went through.
    expect((await query(`approval=${approvalId}`)).events.map((e) => [e.connection, e.status])).toEqual([
      ['arm', 202],
      ['_gateway', 200],
      ['arm', 202],
    ]);
    const all = await query('connection=arm&limit=500');
    expect(all.events).toHaveLength(9);
    const actor = String(all.events[0]?.actor_app_id);
    expect((await query(`actor=${actor}&connection=arm&limit=500`)).events).toHaveLength(9);
    expect((await query('actor=nobody')).events).toHaveLength(0);
    const times = all.events.map((e) => String(e.started_at)).sort();
    const middle = times[4] as string;
    const early = await query(`connection=arm&to=${middle}&limit=500`);
    const late = await query(`connection=arm&from=${middle}&limit=500`);
    expect(early.events.length + late.events.length).toBe(9);
    expect(early.events.every((e) => String(e.started_at) < middle)).toBe(true);
    expect((await gateway('/_gateway/audit/events?from=yesterday', { token: auditor })).status).toBe(400);
  });

  it('pages with a cursor, newest first, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await query(`connection=arm&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.events.map((e) => String(e.request_id)));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    const full = await query('connection=arm&limit=500');
    expect(seen).toEqual(full.events.map((e) => String(e.request_id)));
    expect(new Set(seen).size).toBe(9);
    expect((await gateway('/_gateway/audit/events?cursor=garbage', { token: auditor })).status).toBe(400);
  });

  it('exports NDJSON rows and OCSF API Activity events that validate against their schemas', async () => {
    const ndjson = await gateway('/_gateway/audit/events?format=ndjson&connection=arm&limit=5', { token: auditor });
    expect(ndjson.headers.get('content-type')).toBe('application/x-ndjson');
    expect(ndjson.headers.get('x-edgeward-next-cursor')).toBeTruthy();
    const rows = new TextDecoder()
      .decode(await ndjson.arrayBuffer())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      const parsed = v.safeParse(AuditEventSchema, row);
      expect(parsed.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`)).toBeUndefined();
    }

    const ocsf = await gateway('/_gateway/audit/events?format=ocsf&connection=arm&limit=500', { token: auditor });
    const events = new TextDecoder()
      .decode(await ocsf.arrayBuffer())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toHaveLength(9);
    for (const event of events) {
      const parsed = v.safeParse(OcsfApiActivity, event);
      expect(parsed.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`)).toBeUndefined();
    }
    const deletion = events.find((e) => (e.metadata as { uid: string }).uid === deleteRequestId);
    expect(deletion).toMatchObject({
      class_uid: 6003,
      activity_id: 4,
      type_uid: 600304,
      status_id: 1,
      actor: { user: { uid: ALICE, name: 'alice@contoso.com' } },
      api: { operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete' },
      cloud: { provider: 'Azure', account: { uid: SUB } },
      resources: [{ uid: `${RG}/query-rg` }],
      unmapped: { approval_id: approvalId, approvers: [BOB], decision: 'require_approval' },
    });
  });
});
