/**
 * Liveness and readiness, no authentication:
 * - `GET /_gateway/health` — liveness: the Worker runs and its configuration and policy load
 *   (503 problem naming the unsafe settings otherwise); reports the environment and policy digest.
 * - `GET /_gateway/ready` — readiness: also checks that signing keys for every allowed tenant are
 *   usable (loading them if needed, which warms the cache), that a policy is loaded, and that D1
 *   answers. 200 when all pass, 503 with the failing checks otherwise. It names tenants and checks,
 *   never keys or secrets.
 */
import { Hono } from 'hono';
import { loadGateway } from '../gateway.ts';
import { problemResponse, toEdgewardError } from '../problem.ts';
import type { ControlEnv } from './audited.ts';

export const healthApi = new Hono<ControlEnv>()
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
  .get('/ready', async (c) => {
    try {
      const gateway = await loadGateway(c.env);
      const [keys, database] = await Promise.all([
        gateway.auth.keyReadiness(),
        c.env.AUDIT_DB.prepare('SELECT 1 AS up')
          .first<{ up: number }>()
          .then(
            (row) => ({ ok: row?.up === 1, detail: 'D1 answered' }),
            (error: unknown) => ({ ok: false, detail: `D1 failed: ${String(error).slice(0, 200)}` }),
          ),
      ]);
      const checks = {
        policy: { ok: true, detail: gateway.policy.digest },
        database,
        keys: { ok: keys.every((k) => k.ok), detail: keys },
      };
      const ready = Object.values(checks).every((check) => check.ok);
      return c.json({ status: ready ? 'ready' : 'not_ready', checks }, ready ? 200 : 503);
    } catch (thrown) {
      return problemResponse(toEdgewardError(thrown), crypto.randomUUID());
    }
  });
