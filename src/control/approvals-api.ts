/**
 * Approvals in the control plane:
 * - `GET /_gateway/approvals/{id}` (any verified principal): an approval's status;
 * - `POST /_gateway/approvals/{id}/decision` (eligible approvers): approve or deny.
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import type { ApprovalObject } from '../approval/index.ts';
import { badRequest, EdgewardError } from '../errors.ts';
import { audited, type ControlEnv, forbidden } from './audited.ts';

const DecisionBody = v.object({
  decision: v.picklist(['approve', 'deny']),
  reason: v.optional(v.pipe(v.string(), v.maxLength(500)), ''),
});

const notFound = () =>
  new EdgewardError('EDGEWARD_APPROVAL_NOT_FOUND', 404, 'Not found', { publicDetail: 'No such approval.' });

function approvalStub(env: Env, id: string): DurableObjectStub<ApprovalObject> {
  if (!/^[0-9a-f]{32}$/.test(id)) throw notFound();
  return env.APPROVALS.get(env.APPROVALS.idFromName(id)) as DurableObjectStub<ApprovalObject>;
}

export const approvalsApi = new Hono<ControlEnv>()
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
  );
