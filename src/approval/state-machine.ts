/**
 * The approval state machine as pure functions over plain data (no I/O, no clock: `nowMs` is
 * passed in). The Durable Object persists what these return; tests drive them directly.
 *
 * Contract: `pending → approved | denied | expired | cancelled`, `approved → consumed`; nothing
 * leaves `denied | expired | cancelled | consumed` except a new round opened by the gate. The
 * requester (subject, or the actor app of an app-only request) never decides; each approver
 * decides once; `count` approvals approve, `denyCount` denials (default 1) deny.
 */
import type { RequestView } from './request-view.ts';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'consumed';

export interface ApprovalRequestSummary {
  connection: string;
  method: string;
  path: string;
  query: string;
  ruleId: string;
  requesterOid: string | null;
  requesterAppId: string;
  requesterName?: string;
  /** Derived operation (e.g. `DELETE resourceGroups`) and resource, for people reading a card. */
  operation?: string;
  resource?: string;
  /**
   * The WHOLE masked body in compact form, only when it fits a chat card (CHAT_BODY_LIMIT) — never
   * a prefix: a cut body can hide the member that decides what runs. Absent otherwise.
   */
  bodyPreview?: string;
  bodySha256?: string;
  /** What approvers see: the whole request, masked (./request-view.ts). Absent on older approvals. */
  view?: RequestView;
}

export interface ApprovalPolicy {
  groups: readonly string[];
  users: readonly string[];
  count: number;
  ttlSeconds: number;
  /** Denials that end the approval (default 1: a single deny ends it). */
  denyCount?: number;
  reasonRequired?: boolean;
}

export interface ApprovalDecisionRecord {
  approverOid: string;
  verdict: 'approve' | 'deny';
  reason: string;
  at: string;
  via: 'token' | 'callback' | 'page';
}

export interface ApprovalTransition {
  round: number;
  event: 'created' | 'decision' | ApprovalStatus;
  status: ApprovalStatus;
  at: string;
  by: string | null;
  reason: string;
}

export interface ApprovalState {
  id: string;
  round: number;
  status: ApprovalStatus;
  request: ApprovalRequestSummary;
  policy: ApprovalPolicy;
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  consumedAt?: string;
  decisions: ApprovalDecisionRecord[];
  /** Absolute link to the approver's page (`{origin}/_gateway/approvals/{id}`). */
  link: string;
}

export interface Approver {
  objectId: string;
  appId: string;
  groups: readonly string[];
}

export type DecideRefusal =
  | 'not_found'
  | 'not_pending'
  | 'self_approval'
  | 'not_eligible'
  | 'already_decided'
  | 'reason_required';

export type DecideResult =
  | { ok: true; state: ApprovalState; transition: ApprovalTransition }
  | { ok: false; reason: DecideRefusal };

const LIVE: ReadonlySet<ApprovalStatus> = new Set(['pending', 'approved', 'denied']);

export const isLive = (state: ApprovalState | undefined): state is ApprovalState =>
  state !== undefined && LIVE.has(state.status);

/** A new round (first, or after a consumed/expired/cancelled one), or the live one unchanged. */
export function openRound(
  current: ApprovalState | undefined,
  fresh: Omit<ApprovalState, 'round' | 'status' | 'createdAt' | 'expiresAt' | 'decisions'>,
  nowMs: number,
): { state: ApprovalState; created: boolean } {
  if (isLive(current) && Date.parse(current.expiresAt) > nowMs) return { state: current, created: false };
  return {
    created: true,
    state: {
      ...fresh,
      round: (current?.round ?? 0) + 1,
      status: 'pending',
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: new Date(nowMs + fresh.policy.ttlSeconds * 1000).toISOString(),
      decisions: [],
    },
  };
}

export function isEligible(policy: ApprovalPolicy, approver: Pick<Approver, 'objectId' | 'groups'>): boolean {
  return policy.users.includes(approver.objectId) || policy.groups.some((group) => approver.groups.includes(group));
}

export function decide(
  state: ApprovalState | undefined,
  approver: Approver,
  verdict: 'approve' | 'deny',
  reason: string,
  via: ApprovalDecisionRecord['via'],
  nowMs: number,
): DecideResult {
  if (!state) return { ok: false, reason: 'not_found' };
  if (state.status !== 'pending' || Date.parse(state.expiresAt) <= nowMs) return { ok: false, reason: 'not_pending' };
  const { request, policy } = state;
  // The requesting human may not approve; nor may an agent that acted alone approve through its
  // own app. (Comparing app ids for delegated calls would wrongly bar everyone using az.)
  const agentApprovingItself = request.requesterOid === null && approver.appId === request.requesterAppId;
  if (approver.objectId === request.requesterOid || agentApprovingItself) return { ok: false, reason: 'self_approval' };
  if (!isEligible(policy, approver)) return { ok: false, reason: 'not_eligible' };
  if (state.decisions.some((d) => d.approverOid === approver.objectId)) return { ok: false, reason: 'already_decided' };
  if (policy.reasonRequired && reason.trim() === '') return { ok: false, reason: 'reason_required' };
  const at = new Date(nowMs).toISOString();
  const decisions = [...state.decisions, { approverOid: approver.objectId, verdict, reason, at, via }];
  const approvals = decisions.filter((d) => d.verdict === 'approve').length;
  const denials = decisions.length - approvals;
  let status: ApprovalStatus = 'pending';
  if (denials >= (policy.denyCount ?? 1)) status = 'denied';
  else if (approvals >= policy.count) status = 'approved';
  const next: ApprovalState = { ...state, decisions, status, ...(status !== 'pending' ? { decidedAt: at } : {}) };
  return {
    ok: true,
    state: next,
    transition: {
      round: state.round,
      event: status === 'pending' ? 'decision' : status,
      status,
      at,
      by: approver.objectId,
      reason,
    },
  };
}

/** `approved → consumed`, only before expiry. */
export function consume(state: ApprovalState | undefined, nowMs: number): ApprovalState | undefined {
  if (state?.status !== 'approved' || Date.parse(state.expiresAt) <= nowMs) return undefined;
  return { ...state, status: 'consumed', consumedAt: new Date(nowMs).toISOString() };
}

/** A live approval past its expiry becomes `expired` (denials too: they last until expiry). */
export function expire(state: ApprovalState | undefined, nowMs: number): ApprovalState | undefined {
  if (!isLive(state) || Date.parse(state.expiresAt) > nowMs) return undefined;
  return { ...state, status: 'expired' };
}

/** The requester may withdraw a pending approval. */
export function cancel(state: ApprovalState | undefined, nowMs: number): ApprovalState | undefined {
  if (state?.status !== 'pending' || Date.parse(state.expiresAt) <= nowMs) return undefined;
  return { ...state, status: 'cancelled', decidedAt: new Date(nowMs).toISOString() };
}

/** Object ids of the people whose decision made the outcome (approvers of a consumed request). */
export const approversOf = (state: ApprovalState) =>
  state.decisions
    .filter((d) => d.verdict === (state.status === 'denied' ? 'deny' : 'approve'))
    .map((d) => d.approverOid);
