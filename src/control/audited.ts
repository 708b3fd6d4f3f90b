/**
 * Shared control-plane plumbing: authenticate the caller like a proxied call and give the call its
 * own audit row (decision `control`), whatever the handler does.
 */
import type { MiddlewareHandler } from 'hono';
import { auditSink, RequestAudit } from '../audit/index.ts';
import type { Principal } from '../auth/index.ts';
import { EdgewardError } from '../errors.ts';
import { type Gateway, loadGateway } from '../gateway.ts';
import { problemResponse, toEdgewardError } from '../problem.ts';

export type ControlEnv = { Bindings: Env };

export const forbidden = (publicDetail: string, auditDetail: string) =>
  new EdgewardError('EDGEWARD_POLICY_DENIED', 403, 'Forbidden', { publicDetail, auditDetail });

/**
 * The audit lifecycle every control-plane call shares: one row per call (connection `_gateway`),
 * finished exactly once whatever `run` does, with refusals as problem+json. `run` may set
 * `audit.record.detail` to say more than `label` on success.
 */
export async function withControlAudit(
  request: Request,
  env: Env,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  label: string,
  run: (audit: RequestAudit) => Promise<Response>,
): Promise<Response> {
  const requestId = crypto.randomUUID();
  const audit = new RequestAudit(
    request,
    requestId,
    auditSink(env, (p) => ctx.waitUntil(p)),
    Date.now(),
  );
  audit.record.connection = '_gateway';
  try {
    const response = await run(audit);
    audit.finish({ status: response.status, outcome: 'completed', detail: audit.record.detail ?? label }, Date.now());
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

/**
 * Middleware form for control-plane routes that need no authenticated caller (sign-in): the
 * route's response gets its own audit row (decision `control`) like every other call.
 */
export const auditedRoute =
  (label: string): MiddlewareHandler<ControlEnv> =>
  async (c, next) => {
    c.res = await withControlAudit(c.req.raw, c.env, c.executionCtx, label, async (audit) => {
      audit.record.decision = 'control';
      await next();
      return c.res;
    });
  };

/** Run an authenticated control-plane handler with its own audit row. */
export function audited(
  request: Request,
  env: Env,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  label: string,
  handler: (gateway: Gateway, principal: Principal, audit: RequestAudit) => Promise<Response>,
): Promise<Response> {
  return withControlAudit(request, env, ctx, label, async (audit) => {
    audit.record.decision = 'unauthenticated';
    const gateway = await loadGateway(env);
    const principal = await gateway.auth.authenticate(request.headers, {
      audiences: gateway.config.defaultAudiences,
      nowMs: Date.now(),
      waitUntil: (p) => ctx.waitUntil(p),
    });
    audit.record.principal = principal;
    audit.record.actorMode = principal.actorMode;
    audit.record.decision = 'control';
    return handler(gateway, principal, audit);
  });
}
