/**
 * The control plane under `/_gateway/`: never proxied. Each area is its own small Hono app;
 * anything else under the prefix is a 404 problem.
 */
import { Hono } from 'hono';
import { EdgewardError } from '../errors.ts';
import { problemResponse } from '../problem.ts';
import { approvalPage } from './approval-page.ts';
import { approvalsApi } from './approvals-api.ts';
import { auditApi } from './audit-api.ts';
import type { ControlEnv } from './audited.ts';
import { healthApi } from './health.ts';
import { policyApi } from './policy-api.ts';

export const controlPlane = new Hono<ControlEnv>()
  .route('/', healthApi)
  .route('/', auditApi)
  .route('/', approvalPage)
  .route('/', approvalsApi)
  .route('/', policyApi)
  .all('*', () =>
    problemResponse(
      new EdgewardError('EDGEWARD_NO_ROUTE', 404, 'Not found', { publicDetail: 'No such control-plane endpoint.' }),
      crypto.randomUUID(),
    ),
  );
