/**
 * The proxy pipeline for one request, in the order of ARCHITECTURE.md:
 * route → authenticate → authorize → approval gate → record intent → credential → fetch upstream
 * → mask → finalize audit.
 *
 * Contract: exactly one audit row per request, whatever happens (`RequestAudit.finish` is reached
 * on every path: refusal, upstream failure, masking failure, client abort, success). Every refusal
 * is a problem+json response. Bodies stream both ways; only a body held for approval is read whole
 * (capped), because the approval binds to its hash.
 */
import { type ApprovalObject, approvalIdFor } from './approval/index.ts';
import { isMutation, RequestAudit } from './audit/index.ts';
import { authenticate, bearerToken } from './auth/index.ts';
import {
  approvalDenied,
  approvalPending,
  auditUnavailable,
  badRequest,
  bodyTooLarge,
  noRoute,
  policyDenied,
  upstreamUnmaskable,
} from './errors.ts';
import type { Gateway } from './gateway.ts';
import { createMaskStream, type MaskReport } from './mask/index.ts';
import { evaluatePolicy } from './policy/index.ts';
import { problemResponse, toEdgewardError } from './problem.ts';
import {
  checkDeclaredLength,
  clientResponse,
  isEndlessStream,
  isWebSocketUpgrade,
  kubernetesStatusResponse,
  linkRewriteFor,
  loadProxyRuntime,
  metadataResponse,
  observeBody,
  openWebSocket,
  routeRequest,
  sendUpstream,
  upstreamCredential,
  withErrorHeaders,
} from './proxy/index.ts';
import { sha256Hex } from './util/sha256.ts';

export const APPROVAL_BODY_LIMIT = 1024 * 1024;

export interface PipelineDeps {
  env: Env;
  waitUntil(promise: Promise<unknown>): void;
  now(): number;
}

export async function proxyRequest(
  request: Request,
  gatewayPromise: Promise<Gateway>,
  deps: PipelineDeps,
): Promise<Response> {
  const requestId = crypto.randomUUID();
  const audit = new RequestAudit(request, requestId, { db: deps.env.AUDIT_DB, waitUntil: deps.waitUntil }, deps.now());
  const record = audit.record;
  let kubernetesErrors = false;
  try {
    const gateway = await gatewayPromise;
    const url = new URL(request.url);
    const metadata = metadataResponse(request.method, url, gateway.policy.connections, gateway.config, requestId);
    if (metadata) {
      // Public discovery document for `az cloud register` (src/proxy/metadata-endpoints.ts).
      Object.assign(record, { connection: metadata.connection, decision: 'control' });
      audit.finish({ status: 200, outcome: 'completed' }, deps.now());
      return metadata.response;
    }
    const proxy = await loadProxyRuntime(deps.env, gateway.config.authority);
    const routed = routeRequest(url, gateway.policy.connections, gateway.config.upstreamOverrides);
    if (!routed.ok) {
      if (routed.connectionName) record.connection = routed.connectionName;
      throw routed.reason === 'no_connection'
        ? noRoute(url.pathname)
        : badRequest('The path contains encoded slashes, double encoding or dot segments; send it normalised.');
    }
    const { route } = routed;
    record.connection = route.connection.name;
    record.path = route.path;
    kubernetesErrors = route.connection.kind === 'kubernetes';
    checkDeclaredLength(request.headers, proxy.bodyLimit);

    record.decision = 'unauthenticated';
    const principal = await authenticate(request.headers, gateway.keys, {
      tenantAllowlist: gateway.config.tenantAllowlist,
      audiences: route.connection.audiences ?? gateway.config.defaultAudiences,
      clockToleranceSeconds: gateway.config.clockToleranceSeconds,
      now: new Date(deps.now()),
    });
    record.principal = principal;

    const decision = evaluatePolicy(
      gateway.policy,
      { connection: route.connection.name, method: request.method, path: route.path },
      principal,
    );
    record.decision = decision.effect;
    record.ruleIds = decision.matchedRuleIds;
    if (decision.effect === 'deny') {
      throw policyDenied(decision.message ?? 'Denied by policy.', decision.matchedRuleIds);
    }

    let body: ReadableStream<Uint8Array> | ArrayBuffer | null = request.body;
    if (decision.effect === 'require_approval' && decision.approval) {
      const bytes = await readBodyCapped(request, APPROVAL_BODY_LIMIT);
      body = bytes.byteLength > 0 ? bytes : null;
      const approvalId = await approvalIdFor({
        connection: route.connection.name,
        method: request.method,
        path: route.path,
        query: route.search,
        bodySha256: await sha256Hex(bytes),
        subjectOid: principal.subject?.objectId ?? null,
        actorAppId: principal.actor.appId,
      });
      record.approvalId = approvalId;
      const stub = deps.env.APPROVALS.get(
        deps.env.APPROVALS.idFromName(approvalId),
      ) as DurableObjectStub<ApprovalObject>;
      const state = await stub.open(
        approvalId,
        {
          connection: route.connection.name,
          method: request.method,
          path: route.path,
          query: record.query,
          ruleId: decision.decidingRuleId ?? '',
          requesterOid: principal.subject?.objectId ?? null,
          requesterAppId: principal.actor.appId,
        },
        {
          groups: decision.approval.groups,
          users: decision.approval.users,
          count: decision.approval.count,
          ttlSeconds: decision.approval.ttl_seconds,
        },
        deps.now(),
      );
      if (state.status === 'denied') {
        throw approvalDenied(approvalId, state.decisions.find((d) => d.verdict === 'deny')?.reason ?? '');
      }
      if (state.status !== 'approved' || !(await stub.consume(deps.now()))) {
        record.outcome = 'approval_pending';
        throw approvalPending(approvalId, state.expiresAt);
      }
    }

    if (isMutation(request.method)) {
      try {
        await audit.writeAhead();
      } catch (error) {
        throw auditUnavailable(`write-ahead failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    const maskKeys = decision.mask.keys;
    const links = linkRewriteFor(route.connection, route, url);
    const upstreamAuth = await upstreamCredential(
      { connection: route.connection, principal, callerToken: bearerToken(request.headers), nowMs: deps.now() },
      { ...proxy, authority: gateway.config.authority },
    );
    const upstreamStarted = deps.now();
    let sent: Awaited<ReturnType<typeof sendUpstream>>;
    try {
      if (isWebSocketUpgrade(request.headers)) {
        // kubectl exec & co.: relay the session; its audit row is finished when it closes.
        const session = await openWebSocket({ request, route, requestId, auth: upstreamAuth, runtime: proxy }, (end) =>
          audit.finish(
            {
              outcome: 'completed',
              bytesIn: end.bytesIn,
              bytesOut: end.bytesOut,
              detail: `websocket closed by ${end.closedBy} (${end.closeCode}); messages in ${end.messagesIn}, out ${end.messagesOut}`,
            },
            deps.now(),
          ),
        );
        if (session.switched) {
          record.status = 101;
          deps.waitUntil(session.closed);
          return session.response;
        }
        sent = session.sent;
      } else
        sent = await sendUpstream({
          request,
          route,
          body,
          requestId,
          ...(record.clientIp ? { clientIp: record.clientIp } : {}),
          auth: upstreamAuth,
          identityEncoding: maskKeys.length > 0 || links !== undefined,
          runtime: proxy,
        });
    } catch (error) {
      record.outcome = 'upstream_error';
      throw error;
    }
    const upstream = sent.response;
    record.status = upstream.status;
    record.clientRequestId = requestId;
    record.upstreamMs = deps.now() - upstreamStarted;
    if (sent.upstreamRequestId) record.upstreamRequestId = sent.upstreamRequestId;
    if (sent.upstreamCorrelationId) record.upstreamCorrelationId = sent.upstreamCorrelationId;

    const endless = isEndlessStream(route.connection, route.search);
    const { headers, body: upstreamBody } = clientResponse(upstream, requestId, links, endless);
    let responseBody = upstreamBody;
    let report: MaskReport | undefined;
    if (maskKeys.length > 0 && responseBody) {
      const refusal = unmaskableReason(upstream.headers);
      if (refusal) {
        await responseBody.cancel().catch(() => undefined);
        record.outcome = 'mask_error';
        throw upstreamUnmaskable(refusal);
      }
      const masking = createMaskStream({ keys: maskKeys });
      report = masking.report;
      responseBody = responseBody.pipeThrough(masking.stream);
      headers.delete('content-length');
      const etag = headers.get('etag');
      if (etag && !etag.startsWith('W/')) headers.set('etag', `W/${etag}`);
    }
    if (!responseBody) {
      audit.finish({ outcome: 'completed', bytesOut: 0 }, deps.now());
      return new Response(null, { status: upstream.status, headers });
    }
    const observed = observeBody(responseBody, (end) => {
      const masked = report ? { maskedCount: report.maskedCount, maskedPaths: report.maskedPaths } : {};
      if (end.kind === 'completed') {
        audit.finish({ outcome: 'completed', bytesOut: end.bytes, ...masked }, deps.now());
      } else if (end.kind === 'client_aborted') {
        audit.finish({ outcome: 'client_aborted', bytesOut: end.bytes, ...masked }, deps.now());
      } else {
        const isMask = end.error instanceof Error && end.error.name === 'MaskError';
        audit.finish(
          {
            outcome: isMask ? 'mask_error' : 'upstream_error',
            bytesOut: end.bytes,
            detail: end.error instanceof Error ? end.error.message : 'stream error',
            ...masked,
          },
          deps.now(),
        );
      }
    });
    return new Response(observed, { status: upstream.status, headers });
  } catch (thrown) {
    const error = toEdgewardError(thrown);
    if (!audit.finished) {
      audit.finish(
        {
          status: error.status,
          outcome: record.outcome === 'refused' || record.outcome === 'pending' ? 'refused' : record.outcome,
          detail: `${error.code}: ${error.auditDetail ?? error.title}`,
        },
        deps.now(),
      );
    }
    const problem = withErrorHeaders(problemResponse(error, requestId), error);
    return kubernetesErrors ? kubernetesStatusResponse(problem, error) : problem;
  }
}

/** Why a response that must be masked cannot be, or undefined when it can. */
function unmaskableReason(headers: Headers): string | undefined {
  const type = (headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json' && !type.endsWith('+json')) return `content-type ${type || '(none)'} is not JSON`;
  const encoding = (headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') return `content-encoding ${encoding} cannot be masked`;
  return undefined;
}

async function readBodyCapped(request: Request, limit: number): Promise<ArrayBuffer> {
  if (!request.body) return new ArrayBuffer(0);
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limit) throw bodyTooLarge(limit);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes.buffer;
}
