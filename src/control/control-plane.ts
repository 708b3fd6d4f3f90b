/**
 * The control plane under `/_gateway/`: never proxied.
 *
 * - `GET /_gateway/health` (no auth): status, environment and the active policy digest.
 * - `GET /_gateway/audit` (auditors only): the most recent audit rows.
 * - `GET /_gateway/approvals/{id}` (any verified principal): an approval's status.
 * - `POST /_gateway/approvals/{id}/decision` (eligible approvers): approve or deny.
 *
 * Contract: every control-plane call except health is authenticated like a proxied call and
 * leaves its own audit row (decision `control`).
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import type { ApprovalObject } from '../approval/index.ts';
import { listAuditEvents, RequestAudit } from '../audit/index.ts';
import { authenticate, type Principal } from '../auth/index.ts';
import { badRequest, EdgewardError } from '../errors.ts';
import { type Gateway, loadGateway } from '../gateway.ts';
import { principalMatches } from '../policy/index.ts';
import { problemResponse, toEdgewardError } from '../problem.ts';

type ControlEnv = { Bindings: Env };

const DecisionBody = v.object({
  decision: v.picklist(['approve', 'deny']),
  reason: v.optional(v.pipe(v.string(), v.maxLength(500)), ''),
});

const forbidden = (publicDetail: string, auditDetail: string) =>
  new EdgewardError('EDGEWARD_POLICY_DENIED', 403, 'Forbidden', { publicDetail, auditDetail });

const notFound = () =>
  new EdgewardError('EDGEWARD_APPROVAL_NOT_FOUND', 404, 'Not found', { publicDetail: 'No such approval.' });

/** Run an authenticated control-plane handler with its own audit row. */
async function audited(
  request: Request,
  env: Env,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  label: string,
  handler: (gateway: Gateway, principal: Principal, audit: RequestAudit) => Promise<Response>,
): Promise<Response> {
  const requestId = crypto.randomUUID();
  const audit = new RequestAudit(
    request,
    requestId,
    { db: env.AUDIT_DB, waitUntil: (p) => ctx.waitUntil(p) },
    Date.now(),
  );
  audit.record.connection = '_gateway';
  audit.record.decision = 'unauthenticated';
  try {
    const gateway = await loadGateway(env);
    const principal = await authenticate(request.headers, gateway.keys, {
      tenantAllowlist: gateway.config.tenantAllowlist,
      audiences: gateway.config.defaultAudiences,
      clockToleranceSeconds: gateway.config.clockToleranceSeconds,
      now: new Date(),
    });
    audit.record.principal = principal;
    audit.record.decision = 'control';
    const response = await handler(gateway, principal, audit);
    audit.finish({ status: response.status, outcome: 'completed', detail: label }, Date.now());
    response.headers.set('x-edgeward-request-id', requestId);
    return response;
  } catch (thrown) {
    const error = toEdgewardError(thrown);
    audit.finish(
      { status: error.status, outcome: 'refused', detail: `${label}: ${error.code}: ${error.auditDetail ?? ''}` },
      Date.now(),
    );
    return problemResponse(error, requestId);
  }
}

function approvalStub(env: Env, id: string): DurableObjectStub<ApprovalObject> {
  if (!/^[0-9a-f]{32}$/.test(id)) throw notFound();
  return env.APPROVALS.get(env.APPROVALS.idFromName(id)) as DurableObjectStub<ApprovalObject>;
}

export const controlPlane = new Hono<ControlEnv>()
  .get('/health', async (c) => {
    try {
      const gateway = await loadGateway(c.env);
      return c.json({
        status: 'ok',
        environment: gateway.config.environment,
        policy: { digest: gateway.policy.digest },
      });
    } catch (thrown) {
      return problemResponse(toEdgewardError(thrown), crypto.randomUUID());
    }
  })
  .get('/audit', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'audit query', async (gateway, principal, audit) => {
      if (!gateway.policy.auditors || !principalMatches(gateway.policy.auditors, principal)) {
        throw forbidden('Only auditors may read the audit trail.', 'not an auditor');
      }
      const limit = Math.min(Math.max(Number(c.req.query('limit') ?? '50') || 50, 1), 500);
      const subject = c.req.query('subject');
      const events = await listAuditEvents(c.env.AUDIT_DB, { limit, ...(subject ? { subject } : {}) });
      audit.record.ruleIds = ['auditors'];
      return Response.json({ events });
    }),
  )
  .get('/approvals/:id', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'approval status', async () => {
      const state = await approvalStub(c.env, c.req.param('id')).status();
      if (!state) throw notFound();
      return Response.json(state);
    }),
  )
  .post('/approvals/:id/decision', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'approval decision', async (_gateway, principal, audit) => {
      const id = c.req.param('id');
      audit.record.approvalId = id;
      const parsed = v.safeParse(DecisionBody, await c.req.json().catch(() => undefined));
      if (!parsed.success) throw badRequest('Body must be {"decision": "approve"|"deny", "reason"?: string}.');
      if (!principal.subject) throw forbidden('Approvals are decided by people, not apps.', 'app-only approver');
      const result = await approvalStub(c.env, id).decide(
        { objectId: principal.subject.objectId, appId: principal.actor.appId, groups: principal.groups },
        parsed.output.decision,
        parsed.output.reason,
        Date.now(),
      );
      if (!result.ok) {
        if (result.reason === 'not_found') throw notFound();
        if (result.reason === 'not_pending' || result.reason === 'already_decided') {
          throw new EdgewardError('EDGEWARD_BAD_REQUEST', 409, 'Conflict', {
            publicDetail: `This approval cannot take your decision (${result.reason}).`,
            auditDetail: result.reason,
          });
        }
        throw forbidden(`You may not decide this approval (${result.reason}).`, result.reason);
      }
      return Response.json(result.state);
    }),
  )
  .all('*', (_c) =>
    problemResponse(
      new EdgewardError('EDGEWARD_NO_ROUTE', 404, 'Not found', { publicDetail: 'No such control-plane endpoint.' }),
      crypto.randomUUID(),
    ),
  );
