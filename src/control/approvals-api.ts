/**
 * Approvals in the control plane (every call gets its own audit row):
 * - `GET /_gateway/approvals?status=pending`: approvals the caller may decide or requested (D1 mirror);
 * - `GET /_gateway/approvals/{id}`: the state, for the requester and eligible approvers (from the
 *   DO), with `request.view`: the WHOLE request as the upstream will receive it — method, path,
 *   redacted query, headers without credentials, the complete masked body, embedded batch
 *   requests and template resources (src/approval/request-view.ts);
 * - `POST /_gateway/approvals/{id}/decision`: approve or deny, either with the approver's own Entra
 *   bearer token (groups from the token) or as a signed chat-ops callback (Standard Webhooks with
 *   APPROVAL_CALLBACK_SECRET; the body names the approver's object id; a webhook id is accepted
 *   once; eligibility is the rule's `users`, or its `groups` as last seen on that approver's own
 *   verified token within APPROVAL_CALLBACK_GROUPS_MAX_AGE_SECONDS);
 * - `POST /_gateway/approvals/{id}/cancel`: the requester withdraws a pending approval.
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { type ApprovalObject, type ApprovalState, isEligible, verifyCallback } from '../approval/index.ts';
import type { Principal } from '../auth/index.ts';
import { badRequest, EdgewardError } from '../errors.ts';

import { audited, type ControlEnv, forbidden, withControlAudit } from './audited.ts';

const Reason = v.optional(v.pipe(v.string(), v.maxLength(500)), '');
const DecisionBody = v.object({ decision: v.picklist(['approve', 'deny']), reason: Reason });
const CallbackBody = v.object({
  approvalId: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
  approver: v.object({ objectId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/i)) }),
  decision: v.picklist(['approve', 'deny']),
  reason: Reason,
});

export const approvalNotFound = () =>
  new EdgewardError('EDGEWARD_APPROVAL_NOT_FOUND', 404, 'Not found', { publicDetail: 'No such approval.' });

const signatureInvalid = (reason: string) =>
  new EdgewardError('EDGEWARD_WEBHOOK_SIGNATURE_INVALID', 401, 'Invalid callback signature', {
    publicDetail: 'The callback signature could not be verified.',
    auditDetail: `callback refused: ${reason}`,
  });

export function approvalStub(env: Env, id: string): DurableObjectStub<ApprovalObject> {
  if (!/^[0-9a-f]{32}$/.test(id)) throw approvalNotFound();
  return env.APPROVALS.get(env.APPROVALS.idFromName(id)) as DurableObjectStub<ApprovalObject>;
}

/** May this principal see this approval? The requester and anyone eligible to decide it. */
export function mayView(state: ApprovalState, principal: Principal): boolean {
  const oid = principal.subject?.objectId ?? null;
  const requester =
    oid !== null ? state.request.requesterOid === oid : state.request.requesterAppId === principal.actor.appId;
  return requester || (oid !== null && isEligible(state.policy, { objectId: oid, groups: principal.groups }));
}

/** Remember the groups on an approver's verified token, for later signed callbacks naming them. */
export async function rememberGroups(db: D1Database, principal: Principal, nowMs: number): Promise<void> {
  if (!principal.subject) return;
  await db
    .prepare(
      `INSERT INTO approver_groups (object_id, groups, seen_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (object_id) DO UPDATE SET groups = excluded.groups, seen_at = excluded.seen_at`,
    )
    .bind(principal.subject.objectId, JSON.stringify(principal.groups), new Date(nowMs).toISOString())
    .run()
    .catch(() => undefined);
}

export type DecisionVia = 'token' | 'callback' | 'page';

/** Apply one person's decision; throws the typed refusal. */
export async function applyDecision(
  env: Env,
  id: string,
  approver: { objectId: string; appId: string; groups: readonly string[] },
  decision: 'approve' | 'deny',
  reason: string,
  via: DecisionVia,
): Promise<ApprovalState> {
  const result = await approvalStub(env, id).decide(approver, decision, reason, via, Date.now());
  if (result.ok) return result.state;
  if (result.reason === 'not_found') throw approvalNotFound();
  if (result.reason === 'not_pending' || result.reason === 'already_decided') {
    throw new EdgewardError('EDGEWARD_BAD_REQUEST', 409, 'Conflict', {
      publicDetail: `This approval cannot take your decision (${result.reason}).`,
      auditDetail: result.reason,
    });
  }
  if (result.reason === 'reason_required') throw badRequest('This rule requires a reason with each decision.');
  throw forbidden(`You may not decide this approval (${result.reason}).`, result.reason);
}

export const approvalsApi = new Hono<ControlEnv>()
  .get('/approvals', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'approval list', async (_gateway, principal) => {
      const status = c.req.query('status');
      if (status && !['pending', 'approved', 'denied', 'expired', 'cancelled', 'consumed'].includes(status)) {
        throw badRequest('status must be one of pending, approved, denied, expired, cancelled, consumed.');
      }
      c.executionCtx.waitUntil(rememberGroups(c.env.AUDIT_DB, principal, Date.now()));
      const { results } = await c.env.AUDIT_DB.prepare(
        `SELECT * FROM approvals WHERE (?1 IS NULL OR status = ?1) ORDER BY created_at DESC LIMIT 500`,
      )
        .bind(status ?? null)
        .all<Record<string, unknown>>();
      const oid = principal.subject?.objectId ?? null;
      const visible = results.filter((row) => {
        const groups = JSON.parse(String(row.eligible_groups ?? '[]')) as string[];
        const users = JSON.parse(String(row.eligible_users ?? '[]')) as string[];
        const eligible = oid !== null && (users.includes(oid) || groups.some((g) => principal.groups.includes(g)));
        return eligible || (oid !== null && row.requester_oid === oid);
      });
      return Response.json({
        approvals: visible.slice(0, 100).map((row) => ({
          approvalId: row.approval_id,
          round: row.round,
          status: row.status,
          connection: row.connection,
          method: row.method,
          path: row.path,
          ruleId: row.rule_id,
          requesterOid: row.requester_oid,
          requiredCount: row.required_count,
          approvals: row.approvals,
          denials: row.denials,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
          statusUrl: `/_gateway/approvals/${row.approval_id}`,
        })),
      });
    }),
  )
  .get('/approvals/:id', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'approval status', async (_gateway, principal, audit) => {
      const id = c.req.param('id');
      audit.record.approvalId = id;
      const state = await approvalStub(c.env, id).status();
      if (!state) throw approvalNotFound();
      if (!mayView(state, principal))
        throw forbidden('Only the requester and eligible approvers may see this.', 'not requester nor approver');
      c.executionCtx.waitUntil(rememberGroups(c.env.AUDIT_DB, principal, Date.now()));
      return Response.json(state);
    }),
  )
  .post('/approvals/:id/cancel', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'approval cancel', async (_gateway, principal, audit) => {
      const id = c.req.param('id');
      audit.record.approvalId = id;
      const state = await approvalStub(c.env, id).cancel(
        principal.subject?.objectId ?? null,
        principal.actor.appId,
        Date.now(),
      );
      if (!state) throw forbidden('Only the requester may cancel a pending approval.', 'cancel refused');
      return Response.json(state);
    }),
  )
  .post('/approvals/:id/decision', async (c) => {
    if (c.req.header('webhook-signature') !== undefined)
      return signedCallback(c.req.raw, c.env, c.req.param('id'), c.executionCtx);
    return audited(c.req.raw, c.env, c.executionCtx, 'approval decision', async (_gateway, principal, audit) => {
      const id = c.req.param('id');
      audit.record.approvalId = id;
      const parsed = v.safeParse(DecisionBody, await c.req.json().catch(() => undefined));
      if (!parsed.success) throw badRequest('Body must be {"decision": "approve"|"deny", "reason"?: string}.');
      if (!principal.subject) throw forbidden('Approvals are decided by people, not apps.', 'app-only approver');
      c.executionCtx.waitUntil(rememberGroups(c.env.AUDIT_DB, principal, Date.now()));
      const state = await applyDecision(
        c.env,
        id,
        { objectId: principal.subject.objectId, appId: principal.actor.appId, groups: principal.groups },
        parsed.output.decision,
        parsed.output.reason,
        'token',
      );
      audit.record.approvers = [principal.subject.objectId];
      audit.record.detail = `${parsed.output.decision}: ${parsed.output.reason}`.slice(0, 500);
      return Response.json(state);
    });
  });

/** A decision from a trusted chat-ops bridge, signed with APPROVAL_CALLBACK_SECRET; audited here. */
async function signedCallback(
  request: Request,
  env: Env,
  id: string,
  ctx: { waitUntil(promise: Promise<unknown>): void },
): Promise<Response> {
  return withControlAudit(request, env, ctx, 'approval callback', async (audit) => {
    audit.record.decision = 'control';
    audit.record.approvalId = id;
    const secret = env.APPROVAL_CALLBACK_SECRET;
    if (!secret) throw signatureInvalid('APPROVAL_CALLBACK_SECRET is not set');
    const body = await request.text();
    if (body.length > 16_384) throw badRequest('Callback body too large.');
    const verified = await verifyCallback(secret, body, request.headers, Date.now());
    if (!verified.ok) throw signatureInvalid(verified.reason);
    const parsed = v.safeParse(CallbackBody, JSON.parse(body) as unknown);
    if (!parsed.success)
      throw badRequest('Callback body must be {"approvalId", "approver": {"objectId"}, "decision", "reason"?}.');
    // The signature covers the body, not the URL: the body must name this approval.
    if (parsed.output.approvalId !== id) throw signatureInvalid('approval id in body does not match the URL');
    // Replay protection: a webhook id is accepted once (durably; the insert is the check).
    const fresh = await env.AUDIT_DB.prepare(
      'INSERT OR IGNORE INTO approval_callback_ids (webhook_id, received_at) VALUES (?1, ?2)',
    )
      .bind(verified.msgId, new Date().toISOString())
      .run();
    if (fresh.meta.changes !== 1) throw signatureInvalid(`replayed webhook id ${verified.msgId.slice(0, 64)}`);
    const oid = parsed.output.approver.objectId.toLowerCase();
    const state = await applyDecision(
      env,
      id,
      { objectId: oid, appId: 'chat-ops-callback', groups: await knownGroups(env, oid) },
      parsed.output.decision,
      parsed.output.reason,
      'callback',
    );
    audit.record.approvers = [oid];
    audit.record.detail = `approval callback ${parsed.output.decision} by ${oid}`;
    return Response.json(state);
  });
}

/** Groups last seen on this person's own verified token, if recent enough; else none. */
async function knownGroups(env: Env, oid: string): Promise<string[]> {
  const maxAge = Number(env.APPROVAL_CALLBACK_GROUPS_MAX_AGE_SECONDS ?? '86400') || 86400;
  const row = await env.AUDIT_DB.prepare('SELECT groups, seen_at FROM approver_groups WHERE object_id = ?1')
    .bind(oid)
    .first<{ groups: string; seen_at: string }>();
  if (!row || Date.parse(row.seen_at) < Date.now() - maxAge * 1000) return [];
  return JSON.parse(row.groups) as string[];
}
