/** `GET /_gateway/health` (no auth): status, environment and the active policy digest. */
import { Hono } from 'hono';
import { loadGateway } from '../gateway.ts';
import { problemResponse, toEdgewardError } from '../problem.ts';
import type { ControlEnv } from './audited.ts';

export const healthApi = new Hono<ControlEnv>().get('/health', async (c) => {
  try {
    const gateway = await loadGateway(c.env);
    return c.json({ status: 'ok', environment: gateway.config.environment, policy: { digest: gateway.policy.digest } });
  } catch (thrown) {
    return problemResponse(toEdgewardError(thrown), crypto.randomUUID());
  }
});
