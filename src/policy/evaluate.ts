/**
 * Evaluate a compiled policy for one request and principal.
 *
 * Contract: default deny; `deny` beats `require_approval` beats `allow`; the decision lists every
 * rule that matched; mask obligations accumulate from every matching rule whatever its effect.
 * Pure: no I/O, no clock.
 */
import type { Principal } from '../auth/principal.ts';
import type { CompiledPolicy, CompiledRule } from './compile.ts';
import type { ApprovalSpec, PrincipalMatch } from './schema.ts';

export interface PolicyRequest {
  connection: string;
  method: string;
  /** Normalised upstream path (no connection prefix, no query). */
  path: string;
}

export interface Decision {
  effect: 'allow' | 'deny' | 'require_approval';
  /** Every rule that matched, in source order. */
  matchedRuleIds: readonly string[];
  /** The rule that decided the effect (undefined for the default deny). */
  decidingRuleId?: string;
  message?: string;
  approval?: ApprovalSpec;
  mask: { keys: readonly string[] };
}

const anyOf = (wanted: readonly string[] | undefined, held: readonly string[]) =>
  wanted === undefined || wanted.some((item) => held.includes(item));

export function principalMatches(match: PrincipalMatch | undefined, principal: Principal): boolean {
  if (!match) return true;
  if (match.app_only !== undefined && match.app_only !== (principal.subject === null)) return false;
  if (match.subjects && !(principal.subject && match.subjects.includes(principal.subject.objectId))) return false;
  // Issue 3: groups unknown (overage not resolved) → a group condition never matches (fail closed).
  if (match.groups !== undefined && principal.groupsResolved === false) return false;
  return (
    anyOf(match.groups, principal.groups) &&
    anyOf(match.apps, [principal.actor.appId]) &&
    anyOf(match.roles, principal.roles) &&
    anyOf(match.scopes, principal.scopes)
  );
}

function ruleMatches(rule: CompiledRule, request: PolicyRequest, principal: Principal): boolean {
  if (rule.connections && !rule.connections.has(request.connection)) return false;
  if (rule.methods && !rule.methods.has(request.method)) return false;
  if (rule.paths && !rule.paths.some((pattern) => pattern.test(request.path))) return false;
  // Issue 3: groups unknown → a deny rule's group condition counts as met (fail closed both ways).
  if (rule.effect === 'deny' && principal.groupsResolved === false && rule.principals?.groups) {
    const { groups: _unknown, ...rest } = rule.principals;
    return principalMatches(rest, principal);
  }
  return principalMatches(rule.principals, principal);
}

const STRENGTH = { allow: 1, require_approval: 2, deny: 3 } as const;

export function evaluatePolicy(policy: CompiledPolicy, request: PolicyRequest, principal: Principal): Decision {
  const matched: CompiledRule[] = [];
  let deciding: CompiledRule | undefined;
  const maskKeys = new Set<string>();
  for (const rule of policy.rules) {
    if (!ruleMatches(rule, request, principal)) continue;
    matched.push(rule);
    for (const key of rule.maskKeys) maskKeys.add(key);
    if (!deciding || STRENGTH[rule.effect] > STRENGTH[deciding.effect]) deciding = rule;
  }
  const mask = { keys: [...maskKeys] };
  const matchedRuleIds = matched.map((rule) => rule.id);
  if (!deciding) {
    return { effect: 'deny', matchedRuleIds, message: 'No policy rule allows this request.', mask };
  }
  return {
    effect: deciding.effect,
    matchedRuleIds,
    decidingRuleId: deciding.id,
    ...(deciding.message ? { message: deciding.message } : {}),
    ...(deciding.approval ? { approval: deciding.approval } : {}),
    mask,
  };
}
