/**
 * The approval gate as clients experience it, in workerd with real D1 and Durable Objects:
 * hold-open until approved or denied, wait timeout then retry, exact binding, single use.
 */

import { listDurableObjectIds } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createGroup, decide, eventually, pendingApprovalFor, rgPath, stubFor, tokens } from './approval-helpers.ts';
import { auditRow, gateway, mintToken } from './helpers.ts';

describe('approval gate: holding the request open', () => {
  it('holds a DELETE open until an approver approves, then proceeds upstream once', async () => {
    const t = await tokens();
    await createGroup(t.alice, 'hold-approve');
    const held = gateway(rgPath('hold-approve'), { token: t.alice, method: 'DELETE', headers: { prefer: 'wait=20' } });
    const id = await pendingApprovalFor(t.bob, 'hold-approve');
    const approved = await decide(t.bob, id, 'approve', 'planned');
    expect(approved.status).toBe(200);

    const response = await held;
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toContain('/operationresults/');
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'require_approval', approval_id: id, outcome: 'completed', status: 202 });
    expect((await stubFor(id).status())?.status).toBe('consumed');
  });

  it('holds a DELETE open until an approver denies, then refuses with 403 and the reason', async () => {
    const t = await tokens();
    const held = gateway(rgPath('hold-deny'), { token: t.alice, method: 'DELETE', headers: { prefer: 'wait=20' } });
    const id = await pendingApprovalFor(t.bob, 'hold-deny');
    expect((await decide(t.bob, id, 'deny', 'not during the freeze')).status).toBe(200);
    const response = await held;
    expect(response.status).toBe(403);
    const problem = (await response.json()) as { code: string; detail: string; approvalId: string };
    expect(problem).toMatchObject({ code: 'EDGEWARD_APPROVAL_DENIED', approvalId: id });
    expect(problem.detail).toContain('not during the freeze');
  });

  it('releases every client waiting on one approval', async () => {
    const t = await tokens();
    await createGroup(t.alice, 'many-waiters');
    const waiters = [1, 2, 3].map(() =>
      gateway(rgPath('many-waiters'), { token: t.alice, method: 'DELETE', headers: { prefer: 'wait=20' } }),
    );
    const id = await pendingApprovalFor(t.bob, 'many-waiters');
    await decide(t.bob, id, 'approve', 'ok');
    const statuses = await Promise.all(waiters.map(async (w) => (await w).status));
    // Exactly one consumed the approval and went upstream; the others now wait for a new round
    // (or, having nothing left to wait for, report that round as pending).
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 403)).toHaveLength(2);
  });

  it('answers 403 APPROVAL_PENDING when the wait ends, 202 with Prefer: respond-async, and a retry finds it', async () => {
    const t = await tokens();
    await createGroup(t.alice, 'wait-retry');
    const first = await gateway(rgPath('wait-retry'), {
      token: t.alice,
      method: 'DELETE',
      headers: { prefer: 'wait=0' },
    });
    expect(first.status).toBe(403);
    const pending = (await first.json()) as { code: string; approvalId: string; statusUrl: string; expiresAt: string };
    expect(pending.code).toBe('EDGEWARD_APPROVAL_PENDING');
    expect(pending.statusUrl).toBe(`/_gateway/approvals/${pending.approvalId}`);
    expect(Date.parse(pending.expiresAt)).toBeGreaterThan(Date.now());

    const async = await gateway(rgPath('wait-retry'), {
      token: t.alice,
      method: 'DELETE',
      headers: { prefer: 'respond-async' },
    });
    expect(async.status).toBe(202);
    expect(async.headers.get('preference-applied')).toBe('respond-async');
    expect(((await async.json()) as { approvalId: string }).approvalId).toBe(pending.approvalId);

    expect((await decide(t.bob, pending.approvalId, 'approve')).status).toBe(200);
    const retry = await gateway(rgPath('wait-retry'), {
      token: t.alice,
      method: 'DELETE',
      headers: { 'x-edgeward-approval-id': pending.approvalId },
    });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('location')).toContain('/operationresults/');
    const row = await auditRow(retry.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ approval_id: pending.approvalId, outcome: 'completed' });
    // Every transition is mirrored to D1 with who, when and why.
    const events = await eventually(async () => {
      const { results } = await env.AUDIT_DB.prepare(
        'SELECT event, by_oid, reason FROM approval_events WHERE approval_id = ? ORDER BY seq',
      )
        .bind(pending.approvalId)
        .all<{ event: string; by_oid: string | null; reason: string }>();
      return results.length >= 3 ? results : undefined;
    }, 'three approval events');
    expect(events.map((e) => e.event)).toEqual(['created', 'approved', 'consumed']);
    expect(events[1]).toMatchObject({ by_oid: 'bbbbbbbb-0000-4000-8000-000000000b0b' });
  });

  it('does not let an approval match another body, another user, or a mismatched approval-id header', async () => {
    const t = await tokens();
    const other = await mintToken({ user: 'erin@contoso.com', groups: ['writers'] });
    const first = await gateway(rgPath('bound'), { token: t.alice, method: 'DELETE', headers: { prefer: 'wait=0' } });
    const { approvalId } = (await first.json()) as { approvalId: string };
    await decide(t.bob, approvalId, 'approve');

    const withBody = await gateway(rgPath('bound'), {
      token: t.alice,
      method: 'DELETE',
      body: '{"force":true}',
      headers: { prefer: 'wait=0' },
    });
    expect(withBody.status).toBe(403);
    expect(((await withBody.json()) as { approvalId: string }).approvalId).not.toBe(approvalId);

    const otherUser = await gateway(rgPath('bound'), { token: other, method: 'DELETE', headers: { prefer: 'wait=0' } });
    expect(otherUser.status).toBe(403);
    expect(((await otherUser.json()) as { approvalId: string }).approvalId).not.toBe(approvalId);

    const mismatched = await gateway(rgPath('bound-elsewhere'), {
      token: t.alice,
      method: 'DELETE',
      headers: { prefer: 'wait=0', 'x-edgeward-approval-id': approvalId },
    });
    expect(mismatched.status).toBe(409);
    expect((await stubFor(approvalId).status())?.status).toBe('approved');
  });

  it('consumes an approval exactly once under concurrent retries', async () => {
    const t = await tokens();
    await createGroup(t.alice, 'concurrent');
    const first = await gateway(rgPath('concurrent'), {
      token: t.alice,
      method: 'DELETE',
      headers: { prefer: 'wait=0' },
    });
    const { approvalId } = (await first.json()) as { approvalId: string };
    await decide(t.bob, approvalId, 'approve');
    const retries = await Promise.all(
      Array.from({ length: 8 }, () =>
        gateway(rgPath('concurrent'), { token: t.alice, method: 'DELETE', headers: { prefer: 'wait=0' } }),
      ),
    );
    const statuses = retries.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 403)).toHaveLength(7);
    const state = await stubFor(approvalId).status();
    // The first round was consumed; the losing retries opened one new pending round.
    expect(state).toMatchObject({ round: 2, status: 'pending' });
  });

  it('refuses a decision without a reason when the rule requires one (the starter policy does)', async () => {
    const t = await tokens();
    const first = await gateway(rgPath('needs-reason'), {
      token: t.alice,
      method: 'DELETE',
      headers: { prefer: 'wait=0' },
    });
    const { approvalId } = (await first.json()) as { approvalId: string };
    const silent = await decide(t.bob, approvalId, 'approve', '   ');
    expect(silent.status).toBe(400);
    expect((await stubFor(approvalId).status())?.status).toBe('pending');
    const explained = await decide(t.bob, approvalId, 'approve', 'ticket CHG-42');
    expect(explained.status).toBe(200);
    expect((await stubFor(approvalId).status())?.status).toBe('approved');
  });

  it('refuses self-approval and approvers outside the rule, lets the requester see status, hides it from others', async () => {
    const t = await tokens();
    const first = await gateway(rgPath('who-decides'), {
      token: t.alice,
      method: 'DELETE',
      headers: { prefer: 'wait=0' },
    });
    const { approvalId } = (await first.json()) as { approvalId: string };
    const aliceApprover = await mintToken({ user: 'alice@contoso.com', groups: ['writers', 'approvers'] });
    const self = await decide(aliceApprover, approvalId, 'approve');
    expect(self.status).toBe(403);
    expect(((await self.json()) as { detail: string }).detail).toContain('self_approval');
    const outsider = await decide(t.carol, approvalId, 'approve');
    expect(outsider.status).toBe(403);
    expect(((await outsider.json()) as { detail: string }).detail).toContain('not_eligible');
    expect((await gateway(`/_gateway/approvals/${approvalId}`, { token: t.alice })).status).toBe(200);
    expect((await gateway(`/_gateway/approvals/${approvalId}`, { token: t.carol })).status).toBe(403);
    const cancel = await gateway(`/_gateway/approvals/${approvalId}/cancel`, { token: t.alice, method: 'POST' });
    expect(cancel.status).toBe(200);
    expect((await stubFor(approvalId).status())?.status).toBe('cancelled');
  });

  it('does not call the approval object for requests that need no approval', async () => {
    const t = await tokens();
    const before = (await listDurableObjectIds(env.APPROVALS)).length;
    const response = await gateway(rgPath('no-approval'), {
      token: t.alice,
      method: 'PUT',
      body: JSON.stringify({ location: 'westeurope' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(201);
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'allow', approval_id: null });
    const read = await gateway('/arm/subscriptions?api-version=2022-12-01', {
      token: await mintToken({ user: 'alice@contoso.com', groups: ['readers'] }),
    });
    expect(read.status).toBe(200);
    await read.arrayBuffer();
    // No approval object was created (or touched into existence) by either request.
    expect((await listDurableObjectIds(env.APPROVALS)).length).toBe(before);
    // Control: a request held for approval does create one.
    const held = await gateway(rgPath('no-approval'), {
      token: t.alice,
      method: 'DELETE',
      headers: { prefer: 'wait=0' },
    });
    expect(held.status).toBe(403);
    expect((await listDurableObjectIds(env.APPROVALS)).length).toBe(before + 1);
  });
});
