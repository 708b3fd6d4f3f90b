/**
 * Judge a batch as the upstream will execute it: one policy decision per embedded request, for the
 * same principal, combined into one verdict for the batch.
 *
 * Contract: pure. Each embedded request first passes the same shape checks as a direct request
 * (request-shape.ts: a defined method, no method override in its headers or query, an ARM path
 * without folded keywords), then policy. Combination: any shape problem or deny refuses the whole
 * batch, naming the embedded request and the rule; an embedded request that policy would rewrite
 * refuses it too (the rewrite cannot be applied inside a batch — send that request alone); any
 * `require_approval` holds the whole batch for one approval under that rule, and embedded
 * requests held by *different* approval rules refuse it (no approver group may approve what
 * another group governs); otherwise it is allowed. The mask of the batch response is the union of
 * every embedded mask, its paths rebased onto every response entry (`$.responses[*].content…` /
 * `.body…`), so an entry is masked at least as its own request would be, whatever order the
 * upstream answers in.
 */
import type { Principal } from '../auth/principal.ts';
import { type MaskSpec, mergeMasks } from '../mask/spec.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import { type BatchDialect, type EmbeddedRequest, rebaseMaskPath } from '../policy/embedded-requests.ts';
import { type Decision, evaluatePolicy } from '../policy/evaluate.ts';
import { stripContinuation } from './continuation.ts';
import { headerLookup, requestShapeProblem } from './request-shape.ts';

export interface EmbeddedJudgement {
  request: EmbeddedRequest;
  decision: Decision;
}

export type BatchVerdict =
  | {
      effect: 'deny';
      judged: readonly EmbeddedJudgement[];
      /** The embedded request that refused the batch. */
      culprit: EmbeddedRequest;
      ruleIds: readonly string[];
      message: string;
    }
  | {
      effect: 'allow' | 'require_approval';
      judged: readonly EmbeddedJudgement[];
      /** The embedded decision whose rule holds the batch (require_approval only). */
      held?: EmbeddedJudgement;
      mask: MaskSpec;
      /** The embedded masks as written, for follow-up links found in the response (direct requests). */
      followUpMask: MaskSpec;
    };

export function judgeBatch(
  policy: CompiledPolicy,
  connection: { name: string; kind: string },
  dialect: BatchDialect,
  requests: readonly EmbeddedRequest[],
  principal: Principal,
  now: number,
): BatchVerdict {
  const judged: EmbeddedJudgement[] = [];
  for (const request of requests) {
    const shape = requestShapeProblem(
      connection.kind as Parameters<typeof requestShapeProblem>[0],
      request.method,
      headerLookup(request.headers),
      request.search,
      request.path,
    );
    const decision = evaluatePolicy(
      policy,
      { connection: connection.name, method: request.method, path: request.path, query: request.search, now },
      principal,
    );
    judged.push({ request, decision });
    // A bound follow-up link is followed directly, where its binding is verified and its origin's
    // obligations apply — never inside a batch, where nobody would check it.
    const bound = stripContinuation(request.search).values.length > 0;
    const name = `embedded request ${JSON.stringify(request.key.slice(0, 64))} (${request.method} ${request.path.slice(0, 200)})`;
    if (shape || bound) {
      const why = !shape
        ? 'carries an edgeward-continuation binding; follow bound links directly, not inside a batch'
        : shape.kind === 'method'
          ? `uses the method ${request.method.slice(0, 32)}, which this API does not define`
          : shape.kind === 'override'
            ? `carries the method override ${shape.name.slice(0, 64)}`
            : shape.kind === 'impersonation'
              ? `carries the impersonation header ${shape.name.slice(0, 64)}`
              : shape.detail;
      return { effect: 'deny', judged, culprit: request, ruleIds: [], message: `The ${name} ${why}.` };
    }
    if (decision.effect === 'deny') {
      return {
        effect: 'deny',
        judged,
        culprit: request,
        ruleIds: decision.matchedRuleIds,
        message: `The ${name} is denied: ${decision.message ?? 'Denied by policy.'}`,
      };
    }
    const rewrite = decision.rewrite;
    if (
      rewrite.jsonPatch.length ||
      rewrite.removeHeaders.length ||
      Object.keys(rewrite.setHeaders).length ||
      rewrite.removeQuery.length ||
      Object.keys(rewrite.setQuery).length
    ) {
      return {
        effect: 'deny',
        judged,
        culprit: request,
        ruleIds: decision.matchedRuleIds,
        message: `Policy must rewrite the ${name}, which cannot be done inside a batch; send it on its own.`,
      };
    }
  }
  const holding = judged.filter((entry) => entry.decision.effect === 'require_approval');
  const rules = new Set(holding.map((entry) => entry.decision.decidingRuleId));
  if (rules.size > 1) {
    const second = holding.find((entry) => entry.decision.decidingRuleId !== holding[0]?.decision.decidingRuleId);
    return {
      effect: 'deny',
      judged,
      culprit: (second as EmbeddedJudgement).request,
      ruleIds: [...rules].filter((id): id is string => id !== undefined),
      message: `The batch holds requests that need approval under different rules (${[...rules].join(', ')}); send them separately.`,
    };
  }
  const masks = judged.map(({ decision }) => ({
    ...decision.mask,
    paths: decision.mask.paths.map((path) => rebaseMaskPath(path, dialect)),
  }));
  const obligations = {
    mask: mergeMasks(masks),
    followUpMask: mergeMasks(judged.map(({ decision }) => decision.mask)),
  };
  return holding.length
    ? { effect: 'require_approval', judged, held: holding[0] as EmbeddedJudgement, ...obligations }
    : { effect: 'allow', judged, ...obligations };
}
