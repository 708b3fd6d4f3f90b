/** `GET /_gateway/audit` (auditors only, itself audited): the most recent audit rows. */
import { Hono } from 'hono';
import { listAuditEvents } from '../audit/index.ts';
import { principalMatches } from '../policy/index.ts';
import { audited, type ControlEnv, forbidden } from './audited.ts';

export const auditApi = new Hono<ControlEnv>().get('/audit', (c) =>
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
);
