import { describe, expect, it } from 'vitest';
import {
  type ApprovalState,
  approversOf,
  cancel,
  consume,
  decide,
  expire,
  openRound,
} from '../../../src/approval/state-machine.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const REQUESTER = 'oid-requester';
const CLI = 'app-cli';

function fresh(policy: Partial<ApprovalState['policy']> = {}) {
  return openRound(
    undefined,
    {
      id: 'a'.repeat(32),
      link: 'https://gw/_gateway/approvals/x',
      request: {
        connection: 'arm',
        method: 'DELETE',
        path: '/x',
        query: '',
        ruleId: 'r',
        requesterOid: REQUESTER,
        requesterAppId: CLI,
      },
      policy: { groups: ['g-approvers'], users: ['oid-listed'], count: 1, ttlSeconds: 600, ...policy },
    },
    T0,
  ).state;
}

const approver = (objectId: string, groups: string[] = ['g-approvers'], appId = CLI) => ({ objectId, groups, appId });

describe('approval state machine', () => {
  it('opens a pending round that expires after the ttl', () => {
    const state = fresh();
    expect(state).toMatchObject({ round: 1, status: 'pending', expiresAt: '2026-01-01T00:10:00.000Z' });
  });

  it('refuses the requester, the ineligible, a second decision by the same person, and late decisions', () => {
    const state = fresh({ count: 2 });
    expect(decide(state, approver(REQUESTER), 'approve', '', 'token', T0)).toEqual({
      ok: false,
      reason: 'self_approval',
    });
    expect(decide(state, approver('oid-x', ['other']), 'approve', '', 'token', T0)).toEqual({
      ok: false,
      reason: 'not_eligible',
    });
    const once = decide(state, approver('oid-b'), 'approve', '', 'token', T0);
    if (!once.ok) throw new Error('expected ok');
    expect(once.state.status).toBe('pending');
    expect(decide(once.state, approver('oid-b'), 'approve', '', 'token', T0)).toEqual({
      ok: false,
      reason: 'already_decided',
    });
    expect(decide(state, approver('oid-b'), 'approve', '', 'token', T0 + 600_000)).toEqual({
      ok: false,
      reason: 'not_pending',
    });
  });

  it('refuses an app approving its own app-only request, but not a person using the same client app', () => {
    const appOnly = { ...fresh(), request: { ...fresh().request, requesterOid: null } };
    expect(decide(appOnly, approver('oid-b', ['g-approvers'], CLI), 'approve', '', 'token', T0)).toEqual({
      ok: false,
      reason: 'self_approval',
    });
    expect(decide(fresh(), approver('oid-b', ['g-approvers'], CLI), 'approve', '', 'token', T0).ok).toBe(true);
  });

  it('approves at quorum, denies at the first denial by default, or at deny_count', () => {
    let state = fresh({ count: 2 });
    for (const oid of ['oid-b', 'oid-listed']) {
      const result = decide(
        state,
        approver(oid, oid === 'oid-listed' ? [] : ['g-approvers']),
        'approve',
        '',
        'token',
        T0,
      );
      if (!result.ok) throw new Error(result.reason);
      state = result.state;
    }
    expect(state.status).toBe('approved');
    expect(approversOf(state)).toEqual(['oid-b', 'oid-listed']);
    const denied = decide(fresh({ count: 2 }), approver('oid-b'), 'deny', 'no', 'token', T0);
    expect(denied.ok && denied.state.status).toBe('denied');
    const tolerant = decide(fresh({ denyCount: 2 }), approver('oid-b'), 'deny', 'no', 'token', T0);
    expect(tolerant.ok && tolerant.state.status).toBe('pending');
  });

  it('requires a reason when the rule says so', () => {
    expect(decide(fresh({ reasonRequired: true }), approver('oid-b'), 'approve', ' ', 'token', T0)).toEqual({
      ok: false,
      reason: 'reason_required',
    });
  });

  it('consumes once, only when approved and before expiry; then a new round opens', () => {
    const approved = decide(fresh(), approver('oid-b'), 'approve', '', 'token', T0);
    if (!approved.ok) throw new Error('expected ok');
    expect(consume(fresh(), T0)).toBeUndefined();
    expect(consume(approved.state, T0 + 600_000)).toBeUndefined();
    const consumed = consume(approved.state, T0 + 1);
    expect(consumed?.status).toBe('consumed');
    expect(consume(consumed, T0 + 2)).toBeUndefined();
    const next = openRound(
      consumed,
      { id: 'x', link: '', request: approved.state.request, policy: approved.state.policy },
      T0 + 3,
    );
    expect(next).toMatchObject({ created: true, state: { round: 2, status: 'pending' } });
    // A live round is returned unchanged.
    expect(
      openRound(
        next.state,
        { id: 'x', link: '', request: approved.state.request, policy: approved.state.policy },
        T0 + 4,
      ).created,
    ).toBe(false);
  });

  it('expires live rounds only after the expiry, and cancels only pending ones', () => {
    expect(expire(fresh(), T0 + 599_999)).toBeUndefined();
    expect(expire(fresh(), T0 + 600_000)?.status).toBe('expired');
    expect(cancel(fresh(), T0)?.status).toBe('cancelled');
    expect(cancel(expire(fresh(), T0 + 600_000), T0 + 600_001)).toBeUndefined();
  });
});
