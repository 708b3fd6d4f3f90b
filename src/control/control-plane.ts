/**
 * The control plane under `/_gateway/`: never proxied. Each area is its own small Hono app;
 * anything else under the prefix is a 404 problem.
 */
import { Hono } from 'hono';
import { EdgewardError } from '../errors.ts';
import { approvalPage } from './approval-page.ts';
import { approvalsApi } from './approvals-api.ts';
import { auditApi } from './audit-api.ts';
import { type ControlEnv, withControlAudit } from './audited.ts';
import { healthApi } from './health.ts';
import { policyApi } from './policy-api.ts';

export const controlPlane = new Hono<ControlEnv>()
  .route('/', healthApi)
  .route('/', auditApi)
  .route('/', approvalPage)
  .route('/', approvalsApi)
  .route('/', policyApi)
  .all('*', (c) =>
    // Probes of unknown control-plane paths leave a row too.
    withControlAudit(c.req.raw, c.env, c.executionCtx, 'unknown control-plane path', async () => {
      throw new EdgewardError('EDGEWARD_NO_ROUTE', 404, 'Not found', {
        publicDetail: 'No such control-plane endpoint.',
      });
    }),
  );
