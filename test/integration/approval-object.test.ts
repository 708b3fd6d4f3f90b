/**
 * The approval Durable Object in workerd: quorum, expiry by alarm, restart while a client waits,
 * and signed webhooks out (verified with the `standardwebhooks` library at a local receiver).
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { OutboxItem } from '../../src/approval/approval-object.ts';
import type { ApprovalObject, ApprovalState } from '../../src/approval/index.ts';
import { decide, eventually, received, rgPath, stubFor, tokens } from './approval-helpers.ts';
import { gateway } from './helpers.ts';

const APPROVERS = 'aaaaaaaa-0000-4000-8000-000000000003';
const ALICE = 'bbbbbbbb-0000-4000-8000-00000000a11c';

const newId = () => crypto.randomUUID().replaceAll('-', '');

function openDirect(
  id: string,
  policy: Partial<{ count: number; ttlSeconds: number; denyCount: number }>,
  nowMs = Date.now(),
) {
  return stubFor(id).open(
    id,
    {
      connection: 'arm',
      method: 'DELETE',
      path: '/subscriptions/x/resourceGroups/direct',
      query: '',
      ruleId: 'test-rule',
      requesterOid: ALICE,
      requesterAppId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
    },
    {
      groups: [APPROVERS],
      users: [],
      count: policy.count ?? 1,
      ttlSeconds: policy.ttlSeconds ?? 3600,
      denyCount: policy.denyCount ?? 1,
    },
    `https://edgeward.test/_gateway/approvals/${id}`,
    nowMs,
  );
}

describe('the approval object', () => {
  it('needs a quorum of 2 distinct approvers; one approver counts once', async () => {
    const t = await tokens();
    const id = newId();
    await openDirect(id, { count: 2 });
    expect((await decide(t.bob, id, 'approve', 'one')).status).toBe(200);
    const twice = await decide(t.bob, id, 'approve', 'again');
    expect(twice.status).toBe(409);
    expect((await stubFor(id).status())?.status).toBe('pending');
    const second = await decide(t.dave, id, 'approve', 'two');
    expect(((await second.json()) as ApprovalState).status).toBe('approved');
  });

  it('lets the rule say how many denials end it', async () => {
    const t = await tokens();
    const id = newId();
    await openDirect(id, { count: 1, denyCount: 2 });
    await decide(t.bob, id, 'deny', 'no');
    expect((await stubFor(id).status())?.status).toBe('pending');
    await decide(t.dave, id, 'deny', 'no either');
    expect((await stubFor(id).status())?.status).toBe('denied');
  });

  it('expires by alarm, releases its waiters and cannot then be approved', async () => {
    const t = await tokens();
    const id = newId();
    const stub = stubFor(id);
    const state = await openDirect(id, { ttlSeconds: 3600 });
    const waiting = stub.wait(state.round, 30_000);
    // Move the expiry into the past, as if an hour had gone by, then run the alarm.
    await runInDurableObject(stub, (instance: ApprovalObject, ctx) => {
      const stored = ctx.storage.kv.get<ApprovalState>('state');
      if (!stored) throw new Error('no state');
      ctx.storage.kv.put('state', { ...stored, expiresAt: new Date(Date.now() - 1000).toISOString() });
      return instance;
    });
    await runDurableObjectAlarm(stub);
    expect((await waiting)?.status).toBe('expired');
    expect((await stub.status())?.status).toBe('expired');
    expect((await decide(t.bob, id, 'approve')).status).toBe(409);
    expect(await stub.consume(state.round, Date.now())).toBeNull();
  });

  it('keeps a pending approval across a restart while a client waits, and the client still proceeds', async () => {
    const t = await tokens();
    const held = gateway(rgPath('restart'), { token: t.alice, method: 'DELETE', headers: { prefer: 'wait=20' } });
    const id = await eventually(async () => {
      const { results } = await env.AUDIT_DB.prepare(
        "SELECT approval_id FROM approvals WHERE path LIKE '%/resourceGroups/restart' AND status = 'pending'",
      ).all<{ approval_id: string }>();
      return results[0]?.approval_id;
    }, 'pending approval for restart');
    await abortAllDurableObjects();
    expect((await stubFor(id).status())?.status).toBe('pending');
    expect((await decide(t.bob, id, 'approve', 'after restart')).status).toBe(200);
    const response = await held;
    // The group does not exist upstream: the demo ARM answers 404, which proves the request went upstream.
    expect(response.status).toBe(404);
    expect((await stubFor(id).status())?.status).toBe('consumed');
  });

  it('posts signed events that the standardwebhooks library verifies, plus Slack and Teams cards', async () => {
    const t = await tokens();
    const id = newId();
    await openDirect(id, { count: 1 });
    await decide(t.bob, id, 'approve', 'looks fine');
    const webhook = new Webhook(String(env.APPROVAL_WEBHOOK_SECRET));
    const events = await eventually(async () => {
      const all = (await received('/hook')).filter((r) => r.body.includes(id));
      return all.length >= 2 ? all : undefined;
    }, 'two webhook deliveries');
    const verified = events.map(
      (e) => webhook.verify(e.body, e.headers) as { type: string; data: Record<string, unknown> },
    );
    expect(verified.map((e) => e.type).sort()).toEqual(['approval.approved', 'approval.created']);
    const created = verified.find((e) => e.type === 'approval.created');
    expect(created?.data).toMatchObject({
      approvalId: id,
      rule: 'test-rule',
      subject: { objectId: ALICE },
      quorum: { count: 1 },
      links: { page: `https://edgeward.test/_gateway/approvals/${id}` },
    });
    // A forged body does not verify.
    const first = events[0];
    if (!first) throw new Error('no event');
    expect(() => webhook.verify(first.body.replace('test-rule', 'other-rule'), first.headers)).toThrow();

    const slack = await eventually(async () => (await received('/slack')).find((r) => r.body.includes(id)), 'slack');
    expect(JSON.parse(slack.body).blocks[0].type).toBe('header');
    const teams = await eventually(async () => (await received('/teams')).find((r) => r.body.includes(id)), 'teams');
    expect(JSON.parse(teams.body).attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
  });

  it('retries a failing webhook with backoff from its alarm and records the failure', async () => {
    const id = newId();
    await fetch(`${env.WEBHOOK_RECEIVER_URL}/_fail?match=${id}&count=3`, { method: 'POST' });
    const stub = stubFor(id);
    await openDirect(id, {});
    const outbox = () =>
      runInDurableObject(stub, (_i: ApprovalObject, ctx) => ctx.storage.kv.get<OutboxItem[]>('outbox') ?? []);
    // The first attempt (from the alarm set at creation) fails: each target is rescheduled with backoff.
    const failed = await eventually(async () => {
      await runDurableObjectAlarm(stub);
      const items = await outbox();
      return items.length === 3 && items.every((item) => item.attempt === 1) ? items : undefined;
    }, 'three failed first attempts');
    expect(failed.every((item) => item.lastError === 'HTTP 500' && item.nextAt > Date.now())).toBe(true);
    // Bring the retries forward instead of waiting out the backoff, then let the alarm deliver.
    await runInDurableObject(stub, (_i: ApprovalObject, ctx) => {
      const items = ctx.storage.kv.get<OutboxItem[]>('outbox') ?? [];
      ctx.storage.kv.put(
        'outbox',
        items.map((item) => ({ ...item, nextAt: 0 })),
      );
    });
    await eventually(async () => {
      await runDurableObjectAlarm(stub);
      return (await outbox()).length === 0 ? true : undefined;
    }, 'outbox drained');
    expect((await received('/hook')).some((h) => h.body.includes(id))).toBe(true);
    expect(await stub.deliveryFailures()).toEqual([]);
  });
});
