/**
 * The approval gate step of the pipeline, for a request whose policy decision is
 * `require_approval` (requests that need no approval never reach this module: no DO call).
 *
 * Contract: reads the body (capped at APPROVAL_BODY_LIMIT), builds the approver's view of the whole
 * request (./request-view.ts) — a request too large to be shown whole is refused (413
 * EDGEWARD_BODY_TOO_LARGE) here, before any approval exists — binds it to its approval (./gate.ts),
 * and then either
 * - returns the body bytes to send upstream, having consumed the approved round exactly once and
 *   set `approvers` on the audit record; or
 * - throws a typed error: 403 EDGEWARD_APPROVAL_DENIED (denied, expired or cancelled, with the
 *   reason), or EDGEWARD_APPROVAL_PENDING when the wait ended first — 403 by default (so `az` and
 *   `kubectl` report it instead of mistaking it for success), 202 when the client opted into
 *   asynchronous processing with `Prefer: respond-async` (RFC 7240 §4.1).
 * While the approval is pending the request is held open up to `Prefer: wait=N` (RFC 7240 §4.3),
 * capped by `APPROVAL_MAX_WAIT_SECONDS` (also the default). A Durable Object reset while waiting
 * is retried with a fresh stub; the approval itself lives in storage and is unaffected.
 */
import type { AuditRecord } from '../audit/index.ts';
import type { Principal } from '../auth/index.ts';
import { approvalDenied, approvalPending, EdgewardError } from '../errors.ts';
import type { ApprovalSpec } from '../policy/index.ts';
import { readStreamCapped } from '../proxy/read-body.ts';
import { sha256Hex } from '../util/sha256.ts';
import type { ApprovalObject } from './approval-object.ts';
import { approvalIdFor, boundHeaders } from './gate.ts';
import { parsePrefer } from './prefer.ts';
import { APPROVAL_BODY_LIMIT, type EmbeddedRequest, requestView, type TemplateResources } from './request-view.ts';
import { type ApprovalState, approversOf } from './state-machine.ts';

export const APPROVAL_ID_HEADER = 'x-edgeward-approval-id';
const DEFAULT_MAX_WAIT_SECONDS = 25;

export interface GateInput {
  /** The held request; its body is not read here (see `body`). */
  request: Request;
  /** The request body, read once by `readApprovalBody` (the caller also judges it). */
  body: ArrayBuffer;
  connection: string;
  path: string;
  search: string;
  principal: Principal;
  approval: ApprovalSpec & { reason_required?: boolean; deny_count?: number };
  ruleId: string;
  maskKeys: readonly string[];
  record: AuditRecord;
  /** The requests embedded in an ARM `/batch` or Graph `$batch`, each as policy judged it. */
  embedded?: readonly EmbeddedRequest[];
  /** The resources of an ARM template deployment, or the link of a template that is not inline. */
  templateResources?: TemplateResources;
}

export interface GateDeps {
  env: Env;
  now(): number;
}

/**
 * A held request's body, read whole up to APPROVAL_BODY_LIMIT; above it, the request cannot be
 * approved (413, before any approval exists).
 */
export function readApprovalBody(
  body: ReadableStream<Uint8Array> | null,
  contentLength: string | null,
): Promise<ArrayBuffer> {
  return readStreamCapped(body, contentLength, APPROVAL_BODY_LIMIT).catch((error: unknown) => {
    throw error instanceof EdgewardError && error.code === 'EDGEWARD_BODY_TOO_LARGE'
      ? tooLargeToApprove(`the body is over ${APPROVAL_BODY_LIMIT} bytes`)
      : error;
  });
}

/** Hold, match and consume; returns the body to send upstream (null when empty). */
export async function approvalGate(input: GateInput, deps: GateDeps): Promise<ArrayBuffer | null> {
  const { request, principal, record, body: bytes } = input;
  const bodySha256 = await sha256Hex(bytes);
  // Approvers see the whole request or nothing: one that cannot be shown whole is refused now,
  // before any approval (Durable Object, webhook, mirror row) exists.
  const built = requestView({
    method: request.method,
    connection: input.connection,
    path: input.path,
    search: input.search,
    headers: request.headers,
    body: bytes,
    bodySha256,
    maskKeys: input.maskKeys,
    embedded: input.embedded,
    templateResources: input.templateResources,
  });
  if (!built.ok) throw tooLargeToApprove(built.detail);
  const approvalId = await approvalIdFor({
    connection: input.connection,
    method: request.method,
    path: input.path,
    query: input.search,
    bodySha256,
    subjectOid: principal.subject?.objectId ?? null,
    actorAppId: principal.actor.appId,
    contentType: request.headers.get('content-type'),
    ruleId: input.ruleId,
    approval: input.approval,
    headers: boundHeaders(request.headers),
  });
  record.approvalId = approvalId;
  const explicit = request.headers.get(APPROVAL_ID_HEADER);
  if (explicit !== null && explicit.trim() !== approvalId) {
    throw new EdgewardError('EDGEWARD_APPROVAL_NOT_FOUND', 409, 'Approval does not match', {
      publicDetail: `Approval ${explicit.slice(0, 64)} is not bound to this request (method, path, query, body and caller must be identical).`,
      auditDetail: `explicit approval id ${explicit.slice(0, 64)} != ${approvalId}`,
      extensions: { approvalId },
    });
  }

  const prefer = parsePrefer(request.headers.get('prefer'));
  const cap = maxWaitSeconds(deps.env);
  const waitMs = Math.min(prefer.wait ?? (prefer.respondAsync ? 0 : cap), cap) * 1000;
  let deadline = deps.now() + waitMs;
  const link = `${new URL(request.url).origin}/_gateway/approvals/${approvalId}`;
  const summary = {
    connection: input.connection,
    method: request.method,
    path: input.path,
    query: record.query,
    ruleId: input.ruleId,
    requesterOid: principal.subject?.objectId ?? null,
    requesterAppId: principal.actor.appId,
    ...(principal.subject?.displayName ? { requesterName: principal.subject.displayName } : {}),
    operation: record.operation ?? `${request.method} ${input.path}`,
    resource: record.resourceId ?? input.path,
    // Chat cards carry the body only when all of it fits; the page and the API show `view`.
    ...(built.preview !== undefined ? { bodyPreview: built.preview } : {}),
    bodySha256,
    view: built.view,
  };
  const policy = {
    groups: input.approval.groups,
    users: input.approval.users,
    count: input.approval.count,
    ttlSeconds: input.approval.ttl_seconds,
    denyCount: input.approval.deny_count ?? 1,
    reasonRequired: input.approval.reason_required ?? false,
  };
  const object = new ApprovalClient(deps.env, approvalId);
  const open = () => object.call((s) => s.open(approvalId, summary, policy, link, deps.now()));

  // One round trip for the common cases: a new approval, or the retry of an approved one.
  const claimed = await object.call((s) => s.claim(approvalId, summary, policy, link, deps.now()));
  if (claimed.consumed) {
    record.approvers = approversOf(claimed.state);
    return bytes.byteLength > 0 ? bytes : null;
  }
  let state: ApprovalState = claimed.state;
  for (;;) {
    if (state.status === 'approved') {
      const consumed = await object.stub.consume(state.round, deps.now());
      if (consumed) {
        record.approvers = approversOf(consumed);
        return bytes.byteLength > 0 ? bytes : null;
      }
      // A concurrent retry consumed this round first: this request needs an approval of its own;
      // open it and answer now rather than hold a duplicate for a whole new wait.
      state = await open();
      deadline = deps.now();
      continue;
    }
    if (state.status === 'denied') {
      record.approvers = approversOf(state);
      throw approvalDenied(approvalId, state.decisions.find((d) => d.verdict === 'deny')?.reason ?? '');
    }
    if (state.status === 'expired' || state.status === 'cancelled') throw ended(approvalId, state.status);
    if (state.status === 'consumed') {
      state = await open();
      continue;
    }
    const remaining = deadline - deps.now();
    if (remaining <= 0) {
      record.outcome = 'approval_pending';
      throw pending(approvalId, state.expiresAt, prefer.respondAsync);
    }
    const round = state.round;
    state = (await object.call((s) => s.wait(round, remaining))) ?? (await open());
  }
}

/** A stub that is replaced when the object was reset (eviction, deploy, restart) mid-call. */
class ApprovalClient {
  stub: DurableObjectStub<ApprovalObject>;
  readonly #env: Env;
  readonly #id: string;
  constructor(env: Env, id: string) {
    this.#env = env;
    this.#id = id;
    this.stub = this.#fresh();
  }
  #fresh() {
    return this.#env.APPROVALS.get(this.#env.APPROVALS.idFromName(this.#id)) as DurableObjectStub<ApprovalObject>;
  }
  /** Only for idempotent calls (open, status, wait). */
  async call<T>(fn: (stub: DurableObjectStub<ApprovalObject>) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(this.stub);
      } catch (error) {
        if (attempt >= 3) throw error;
        this.stub = this.#fresh();
      }
    }
  }
}

function maxWaitSeconds(env: Env): number {
  const value = Number(env.APPROVAL_MAX_WAIT_SECONDS ?? DEFAULT_MAX_WAIT_SECONDS);
  return Number.isFinite(value) ? Math.min(Math.max(Math.floor(value), 0), 300) : DEFAULT_MAX_WAIT_SECONDS;
}

function pending(approvalId: string, expiresAt: string, respondAsync: boolean): EdgewardError {
  const accepted = approvalPending(approvalId, expiresAt);
  if (respondAsync) {
    return new EdgewardError(accepted.code, 202, accepted.title, {
      ...(accepted.publicDetail ? { publicDetail: accepted.publicDetail } : {}),
      ...(accepted.auditDetail ? { auditDetail: accepted.auditDetail } : {}),
      extensions: accepted.extensions,
      headers: { ...accepted.headers, 'preference-applied': 'respond-async' },
    });
  }
  return new EdgewardError(accepted.code, 403, accepted.title, {
    publicDetail: `This request needs an approval (${approvalId}), still pending. Ask an approver to review ${accepted.extensions.statusUrl}; then send the same request again before ${expiresAt}.`,
    ...(accepted.auditDetail ? { auditDetail: accepted.auditDetail } : {}),
    extensions: accepted.extensions,
    headers: accepted.headers,
  });
}

/** Refused before an approval exists: approvers would not see all of what executes. */
function tooLargeToApprove(detail: string): EdgewardError {
  return new EdgewardError('EDGEWARD_BODY_TOO_LARGE', 413, 'Request too large to approve', {
    publicDetail: `Policy requires an approval for this request, and approvers must see a request whole before it runs: ${detail}. No approval was requested. Send smaller requests (bodies up to ${APPROVAL_BODY_LIMIT} bytes), or ask an administrator to change the policy.`,
    auditDetail: `not held for approval: ${detail}`,
    extensions: { limit: APPROVAL_BODY_LIMIT },
  });
}

function ended(approvalId: string, status: 'expired' | 'cancelled'): EdgewardError {
  return new EdgewardError('EDGEWARD_APPROVAL_DENIED', 403, `Approval ${status}`, {
    publicDetail: `The approval for this request was ${status}. Send it again to ask for a new one.`,
    auditDetail: `approval ${approvalId} ${status}`,
    extensions: { approvalId },
  });
}
