/**
 * One Durable Object per approval binding (the exact request + the requesting principal).
 *
 * Contract: owns the state machine `pending → approved | denied | expired`, `approved → consumed`.
 * An approval is opened by the gate, decided by eligible approvers (never the requester; each
 * approver counts once), consumed exactly once by the request it is bound to, and expired by an
 * alarm (a denial also lasts until then). After `consumed` or `expired`, opening the same binding starts a new round.
 * State lives in the object's SQLite-backed storage, so it survives eviction and restarts.
 */
import { DurableObject } from 'cloudflare:workers';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'consumed';

export interface ApprovalRequestSummary {
  connection: string;
  method: string;
  path: string;
  query: string;
  ruleId: string;
  requesterOid: string | null;
  requesterAppId: string;
}

export interface ApprovalPolicy {
  groups: readonly string[];
  users: readonly string[];
  count: number;
  ttlSeconds: number;
}

export interface ApprovalDecisionRecord {
  approverOid: string;
  verdict: 'approve' | 'deny';
  reason: string;
  at: string;
}

export interface ApprovalState {
  id: string;
  round: number;
  status: ApprovalStatus;
  request: ApprovalRequestSummary;
  policy: ApprovalPolicy;
  createdAt: string;
  expiresAt: string;
  decisions: ApprovalDecisionRecord[];
}

export interface Approver {
  objectId: string;
  appId: string;
  groups: readonly string[];
}

export type DecideResult =
  | { ok: true; state: ApprovalState }
  | { ok: false; reason: 'not_found' | 'not_pending' | 'self_approval' | 'not_eligible' | 'already_decided' };

const STATE_KEY = 'state';

export class ApprovalObject extends DurableObject {
  async open(
    id: string,
    request: ApprovalRequestSummary,
    policy: ApprovalPolicy,
    nowMs: number,
  ): Promise<ApprovalState> {
    const current = await this.#load();
    if (current && (current.status === 'pending' || current.status === 'approved' || current.status === 'denied')) {
      return current;
    }
    const state: ApprovalState = {
      id,
      round: (current?.round ?? 0) + 1,
      status: 'pending',
      request,
      policy,
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: new Date(nowMs + policy.ttlSeconds * 1000).toISOString(),
      decisions: [],
    };
    await this.ctx.storage.put(STATE_KEY, state);
    await this.ctx.storage.setAlarm(nowMs + policy.ttlSeconds * 1000);
    return state;
  }

  async status(): Promise<ApprovalState | null> {
    return (await this.#load()) ?? null;
  }

  async decide(approver: Approver, verdict: 'approve' | 'deny', reason: string, nowMs: number): Promise<DecideResult> {
    const state = await this.#load();
    if (!state) return { ok: false, reason: 'not_found' };
    if (state.status !== 'pending') return { ok: false, reason: 'not_pending' };
    const { request, policy } = state;
    // The requesting human may not approve; nor may an agent that acted alone approve through
    // its own app. (Comparing app ids for delegated calls would wrongly bar everyone using az.)
    const agentApprovingItself = request.requesterOid === null && approver.appId === request.requesterAppId;
    if (approver.objectId === request.requesterOid || agentApprovingItself) {
      return { ok: false, reason: 'self_approval' };
    }
    const eligible =
      policy.users.includes(approver.objectId) || policy.groups.some((group) => approver.groups.includes(group));
    if (!eligible) return { ok: false, reason: 'not_eligible' };
    if (state.decisions.some((d) => d.approverOid === approver.objectId))
      return { ok: false, reason: 'already_decided' };
    state.decisions.push({ approverOid: approver.objectId, verdict, reason, at: new Date(nowMs).toISOString() });
    if (verdict === 'deny') state.status = 'denied';
    else if (state.decisions.filter((d) => d.verdict === 'approve').length >= policy.count) state.status = 'approved';
    await this.ctx.storage.put(STATE_KEY, state);
    return { ok: true, state };
  }

  /** Consume an approved approval; true exactly once. */
  async consume(nowMs: number): Promise<boolean> {
    const state = await this.#load();
    if (state?.status !== 'approved' || Date.parse(state.expiresAt) <= nowMs) return false;
    state.status = 'consumed';
    await this.ctx.storage.put(STATE_KEY, state);
    return true;
  }

  override async alarm(): Promise<void> {
    const state = await this.#load();
    if (state && state.status !== 'consumed' && state.status !== 'expired') {
      state.status = 'expired';
      await this.ctx.storage.put(STATE_KEY, state);
    }
  }

  async #load(): Promise<ApprovalState | undefined> {
    const state = await this.ctx.storage.get<ApprovalState>(STATE_KEY);
    const live = state && state.status !== 'consumed' && state.status !== 'expired';
    if (state && live && Date.parse(state.expiresAt) <= Date.now()) {
      // The alarm may not have fired yet (e.g. right after a restart): expiry is still exact.
      state.status = 'expired';
      await this.ctx.storage.put(STATE_KEY, state);
    }
    return state;
  }
}
