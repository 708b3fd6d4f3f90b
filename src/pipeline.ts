/**
 * The proxy pipeline for one request:
 * route → authenticate → authorize → credential → record intent → approval gate → fetch upstream
 * → mask → finalize audit. (ARCHITECTURE.md puts the approval gate before intent and credential;
 * here every refusal that is already certain comes before an approval is spent.)
 *
 * Contract: exactly one audit row per request, whatever happens (`RequestAudit.finish` is reached
 * on every path: refusal, upstream failure, masking failure, client abort, success). Every refusal
 * is a problem+json response. Bodies stream both ways; only a body held for approval is read whole
 * (capped), because the approval binds to its hash.
 */
import { approvalGate } from './approval/index.ts';
import {
  auditSink,
  captureBody,
  capturedFromBytes,
  deriveArmOperation,
  isMutation,
  maskedBody,
  REQUEST_BODY_CAP,
  RequestAudit,
} from './audit/index.ts';
import { bearerToken } from './auth/index.ts';
import {
  auditUnavailable,
  badRequest,
  misconfigured,
  noRoute,
  policyConditionFailed,
  policyDenied,
  rewriteRefused,
  upstreamUnmaskable,
} from './errors.ts';
import type { Gateway } from './gateway.ts';
import {
  hmacKeyFromSecret,
  isEmptyMask,
  MASKABLE_ACCEPT_ENCODING,
  type MaskReport,
  maskResponse,
  maskSpecFromDecision,
} from './mask/index.ts';
import { evaluatePolicy } from './policy/index.ts';
import { problemResponse, toEdgewardError } from './problem.ts';
import {
  type BodyEnd,
  checkDeclaredLength,
  clientResponseHeaders,
  credentialMode,
  decorateClientResponse,
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
} from './proxy/index.ts';
import { readStreamCapped } from './proxy/read-body.ts';
import { patchJsonBody, REWRITE_BODY_LIMIT } from './proxy/rewrite.ts';

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
  const url = new URL(request.url);
  const audit = new RequestAudit(request, requestId, auditSink(deps.env, deps.waitUntil), deps.now(), url);
  const record = audit.record;
  let kubernetesErrors = false;
  try {
    const gateway = await gatewayPromise;
    // One policy for the whole request, even if another request activates a new bundle meanwhile.
    const policy = gateway.policy;
    const metadata = metadataResponse(request.method, url, policy.connections, gateway.config, requestId);
    if (metadata) {
      // Public discovery document for `az cloud register` (src/proxy/metadata-endpoints.ts).
      Object.assign(record, { connection: metadata.connection, decision: 'control' });
      audit.finish({ status: 200, outcome: 'completed' }, deps.now());
      return metadata.response;
    }
    const proxy = await loadProxyRuntime(deps.env, gateway.config.authority);
    const routed = routeRequest(url, policy.connections, gateway.config.upstreamOverrides);
    if (!routed.ok) {
      if (routed.connectionName) record.connection = routed.connectionName;
      throw routed.reason === 'no_connection'
        ? noRoute(url.pathname)
        : badRequest('The path contains encoded slashes, double encoding or dot segments; send it normalised.');
    }
    const { route } = routed;
    record.connection = route.connection.name;
    record.path = route.path;
    record.clientRequestId = requestId;
    record.policyDigest = policy.digest;
    if (record.operation === undefined && route.connection.kind === 'azure_resource_manager') {
      const derived = deriveArmOperation(request.method, route.path);
      if (derived) Object.assign(record, derived);
    }
    kubernetesErrors = route.connection.kind === 'kubernetes';
    checkDeclaredLength(request.headers, proxy.bodyLimit);

    record.decision = 'unauthenticated';
    const principal = await gateway.auth.authenticate(request.headers, {
      audiences: route.connection.audiences ?? gateway.config.defaultAudiences,
      nowMs: deps.now(),
      passthrough: credentialMode(route.connection) === 'passthrough',
      waitUntil: (promise) => deps.waitUntil(promise),
    });
    record.principal = principal;
    record.actorMode = principal.actorMode;

    const decision = evaluatePolicy(
      policy,
      {
        connection: route.connection.name,
        method: request.method,
        path: route.path,
        query: route.search,
        now: deps.now(),
      },
      principal,
    );
    record.decision = decision.effect;
    record.ruleIds = decision.matchedRuleIds;
    record.operation = decision.operation;
    record.resourceId = decision.resourceId;
    if (decision.effect === 'deny') {
      const message = decision.message ?? 'Denied by policy.';
      throw decision.errors.length
        ? policyConditionFailed(
            message,
            decision.matchedRuleIds,
            decision.errors.map((e) => `${e.ruleId}: ${e.reason}`),
          )
        : policyDenied(message, decision.matchedRuleIds);
    }

    // Refusals that are already certain come before anything is spent (write-ahead, approval).
    const webSocket = isWebSocketUpgrade(request.headers);
    const maskSpec = maskSpecFromDecision(decision.mask);
    const masking = !isEmptyMask(maskSpec);
    if (masking && webSocket) {
      // A relayed WebSocket's frames cannot be masked: where policy requires masking, refuse the
      // upgrade rather than let the data through unmasked.
      record.outcome = 'mask_error';
      throw upstreamUnmaskable('a WebSocket session cannot be masked; policy requires masking here');
    }
    // Tokens are cached, so getting the credential before an approval costs little — and a claims
    // challenge or a missing secret no longer spends an approved round.
    const upstreamAuth = await upstreamCredential(
      { connection: route.connection, principal, callerToken: bearerToken(request.headers), nowMs: deps.now() },
      { ...proxy, authority: gateway.config.authority },
    );

    // Write-ahead before anything is spent: no durable record, no mutation — and an approved
    // request is not consumed by an attempt the audit log could not record.
    // A WebSocket session (kubectl exec & co.) can change anything: it is written ahead like a write.
    const mutation = isMutation(request.method, webSocket);
    if (mutation) {
      try {
        await audit.writeAhead();
      } catch (error) {
        throw auditUnavailable(`write-ahead failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    let body: ReadableStream<Uint8Array> | ArrayBuffer | null = request.body;
    if (decision.effect === 'require_approval') {
      // The compiler never emits this without an approval spec; if it ever did, refuse — never proxy.
      if (!decision.approval) throw misconfigured(`rule ${decision.decidingRuleId} requires approval without a spec`);
      body = await approvalGate(
        {
          request,
          connection: route.connection.name,
          path: route.path,
          search: route.search,
          principal,
          approval: decision.approval,
          ruleId: decision.decidingRuleId ?? '',
          maskKeys: decision.mask.keys,
          record,
        },
        deps,
      );
    }

    // Mutations keep a bounded, masked copy of their body; every body's size is counted.
    record.bytesIn = 0;
    if (body instanceof ArrayBuffer) {
      const captured = capturedFromBytes(body, REQUEST_BODY_CAP);
      audit.beforeFinish(() => bodyFields(captured, mutation, decision.mask.keys));
    } else if (body) {
      const capture = captureBody(body, mutation ? REQUEST_BODY_CAP : 0);
      body = capture.stream;
      audit.beforeFinish(() => bodyFields(capture.captured(), mutation, decision.mask.keys));
    }

    const rewrite = decision.rewrite;
    if (rewrite.jsonPatch.length > 0) {
      // Bounded: the body is read whole only to patch it, and refused above the cap.
      const bytes =
        body instanceof ArrayBuffer
          ? body
          : await readStreamCapped(body, request.headers.get('content-length'), REWRITE_BODY_LIMIT);
      const patched = patchJsonBody(request.headers.get('content-type'), bytes, rewrite.jsonPatch);
      if (!patched.ok) {
        throw rewriteRefused(
          patched.reason === 'too_large' ? 413 : patched.reason === 'not_json' ? 415 : 422,
          patched.detail,
        );
      }
      body = patched.body.buffer;
    }
    const links = linkRewriteFor(route.connection, route, url);
    const upstreamStarted = deps.now();
    let sent: Awaited<ReturnType<typeof sendUpstream>>;
    try {
      if (webSocket) {
        // kubectl exec & co.: relay the session; its audit row is finished when it closes.
        const session = await openWebSocket(
          { request, route, requestId, auth: upstreamAuth, rewrite, runtime: proxy },
          (end) =>
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
      } else {
        sent = await sendUpstream({
          request,
          route,
          body,
          requestId,
          ...(record.clientIp ? { clientIp: record.clientIp } : {}),
          auth: upstreamAuth,
          identityEncoding: masking || links !== undefined,
          ...(masking ? { maskableEncodings: MASKABLE_ACCEPT_ENCODING } : {}),
          rewrite,
          runtime: proxy,
        });
      }
    } catch (error) {
      record.outcome = 'upstream_error';
      throw error;
    }
    const upstream = sent.response;
    record.status = upstream.status;
    record.upstreamMs = deps.now() - upstreamStarted;
    if (sent.upstreamRequestId) record.upstreamRequestId = sent.upstreamRequestId;
    if (sent.upstreamCorrelationId) record.upstreamCorrelationId = sent.upstreamCorrelationId;

    let headers = clientResponseHeaders(upstream.headers, requestId);
    let responseBody = upstream.body;
    let report: MaskReport | undefined;
    if (masking && responseBody) {
      const masked = maskResponse(upstream, headers, maskSpec, {
        hmacKey: hmacKeyFromSecret((deps.env as { MASK_HMAC_KEY?: string }).MASK_HMAC_KEY),
        requestUrl: request.url,
        method: request.method,
      });
      if (!masked.ok) {
        await responseBody.cancel().catch(() => undefined);
        record.outcome = 'mask_error';
        throw masked.kind === 'misconfigured' ? misconfigured(masked.reason) : upstreamUnmaskable(masked.reason);
      }
      ({ body: responseBody, headers, report } = masked);
    }
    // Links are rewritten after masking, on the identity JSON the masker produced.
    const decorated = decorateClientResponse(
      headers,
      responseBody !== null,
      links,
      isEndlessStream(route.connection, route.search),
    );
    headers = decorated.headers;
    if (!responseBody) {
      audit.finish({ outcome: 'completed', bytesOut: 0 }, deps.now());
      return new Response(null, { status: upstream.status, headers });
    }
    const onBodyEnd = (end: BodyEnd) => {
      // Read at the end: the masker fills its report while the body streams.
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
    };
    const observed = observeBody(responseBody, onBodyEnd, decorated.transform);
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
    const problem = problemResponse(error, requestId);
    return kubernetesErrors ? kubernetesStatusResponse(problem, error) : problem;
  }
}

function bodyFields(
  captured: ReturnType<typeof capturedFromBytes>,
  mutation: boolean,
  maskKeys: readonly string[],
): { bytesIn: number; requestBody?: string; requestBodyTruncated?: boolean; requestBodyCap?: number } {
  const text = mutation ? maskedBody(captured, maskKeys) : undefined;
  return text === undefined
    ? { bytesIn: captured.bytes }
    : {
        bytesIn: captured.bytes,
        requestBody: text,
        requestBodyTruncated: captured.truncated,
        requestBodyCap: REQUEST_BODY_CAP,
      };
}
