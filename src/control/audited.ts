/**
 * Shared control-plane plumbing: authenticate the caller like a proxied call and give the call its
 * own audit row (decision `control`), whatever the handler does.
 */
import { auditSink, RequestAudit } from '../audit/index.ts';
import type { Principal } from '../auth/index.ts';
import { EdgewardError } from '../errors.ts';
import { type Gateway, loadGateway } from '../gateway.ts';
import { problemResponse, toEdgewardError } from '../problem.ts';

export type ControlEnv = { Bindings: Env };

export const forbidden = (publicDetail: string, auditDetail: string) =>
  new EdgewardError('EDGEWARD_POLICY_DENIED', 403, 'Forbidden', { publicDetail, auditDetail });

/** Run an authenticated control-plane handler with its own audit row. */
export async function audited(
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
    auditSink(env, (p) => ctx.waitUntil(p)),
    Date.now(),
  );
  audit.record.connection = '_gateway';
  audit.record.decision = 'unauthenticated';
  try {
    const gateway = await loadGateway(env);
    const principal = await gateway.auth.authenticate(request.headers, {
      audiences: gateway.config.defaultAudiences,
      nowMs: Date.now(),
      waitUntil: (p) => ctx.waitUntil(p),
    });
    audit.record.principal = principal;
    audit.record.actorMode = principal.actorMode;
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
