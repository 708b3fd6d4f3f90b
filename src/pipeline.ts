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

import type { GateInput } from './approval/gate-step.ts';
import { approvalGate, readApprovalBody } from './approval/index.ts';
import {
  type AuditRecord,
  auditSink,
  captureBody,
  capturedFromBytes,
  deriveArmOperation,
  isMutation,
  maskedBody,
  REQUEST_BODY_CAP,
  RequestAudit,
  redactQuery,
} from './audit/index.ts';
import { bearerToken } from './auth/index.ts';
import {
  ambiguousBody,
  auditUnavailable,
  badRequest,
  batchRefused,
  methodNotAllowed,
  methodOverrideRefused,
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
  type MaskSpec,
  maskResponse,
  maskSpecFromDecision,
  mergeMasks,
} from './mask/index.ts';
import { batchDialect, parseBatch } from './policy/embedded-requests.ts';
import { type Decision, deriveArmFacts, EMPTY_REWRITE, evaluatePolicy } from './policy/index.ts';
import { isTemplateDeployment, type TemplateResources, templateResources } from './policy/template-facts.ts';
import { problemResponse, toEdgewardError } from './problem.ts';
import { BATCH_LINK_MEMBERS, LINK_HEADERS, rewriteLinkHeaders } from './proxy/azure-links.ts';
import { batchStatusTap, chainTransforms } from './proxy/batch-status.ts';
import {
  bindingFor,
  CONTINUATION_PARAM,
  type ContinuationOrigin,
  continuationKey,
  originFor,
  readContinuation,
  sameCaller,
} from './proxy/continuation.ts';
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
  requestShapeProblem,
  routeRequest,
  sendUpstream,
  upstreamCredential,
} from './proxy/index.ts';
import { type BatchVerdict, judgeBatch } from './proxy/judge-batch.ts';
import { readJudgedBody, refuseAmbiguousJson } from './proxy/judged-body.ts';
import { nullIfEmpty, readStreamCapped } from './proxy/read-body.ts';
import { patchJsonBody, REWRITE_BODY_LIMIT } from './proxy/rewrite.ts';
import { normaliseUpstreamPath } from './proxy/route.ts';

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
    let { route } = routed;
    record.connection = route.connection.name;
    record.path = route.path;
    record.clientRequestId = requestId;
    record.policyDigest = policy.digest;
    if (record.operation === undefined && route.connection.kind === 'azure_resource_manager') {
      const derived = deriveArmOperation(request.method, route.path);
      if (derived) Object.assign(record, derived);
    }
    kubernetesErrors = route.connection.kind === 'kubernetes';
    // What the upstream would execute differently from what policy sees is refused before anything else.
    const shape = requestShapeProblem(route.connection.kind, request.method, request.headers, route.search, route.path);
    if (shape) {
      throw shape.kind === 'method'
        ? methodNotAllowed(shape.method, shape.allowed)
        : shape.kind === 'override'
          ? methodOverrideRefused(shape.where, shape.name)
          : shape.kind === 'impersonation'
            ? badRequest(
                `The header ${shape.name.slice(0, 64)} asks the API server to act as someone else; impersonation is not available through Edgeward.`,
              )
            : badRequest(`The path cannot be judged as Azure will read it: ${shape.detail}.`);
    }
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
    // Authenticated: from here until policy decides, a refusal is the gateway's deny, not a sign-in failure.
    record.decision = 'deny';

    // A follow-up (LRO poll, next page) carries the call that started it (src/proxy/continuation.ts).
    let origin: ContinuationOrigin | undefined;
    // Resource Manager and Graph links are rewritten to the gateway (and bound); nothing else is.
    const links = linkRewriteFor(route.connection, route, url);
    const linkKey = links
      ? continuationKey((deps.env as { CONTINUATION_KEY?: string }).CONTINUATION_KEY, deps.env.ENVIRONMENT)
      : undefined;
    if (links) {
      const read = readContinuation(linkKey, route.path, route.search, deps.now());
      if (read.kind !== 'none') {
        route = { ...route, search: read.search };
        record.query = redactQuery(read.search);
      }
      if (read.kind === 'forged') {
        throw badRequest(
          'The edgeward-continuation parameter does not verify for this URL; follow the link exactly as the gateway gave it.',
        );
      }
      if (read.kind === 'expired')
        record.requestFacts = JSON.stringify({ continuation: { operation: read.operation, expired: true } });
      if (read.kind === 'valid') {
        if (!sameCaller(read.origin, principal)) {
          throw policyDenied(
            'This link continues a call another principal started; only that principal may follow it.',
            [],
          );
        }
        origin = read.origin;
        record.requestFacts = JSON.stringify({
          continuation: { operation: origin.operation, ruleIds: origin.ruleIds },
        });
      }
    }

    // Bodies that decide what executes are read and judged before policy: a batch's embedded
    // requests, a template deployment's resources (src/proxy/judged-body.ts).
    const kind = route.connection.kind;
    const dialect = batchDialect(kind, request.method, route.path);
    const deployment =
      kind === 'azure_resource_manager' &&
      (request.method === 'PUT' || request.method === 'POST') &&
      isTemplateDeployment(deriveArmFacts(request.method, route.path, '').operation);
    let judged: { bytes: ArrayBuffer; value: unknown } | undefined;
    if (dialect || deployment) judged = await readJudgedBody(request.body, request.headers.get('content-length'));
    let template: TemplateResources | undefined;
    if (deployment && judged) {
      template = templateResources(judged.value);
      record.requestFacts = JSON.stringify({ template }).slice(0, 4000);
    }
    const policyRequest = {
      connection: route.connection.name,
      method: request.method,
      path: route.path,
      query: route.search,
      now: deps.now(),
      ...(template ? { templateResourceTypes: [...new Set(template.resources.map((r) => r.type))] } : {}),
    };
    let decision: Decision;
    const children = new Map<string, Partial<AuditRecord>>();
    let batchView: EmbeddedView[] | undefined;
    let followUpMask: MaskSpec | undefined;
    if (dialect && judged) {
      const parsed = parseBatch(
        dialect,
        judged.value,
        {
          upstreamBase: route.upstreamBase,
          upstream: route.connection.upstream,
          normalisePath: normaliseUpstreamPath,
        },
        route.path,
      );
      if (!parsed.ok) throw batchRefused(400, `The batch cannot be judged: ${parsed.detail}.`, []);
      const verdict = judgeBatch(policy, route.connection, dialect, parsed.requests, principal, deps.now());
      if (verdict.effect !== 'deny') followUpMask = verdict.followUpMask;
      record.requestFacts = JSON.stringify({ batch: { dialect, count: parsed.requests.length } });
      batchView = [];
      for (const { request: embedded, decision: judgedDecision } of verdict.judged) {
        const judgedAs = {
          method: embedded.method,
          operation: judgedDecision.operation,
          resourceId: judgedDecision.resourceId,
          decision: judgedDecision.effect,
          ruleIds: judgedDecision.matchedRuleIds,
        };
        batchView.push({ ...judgedAs, name: embedded.key, url: `${embedded.path}${embedded.search}` });
        children.set(
          embedded.key,
          audit.child({
            ...judgedAs,
            path: embedded.path,
            query: redactQuery(embedded.search),
            outcome: 'refused',
            requestFacts: JSON.stringify({ embedded: embedded.key.slice(0, 128) }),
          }),
        );
      }
      decision = batchDecision(evaluatePolicy(policy, policyRequest, principal), verdict);
      if (verdict.effect === 'deny') {
        record.decision = 'deny';
        record.ruleIds = verdict.ruleIds;
        record.operation = decision.operation;
        record.resourceId = decision.resourceId;
        throw batchRefused(403, verdict.message, verdict.ruleIds, verdict.culprit.key);
      }
    } else {
      decision = evaluatePolicy(policy, policyRequest, principal);
    }
    if (origin) decision = { ...decision, mask: mergeMasks([decision.mask, origin.mask]) };
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

    let body: ReadableStream<Uint8Array> | ArrayBuffer | null = judged ? judged.bytes : request.body;
    if (decision.effect === 'require_approval') {
      // The compiler never emits this without an approval spec; if it ever did, refuse — never proxy.
      if (!decision.approval) throw misconfigured(`rule ${decision.decidingRuleId} requires approval without a spec`);
      // The approver sees one meaning of the body: duplicate members are refused before the gate.
      const bytes = judged?.bytes ?? (await readApprovalBody(request.body, request.headers.get('content-length')));
      refuseAmbiguousJson(bytes, request.headers.get('content-type'));
      body = await approvalGate(
        {
          request,
          body: bytes,
          connection: route.connection.name,
          path: route.path,
          search: route.search,
          principal,
          approval: decision.approval,
          ruleId: decision.decidingRuleId ?? '',
          maskKeys: decision.mask.keys,
          record,
          ...(batchView ? { embedded: batchView } : {}),
          ...(template ? { templateResources: template } : {}),
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
        if (patched.reason === 'ambiguous') throw ambiguousBody(patched.detail, patched.pointer ?? '');
        throw rewriteRefused(
          patched.reason === 'too_large' ? 413 : patched.reason === 'not_json' ? 415 : 422,
          patched.detail,
        );
      }
      body = patched.body.buffer;
    }
    if (links && dialect) links.members = BATCH_LINK_MEMBERS;
    if (links && linkKey) {
      // Every follow-up link carries this call's origin (or the one this call continued). A link
      // found in a batch response is followed as a direct request: it inherits every embedded
      // mask as written for a direct response, not rebased onto the batch's entries.
      const bound =
        origin ??
        originFor(principal, decision.operation, followUpMask ?? decision.mask, decision.matchedRuleIds, deps.now());
      links.bind = (link) => `${CONTINUATION_PARAM}=${bindingFor(linkKey, bound, link)}`;
    }
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
    if (masking && responseBody && !upstream.headers.has('content-type')) {
      // An LRO start answers 202 with no body and no type: nothing to mask, pass status and links.
      responseBody = await nullIfEmpty(responseBody);
    }
    if (masking && responseBody) {
      const masked = maskResponse(upstream, headers, maskSpec, {
        hmacKey: hmacKeyFromSecret((deps.env as { MASK_HMAC_KEY?: string }).MASK_HMAC_KEY),
        requestUrl: request.url,
        method: request.method,
      });
      if (!masked.ok) {
        await responseBody.cancel().catch(() => undefined);
        record.outcome = 'mask_error';
        if (masked.kind === 'misconfigured') throw misconfigured(masked.reason);
        // A mutation has executed whatever we answer: say so, and keep its follow-up links.
        const executed = mutation && upstream.status < 400;
        const linkHeaders = new Headers();
        for (const name of LINK_HEADERS) {
          const value = upstream.headers.get(name);
          if (value !== null) linkHeaders.set(name, value);
        }
        if (links) rewriteLinkHeaders(linkHeaders, links);
        throw upstreamUnmaskable(
          masked.reason,
          executed ? { status: upstream.status, headers: Object.fromEntries(linkHeaders) } : undefined,
        );
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
    // A batch response tells each embedded request's status: read from the (masked) bytes the
    // client receives, bounded, after the last byte.
    const batchTap = children.size && dialect ? batchStatusTap(dialect) : undefined;
    const onBodyEnd = (end: BodyEnd) => {
      if (batchTap)
        recordEmbeddedStatuses(children, end.kind === 'completed' ? batchTap.statuses() : undefined, end.kind);
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
    const observed = observeBody(
      responseBody,
      onBodyEnd,
      batchTap ? chainTransforms(decorated.transform, batchTap.transform) : decorated.transform,
    );
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

type EmbeddedView = NonNullable<GateInput['embedded']>[number];

/** The batch's decision: the envelope names the operation; its contents decide everything else. */
function batchDecision(envelope: Decision, verdict: BatchVerdict): Decision {
  const ruleIds = [...new Set(verdict.judged.flatMap(({ decision }) => decision.matchedRuleIds))];
  if (verdict.effect === 'deny')
    return { ...envelope, effect: 'deny', matchedRuleIds: verdict.ruleIds, message: verdict.message };
  const held = verdict.held?.decision;
  const decision: Decision = {
    ...envelope,
    effect: verdict.effect,
    matchedRuleIds: ruleIds,
    matches: verdict.judged.flatMap(({ decision: d }) => d.matches),
    mask: verdict.mask,
    rewrite: EMPTY_REWRITE,
    errors: [],
  };
  delete decision.message;
  delete decision.decidingRuleId;
  delete decision.approval;
  if (held?.decidingRuleId) decision.decidingRuleId = held.decidingRuleId;
  if (held?.approval) decision.approval = held.approval;
  return decision;
}

function recordEmbeddedStatuses(
  children: ReadonlyMap<string, Partial<AuditRecord>>,
  statuses: Map<string, number> | undefined,
  end: BodyEnd['kind'],
): void {
  for (const [key, child] of children) {
    const status = statuses?.get(key);
    if (status !== undefined) {
      child.status = status;
      child.outcome = 'completed';
    } else {
      child.outcome =
        end === 'completed' ? 'completed' : end === 'client_aborted' ? 'client_aborted' : 'upstream_error';
      child.detail = statuses
        ? 'the batch response has no entry for this request'
        : 'status unknown: the batch response did not complete, was not JSON, or was too large to read';
    }
  }
}
