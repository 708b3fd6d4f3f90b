/**
 * Evaluate a compiled policy for one request and principal.
 *
 * Contract: default deny; `deny` beats `require_approval` beats `allow` (ties go to the earliest
 * rule); the decision lists every rule that matched, in source order, with what it matched on;
 * obligations (mask, rewrite) accumulate from every matching rule whatever its effect, and the
 * connection's default mask joins every decision's mask unless a matching rule that allowed (its
 * evaluated effect, so not one whose condition failed) opts out with `default_mask: false`. Only the
 * rules the match index returns for (connection, method, provider/resource/first segment) are
 * examined. A `when` condition that fails at runtime makes that rule a deny for this request, with
 * the reason in `errors` (fail closed). Principals with unresolved groups (`groupsResolved: false`)
 * never satisfy a groups condition of an `allow` rule, and always satisfy it for `deny` and
 * `require_approval` rules (unknown membership must not lift a restriction). Pure: no I/O, no clock.
 */
import type { Principal } from '../auth/principal.ts';
import { EMPTY_MASK, type MaskSpec } from '../mask/spec.ts';
import type { CelContext } from './cel.ts';
import { runCondition } from './cel.ts';
import type { CompiledPolicy, CompiledRule } from './compile.ts';
import { accumulateMask, accumulateRewrite, EMPTY_REWRITE, type RewriteSpec } from './obligations.ts';
import { describeRequest, type PolicyRequest, type RequestFacts } from './request-facts.ts';
import type { ApprovalSpec, PrincipalMatch } from './schema.ts';

export type { PolicyRequest } from './request-facts.ts';

export type Effect = 'allow' | 'deny' | 'require_approval';

export interface RuleMatch {
  ruleId: string;
  effect: Effect;
  /** What the rule matched on (its match, principals and condition), or why it became a deny. */
  why: string;
}

export interface Decision {
  effect: Effect;
  /** Every rule that matched, in source order. */
  matchedRuleIds: readonly string[];
  matches: readonly RuleMatch[];
  /** The rule that decided the effect (undefined for the default deny). */
  decidingRuleId?: string;
  message?: string;
  approval?: ApprovalSpec;
  mask: MaskSpec;
  rewrite: RewriteSpec;
  /** Derived operation (ARM RBAC name, `k8s:verb resource`, or `METHOD path`) for audit. */
  operation: string;
  resourceId: string;
  /** Conditions that could not be evaluated (each made its rule a deny). */
  errors: readonly { ruleId: string; reason: string }[];
}

const anyOf = (wanted: readonly string[] | undefined, held: readonly string[]) =>
  wanted === undefined || wanted.some((item) => held.includes(item));

/**
 * Whether a principal satisfies a principal match. `forAllow` decides how unresolved groups count:
 * never for an allow, always for a restriction.
 */
export function principalMatches(match: PrincipalMatch | undefined, principal: Principal, forAllow = true): boolean {
  if (!match) return true;
  if (match.app_only !== undefined && match.app_only !== (principal.subject === null)) return false;
  if (match.subjects && !(principal.subject && match.subjects.includes(principal.subject.objectId))) return false;
  if (match.tenants && !match.tenants.includes(principal.tenantId)) return false;
  if (match.groups) {
    if (principal.groupsResolved === false) {
      if (forAllow) return false;
    } else if (!anyOf(match.groups, principal.groups)) return false;
  }
  return (
    anyOf(match.apps, [principal.actor.appId]) &&
    anyOf(match.roles, principal.roles) &&
    anyOf(match.scopes, principal.scopes)
  );
}

const STRENGTH = { allow: 1, require_approval: 2, deny: 3 } as const;
const NO_ERRORS: readonly { ruleId: string; reason: string }[] = Object.freeze([]);

/**
 * Decision masks by (default mask or none, masking rules matched), per compiled policy. With a
 * connection default every masked decision would otherwise re-merge the default's ~45 entries per
 * request; the same few rule combinations recur, so each is merged once and shared (frozen).
 */
const decisionMasks = new WeakMap<CompiledPolicy, Map<string, MaskSpec>>();
const DECISION_MASKS_MAX = 256;

function decisionMask(
  policy: CompiledPolicy,
  connection: string,
  matched: readonly CompiledRule[],
  defaultMask: MaskSpec | undefined,
): MaskSpec {
  let key = '';
  for (const rule of matched) if (rule.mask) key += `${rule.order},`;
  // No rule masks: the default as compiled (already one shared frozen object), or none.
  if (key === '') return defaultMask ?? EMPTY_MASK;
  // Rule masks do not depend on the connection; the default does (connection ids hold no comma).
  if (defaultMask) key += connection;
  let memo = decisionMasks.get(policy);
  if (!memo) {
    memo = new Map();
    decisionMasks.set(policy, memo);
  }
  let mask = memo.get(key);
  if (!mask) {
    const merged = accumulateMask(matched, defaultMask);
    mask = Object.freeze({
      ...merged,
      paths: Object.freeze(merged.paths),
      keys: Object.freeze(merged.keys),
      detectors: Object.freeze(merged.detectors),
    });
    if (memo.size < DECISION_MASKS_MAX) memo.set(key, mask);
  }
  return mask;
}

interface Scratch {
  facts: RequestFacts;
  principal: Principal;
  context?: CelContext;
  params?: Record<string, string>;
}

function structuralMatch(rule: CompiledRule, scratch: Scratch): boolean {
  const { facts } = scratch;
  // The index already filtered on these; re-checking two Set lookups keeps the evaluator correct on
  // its own (the index is an optimisation, never a source of truth).
  if (rule.connections && !rule.connections.has(facts.request.connection)) return false;
  if (rule.methods && !rule.methods.has(facts.method)) return false;
  if (rule.paths) {
    let hit = false;
    for (const template of rule.paths) {
      const m = template.regex.exec(facts.request.path);
      if (!m) continue;
      hit = true;
      if (template.captures.length && m.groups) {
        scratch.params = { ...scratch.params, ...m.groups };
      }
    }
    if (!hit) return false;
  }
  const arm = facts.arm;
  if (rule.operationSet || rule.operations || rule.notOperations || rule.subscriptions || rule.resourceGroups) {
    if (!arm) return false;
    if (rule.operationSet && !rule.operationSet.has(facts.operationKey.slice(3))) return false;
    if (rule.operations && !rule.operations.test(arm.operation)) return false;
    if (rule.notOperations?.test(arm.operation)) return false;
    if (rule.subscriptions && !rule.subscriptions.test(arm.subscription)) return false;
    if (rule.resourceGroups && !rule.resourceGroups.test(arm.resourceGroup)) return false;
  }
  if (rule.providers || rule.resourceTypes) {
    if (!arm) return false;
    if (rule.providers && !rule.providers.test(arm.provider)) return false;
    if (rule.resourceTypes && !rule.resourceTypes.test(arm.resourceType)) return false;
  }
  if (rule.apiVersions) {
    const version = arm ? arm.apiVersion : (facts.query.get('api-version') ?? '');
    if (!rule.apiVersions.test(version)) return false;
  }
  const k = rule.kubernetes;
  if (k) {
    const kf = facts.kubernetes;
    if (!kf?.isResourceRequest) return false;
    if (k.verbs && !k.verbs.has(kf.verb)) return false;
    if (k.apiGroups && !k.apiGroups.has(kf.apiGroup)) return false;
    if (k.resources && !k.resources.has(kf.resource)) return false;
    if (k.namespaces && !k.namespaces.has(kf.namespace)) return false;
    if (k.names && !k.names.has(kf.name)) return false;
  }
  return true;
}

function celContext(scratch: Scratch): CelContext {
  if (scratch.context) return scratch.context;
  const { facts, principal } = scratch;
  const arm = facts.arm;
  const k8s = facts.kubernetes;
  const resource: Record<string, unknown> = arm
    ? {
        kind: 'arm',
        operation: arm.operation,
        subscription: arm.subscription,
        resource_group: arm.resourceGroup,
        provider: arm.provider,
        type: arm.resourceType,
        name: arm.resourceName,
        id: arm.resourceId,
        api_version: arm.apiVersion,
      }
    : k8s
      ? {
          kind: 'kubernetes',
          verb: k8s.verb,
          api_group: k8s.apiGroup,
          api_version: k8s.apiVersion,
          resource: k8s.resource,
          namespace: k8s.namespace,
          name: k8s.name,
          id: facts.resourceId,
        }
      : { kind: 'http', id: facts.resourceId };
  scratch.context = {
    request: {
      connection: facts.request.connection,
      method: facts.method,
      path: facts.request.path,
      params: {},
      query: Object.fromEntries(facts.query),
      operation: facts.operation,
      template_resource_types: facts.request.templateResourceTypes ?? [],
    },
    principal: {
      tenant: principal.tenantId,
      subject: principal.subject?.objectId ?? '',
      app: principal.actor.appId,
      app_only: principal.subject === null,
      groups: principal.groups,
      groups_resolved: principal.groupsResolved !== false,
      roles: principal.roles,
      scopes: principal.scopes,
    },
    resource,
    now: new Date(facts.request.now ?? 0),
  };
  return scratch.context;
}

export function evaluatePolicy(policy: CompiledPolicy, request: PolicyRequest, principal: Principal): Decision {
  const facts = describeRequest(request, policy.connections.get(request.connection));
  const scratch: Scratch = { facts, principal };
  const candidates = policy.index.candidates(request.connection, facts.method, facts.indexKey, facts.operationKey);
  const matched: CompiledRule[] = [];
  const matches: RuleMatch[] = [];
  const matchedRuleIds: string[] = [];
  let errors: { ruleId: string; reason: string }[] | undefined;
  let deciding: CompiledRule | undefined;
  let decidingEffect: Effect = 'deny';
  let defaultMask = policy.defaultMasks.get(request.connection);
  for (const rule of candidates) {
    scratch.params = undefined;
    if (!structuralMatch(rule, scratch)) continue;
    if (!principalMatches(rule.principals, principal, rule.effect === 'allow')) continue;
    let effect: Effect = rule.effect;
    let why = rule.why;
    if (effect === 'require_approval' && rule.principals?.groups && principal.groupsResolved === false) {
      // An approval is a way in: with the requester's groups unknown (token overage, Graph down)
      // nobody can say this rule — rather than default deny — applies, so it denies, like a failed condition.
      effect = 'deny';
      why = 'groups unresolved (token overage); treated as deny';
      errors ??= [];
      errors.push({ ruleId: rule.id, reason: 'groups unresolved' });
    }
    if (rule.when) {
      const base = celContext(scratch);
      const context = scratch.params ? { ...base, request: { ...base.request, params: scratch.params } } : base;
      const result = runCondition(rule.when, context);
      if (!result.ok) {
        effect = 'deny';
        why = `condition failed (${result.reason}); treated as deny`;
        errors ??= [];
        errors.push({ ruleId: rule.id, reason: result.reason });
      } else if (!result.value) continue;
    }
    if (effect === 'allow' && rule.optsOutOfDefaultMask) defaultMask = undefined;
    matched.push(rule);
    matchedRuleIds.push(rule.id);
    matches.push({ ruleId: rule.id, effect, why });
    if (!deciding || STRENGTH[effect] > STRENGTH[decidingEffect]) {
      deciding = rule;
      decidingEffect = effect;
    }
  }
  const decision: Decision = {
    effect: deciding ? decidingEffect : 'deny',
    matchedRuleIds,
    matches,
    mask: decisionMask(policy, request.connection, matched, defaultMask),
    rewrite: matched.length ? accumulateRewrite(matched) : EMPTY_REWRITE,
    operation: facts.operation,
    resourceId: facts.resourceId,
    errors: errors ?? NO_ERRORS,
  };
  if (!deciding) {
    decision.message = 'No policy rule allows this request.';
    return decision;
  }
  decision.decidingRuleId = deciding.id;
  if (decidingEffect === 'deny' && deciding.effect !== 'deny') {
    decision.message = 'A policy condition could not be evaluated for this request.';
  } else if (deciding.message) decision.message = deciding.message;
  if (decidingEffect === 'require_approval' && deciding.approval) decision.approval = deciding.approval;
  return decision;
}
