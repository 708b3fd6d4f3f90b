/**
 * Policy test cases (like `opa test`): YAML files beside the policies, each case a request and a
 * principal with the decision, matched rules and obligations expected.
 *
 * Contract: pure. `parsePolicyTests` validates a test file with valibot (errors name file, line and
 * column); `runPolicyTests` evaluates every case against a compiled policy and returns one result per
 * case with every mismatch spelled out. Expectations are partial: only the fields a case names are
 * compared (lists exactly, objects field by field); `mask_includes` lists entries the mask must
 * contain among others (a connection's default mask makes exact lists long).
 */
import * as v from 'valibot';
import { LineCounter, parseDocument } from 'yaml';
import type { Principal } from '../auth/principal.ts';
import type { CompiledPolicy } from './compile.ts';
import { type Decision, evaluatePolicy } from './evaluate.ts';

const Strings = v.array(v.string());

export const TestPrincipalSchema = v.strictObject({
  /** Human subject object id; omit or null for an app with no human. */
  subject: v.optional(v.nullable(v.string()), 'bbbbbbbb-0000-4000-8000-00000000a11c'),
  app: v.optional(v.string(), 'test-app'),
  tenant: v.optional(v.string(), '11111111-1111-4111-8111-111111111111'),
  groups: v.optional(Strings, []),
  groups_resolved: v.optional(v.boolean(), true),
  roles: v.optional(Strings, []),
  scopes: v.optional(Strings, []),
});

const ExpectSchema = v.strictObject({
  effect: v.picklist(['allow', 'deny', 'require_approval']),
  matched: v.optional(Strings),
  deciding: v.optional(v.string()),
  operation: v.optional(v.string()),
  resource_id: v.optional(v.string()),
  message: v.optional(v.string()),
  approval: v.optional(v.record(v.string(), v.unknown())),
  mask: v.optional(v.record(v.string(), v.unknown())),
  mask_includes: v.optional(
    v.strictObject({ keys: v.optional(Strings), paths: v.optional(Strings), detectors: v.optional(Strings) }),
  ),
  rewrite: v.optional(v.record(v.string(), v.unknown())),
  errors: v.optional(v.number()),
});

const CaseSchema = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1)),
  request: v.strictObject({
    connection: v.string(),
    method: v.string(),
    path: v.pipe(v.string(), v.startsWith('/')),
    query: v.optional(v.string()),
    /** ISO timestamp for CEL `now`. */
    now: v.optional(v.pipe(v.string(), v.isoTimestamp())),
  }),
  /** A name from `principals`, or an inline principal. */
  principal: v.union([v.string(), TestPrincipalSchema]),
  expect: ExpectSchema,
});

export const PolicyTestFileSchema = v.strictObject({
  /** The policy file under test, relative to this file. */
  policy: v.string(),
  principals: v.optional(v.record(v.string(), TestPrincipalSchema), {}),
  cases: v.pipe(v.array(CaseSchema), v.minLength(1)),
});

export type PolicyTestFile = v.InferOutput<typeof PolicyTestFileSchema>;
export type TestPrincipal = v.InferOutput<typeof TestPrincipalSchema>;

export type ParseResult = { ok: true; tests: PolicyTestFile } | { ok: false; errors: string[] };

export function parsePolicyTests(text: string, file = 'tests'): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      ok: false,
      errors: doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}:${e.linePos?.[0]?.col ?? 1}: ${e.message}`),
    };
  }
  const parsed = v.safeParse(PolicyTestFileSchema, doc.toJS());
  if (parsed.success) return { ok: true, tests: parsed.output };
  return {
    ok: false,
    errors: parsed.issues.map((issue) => {
      const path = (issue.path ?? []).map((p) => p.key as string | number);
      let where = '1:1';
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) {
          const pos = lineCounter.linePos(node.range[0]);
          where = `${pos.line}:${pos.col}`;
          break;
        }
      }
      return `${file}:${where}: ${path.join('.')}: ${issue.message}`;
    }),
  };
}

export function principalFromTest(p: TestPrincipal): Principal & { groupsResolved: boolean } {
  return {
    tenantId: p.tenant,
    subject: p.subject ? { objectId: p.subject } : null,
    actor: { appId: p.app, credentialType: 'unknown', appOnly: p.subject === null },
    groups: p.groups,
    groupsResolved: p.groups_resolved,
    roles: p.roles,
    scopes: p.scopes,
    directoryRoles: [],
    tokenVersion: '2.0',
    tokenFingerprint: 'policy-test',
    expiresAt: 0,
  };
}

export interface CaseResult {
  name: string;
  ok: boolean;
  failures: string[];
  decision?: Decision;
}

export function runPolicyTests(policy: CompiledPolicy, tests: PolicyTestFile): CaseResult[] {
  return tests.cases.map((testCase) => {
    const failures: string[] = [];
    const principalSource =
      typeof testCase.principal === 'string' ? tests.principals[testCase.principal] : testCase.principal;
    if (!principalSource)
      return { name: testCase.name, ok: false, failures: [`unknown principal ${testCase.principal}`] };
    const { now, ...request } = testCase.request;
    const decision = evaluatePolicy(
      policy,
      { ...request, ...(now ? { now: Date.parse(now) } : {}) },
      principalFromTest(principalSource),
    );
    const expect = testCase.expect;
    const check = (label: string, actual: unknown, wanted: unknown) => {
      if (!deepEqual(actual, wanted)) failures.push(`${label}: expected ${show(wanted)}, got ${show(actual)}`);
    };
    check('effect', decision.effect, expect.effect);
    if (expect.matched) check('matched', decision.matchedRuleIds, expect.matched);
    if (expect.deciding !== undefined) check('deciding', decision.decidingRuleId, expect.deciding);
    if (expect.operation !== undefined) check('operation', decision.operation, expect.operation);
    if (expect.resource_id !== undefined) check('resource_id', decision.resourceId, expect.resource_id);
    if (expect.message !== undefined) check('message', decision.message, expect.message);
    if (expect.errors !== undefined) check('errors', decision.errors.length, expect.errors);
    for (const [section, wanted] of [
      ['approval', expect.approval],
      ['mask', expect.mask],
      ['rewrite', expect.rewrite],
    ] as const) {
      if (!wanted) continue;
      const actual = (decision[section] ?? {}) as Record<string, unknown>;
      for (const [key, value] of Object.entries(wanted)) check(`${section}.${key}`, actual[key], value);
    }
    for (const [field, wanted] of Object.entries(expect.mask_includes ?? {})) {
      const held: readonly string[] = decision.mask[field as 'keys' | 'paths' | 'detectors'];
      const missing = (wanted ?? []).filter((item) => !held.includes(item));
      if (missing.length) failures.push(`mask_includes.${field}: missing ${show(missing)}, got ${show(held)}`);
    }
    return { name: testCase.name, ok: failures.length === 0, failures, decision };
  });
}

const show = (value: unknown) => JSON.stringify(value) ?? 'undefined';

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
