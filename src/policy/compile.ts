/**
 * Policy source (YAML or JSON text, or an already parsed document) → a compiled policy.
 *
 * Contract: returns every problem found — each naming the file, line and column when the source is
 * text — or a `CompiledPolicy` whose patterns, wildcards and CEL conditions are compiled and whose
 * match index is built. The `digest` is the sha-256 of the canonical JSON of the source document
 * (keys sorted), so the same policy written as YAML or as a JSON bundle has the same digest, and
 * comments or formatting do not change it. Pure: no I/O, no clock.
 */
import * as v from 'valibot';
import { LineCounter, parseDocument } from 'yaml';
import { BUILTIN_DEFAULT_MASKS } from '../mask/azure-defaults.ts';
import { parseJsonPath } from '../mask/json-path.ts';
import type { MaskSpec } from '../mask/spec.ts';
import { sha256Hex } from '../util/sha256.ts';
import { type CelProgram, compileCondition } from './cel.ts';
import { buildIndex, type RuleIndex } from './match-index.ts';
import { normaliseRewrite, PROTECTED_HEADERS, type RewriteSpec } from './obligations.ts';
import { compilePathTemplate, compileWildcards, literalProvider, type PathTemplate } from './patterns.ts';
import {
  type ApprovalSpec,
  type ConnectionSource,
  type PolicySource,
  PolicySourceSchema,
  type PrincipalMatch,
  type RuleSource,
} from './schema.ts';

export { compilePathPattern } from './patterns.ts';

export interface CompiledKubernetesMatch {
  verbs?: ReadonlySet<string>;
  apiGroups?: ReadonlySet<string>;
  resources?: ReadonlySet<string>;
  namespaces?: ReadonlySet<string>;
  names?: ReadonlySet<string>;
}

export interface CompiledRule {
  id: string;
  /** Position in the source: evaluation reports matches in this order. */
  order: number;
  description?: string;
  connections?: ReadonlySet<string>;
  methods?: ReadonlySet<string>;
  paths?: readonly PathTemplate[];
  /** Literal operations, lowercased: a Set lookup instead of a RegExp when no wildcard is used. */
  operationSet?: ReadonlySet<string>;
  operations?: RegExp;
  notOperations?: RegExp;
  subscriptions?: RegExp;
  resourceGroups?: RegExp;
  providers?: RegExp;
  resourceTypes?: RegExp;
  apiVersions?: RegExp;
  kubernetes?: CompiledKubernetesMatch;
  principals?: PrincipalMatch;
  when?: CelProgram;
  whenSource?: string;
  effect: 'allow' | 'deny' | 'require_approval';
  message?: string;
  approval?: ApprovalSpec;
  mask?: Partial<MaskSpec>;
  /** `default_mask: false` on an allow rule: the connection's default mask is lifted where it allows. */
  optsOutOfDefaultMask?: true;
  rewrite?: RewriteSpec;
  /** What the rule matches on, precomputed for explain and audit (no per-request allocation). */
  why: string;
  /** Index buckets this rule can match (undefined: every bucket). */
  indexKeys?: ReadonlySet<string>;
}

export interface CompiledPolicy {
  digest: string;
  connections: ReadonlyMap<string, ConnectionSource>;
  /**
   * Each connection's resolved default mask (built-in names expanded; style `redact`, which the
   * rules' style replaces): merged into every decision's mask for that connection.
   */
  defaultMasks: ReadonlyMap<string, MaskSpec>;
  auditors?: PrincipalMatch;
  policyAdmins?: PrincipalMatch;
  rules: readonly CompiledRule[];
  index: RuleIndex;
  /** The validated source document, defaults applied (for explain). */
  source: PolicySource;
  /** The source document as written: what the digest covers and what a bundle carries. */
  document: unknown;
}

export type CompileResult = { ok: true; policy: CompiledPolicy } | { ok: false; errors: string[] };

export interface CompileOptions {
  /** File name used in error messages. */
  file?: string;
}

type Locate = (path: readonly (string | number)[]) => string;

/** Compile YAML or JSON text (JSON is YAML 1.2). */
export async function compilePolicy(sourceText: string, options: CompileOptions = {}): Promise<CompileResult> {
  const file = options.file ?? 'policy';
  if (sourceText.trimStart().startsWith('{')) {
    // JSON fast path (bundles): JSON.parse is ~100× faster than the YAML parser. Only when the
    // document is invalid is it parsed again as YAML, to name lines and columns in the errors.
    let document: unknown;
    try {
      document = JSON.parse(sourceText);
    } catch {
      document = undefined;
    }
    if (document !== undefined) {
      const fast = await compilePolicyDocument(document);
      if (fast.ok) return fast;
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(sourceText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return `${file}:${at ? `${at.line}:${at.col}` : '1:1'}: ${e.message.split('\n')[0]}`;
      }),
    };
  }
  const locate: Locate = (path) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return `${file}:${pos.line}:${pos.col}`;
      }
    }
    return `${file}:1:1`;
  };
  return compilePolicyDocument(doc.toJS(), locate);
}

/** Compile a parsed document (a JSON bundle's `source`). */
export async function compilePolicyDocument(
  document: unknown,
  locate: Locate = () => 'bundle',
): Promise<CompileResult> {
  const parsed = v.safeParse(PolicySourceSchema, document);
  if (!parsed.success) {
    const errors = parsed.issues.map((issue) => {
      const path = (issue.path ?? []).map((item) => item.key as string | number);
      return `${locate(path)}: ${path.join('.') || '(root)'}: ${issue.message}`;
    });
    // List CEL errors too, so one run shows every problem, not just the structural ones.
    const rules = (document as { rules?: unknown } | null)?.rules;
    if (Array.isArray(rules)) {
      rules.forEach((rule, i) => {
        const when = (rule as { when?: unknown } | null)?.when;
        if (typeof when !== 'string' || when === '') return;
        const condition = compileCondition(when);
        if (!condition.ok) errors.push(`${locate(['rules', i, 'when'])}: rules.${i}.when: CEL: ${condition.error}`);
      });
    }
    return { ok: false, errors };
  }
  const source = parsed.output;
  const errors: string[] = [];
  const fail = (path: (string | number)[], message: string) =>
    errors.push(`${locate(path)}: ${path.join('.')}: ${message}`);

  const connections = new Map<string, ConnectionSource>();
  const defaultMasks = new Map<string, MaskSpec>();
  source.connections.forEach((connection, i) => {
    const resolved = resolveDefaultMask(connection, (path, message) =>
      fail(['connections', i, 'default_mask', ...path], message),
    );
    if (resolved) defaultMasks.set(connection.name, resolved);
    if (connections.has(connection.name)) fail(['connections', i, 'name'], `duplicate connection ${connection.name}`);
    const mode = typeof connection.credential === 'string' ? connection.credential : connection.credential.mode;
    if (mode === 'passthrough' && !connection.audiences) {
      // The caller's token goes upstream as is, so it must be for the upstream: say which audience.
      fail(['connections', i, 'audiences'], 'a passthrough connection must list the upstream audiences it accepts');
    }
    connections.set(connection.name, connection);
  });
  const ruleIds = new Set<string>();
  const rules: CompiledRule[] = [];
  source.rules.forEach((rule, i) => {
    if (ruleIds.has(rule.id)) fail(['rules', i, 'id'], `duplicate rule id ${rule.id}`);
    ruleIds.add(rule.id);
    const compiled = compileRule(rule, i, connections, (path, message) => fail(['rules', i, ...path], message));
    if (compiled) rules.push(compiled);
    checkMaskPaths(rule.mask?.paths ?? [], (j, message) => fail(['rules', i, 'mask', 'paths', j], message));
  });
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    policy: {
      digest: await sha256Hex(canonicalJson(document)),
      connections,
      defaultMasks,
      ...(source.auditors ? { auditors: source.auditors } : {}),
      ...(source.policy_admins ? { policyAdmins: source.policy_admins } : {}),
      rules,
      index: buildIndex(rules),
      source,
      document,
    },
  };
}

function compileRule(
  rule: RuleSource,
  order: number,
  connections: ReadonlyMap<string, ConnectionSource>,
  fail: (path: (string | number)[], message: string) => void,
): CompiledRule | undefined {
  const match = rule.match;
  const before = { failed: false };
  const error = (path: (string | number)[], message: string) => {
    before.failed = true;
    fail(path, message);
  };
  const kinds = new Set<string>();
  for (const [j, name] of (match.connections ?? []).entries()) {
    const connection = connections.get(name);
    if (!connection) error(['match', 'connections', j], `unknown connection ${name}`);
    else kinds.add(connection.kind);
  }
  const armOnly = ['operations', 'not_operations', 'subscriptions', 'resource_groups', 'providers', 'resource_types'];
  const usesArm = armOnly.some((key) => match[key as keyof typeof match] !== undefined);
  if (usesArm && match.connections && !kinds.has('azure_resource_manager')) {
    error(['match'], 'Resource Manager attributes need an azure_resource_manager connection');
  }
  if (match.kubernetes && match.connections && !kinds.has('kubernetes')) {
    error(['match', 'kubernetes'], 'kubernetes attributes need a kubernetes connection');
  }
  const paths: PathTemplate[] = [];
  for (const [j, pattern] of (match.paths ?? []).entries()) {
    const compiled = compilePathTemplate(pattern);
    if (compiled.ok) paths.push(compiled.value);
    else error(['match', 'paths', j], compiled.error);
  }
  for (const [key, list] of [
    ['operations', match.operations],
    ['not_operations', match.not_operations],
  ] as const) {
    for (const [j, op] of (list ?? []).entries()) {
      if (op !== '*' && !op.includes('/')) {
        error(['match', key, j], `"${op}" is not an operation (Namespace/type/…/verb, or * wildcards)`);
      }
    }
  }
  let when: CelProgram | undefined;
  if (rule.when !== undefined) {
    const condition = compileCondition(rule.when);
    if (condition.ok) when = condition.program;
    else error(['when'], `CEL: ${condition.error}`);
  }
  if (rule.effect === 'deny' && rule.approval) error(['approval'], 'approval only applies to require_approval');
  if (rule.effect === 'require_approval' && rule.approval) {
    if (rule.approval.groups.length === 0 && rule.approval.users.length === 0) {
      error(['approval'], 'name at least one approver group or user');
    }
  }
  for (const [name] of Object.entries(rule.rewrite?.set_headers ?? {})) {
    if (PROTECTED_HEADERS.test(name)) error(['rewrite', 'set_headers', name], `header ${name} cannot be rewritten`);
  }
  for (const [j, name] of (rule.rewrite?.remove_headers ?? []).entries()) {
    if (PROTECTED_HEADERS.test(name)) error(['rewrite', 'remove_headers', j], `header ${name} cannot be rewritten`);
  }
  if (before.failed) return undefined;

  const set = (list: readonly string[] | undefined) => (list ? new Set(list) : undefined);
  const wild = (list: readonly string[] | undefined) => (list ? internedWildcards(list) : undefined);
  const k8s = match.kubernetes;
  const compiled: CompiledRule = {
    id: rule.id,
    order,
    effect: rule.effect,
    why: describeRule(rule),
    ...(rule.description ? { description: rule.description } : {}),
    ...(match.connections ? { connections: new Set(match.connections) } : {}),
    ...(match.methods ? { methods: new Set(match.methods) } : {}),
    ...(paths.length ? { paths } : {}),
    ...(match.operations?.every((op) => !op.includes('*'))
      ? { operationSet: new Set(match.operations.map((op) => op.toLowerCase())) }
      : optional('operations', wild(match.operations))),
    ...optional('notOperations', wild(match.not_operations)),
    ...optional('subscriptions', wild(match.subscriptions)),
    ...optional('resourceGroups', wild(match.resource_groups)),
    ...optional('providers', wild(match.providers)),
    ...optional('resourceTypes', wild(match.resource_types)),
    ...optional('apiVersions', wild(match.api_versions)),
    ...(k8s
      ? {
          kubernetes: {
            ...optional('verbs', k8s.verbs?.includes('*') ? undefined : set(k8s.verbs)),
            ...optional('apiGroups', k8s.api_groups?.includes('*') ? undefined : set(k8s.api_groups)),
            ...optional('resources', k8s.resources?.includes('*') ? undefined : set(k8s.resources)),
            ...optional('namespaces', k8s.namespaces?.includes('*') ? undefined : set(k8s.namespaces)),
            ...optional('names', k8s.names?.includes('*') ? undefined : set(k8s.names)),
          },
        }
      : {}),
    ...(rule.principals ? { principals: rule.principals } : {}),
    ...(when ? { when, whenSource: rule.when } : {}),
    ...(rule.message ? { message: rule.message } : {}),
    ...(rule.approval ? { approval: rule.approval } : {}),
    ...(rule.mask ? { mask: rule.mask as Partial<MaskSpec> } : {}),
    // Only an allow rule may lift the default mask (schema.ts says why); elsewhere it is ignored.
    ...(rule.default_mask === false && rule.effect === 'allow' ? { optsOutOfDefaultMask: true as const } : {}),
    ...(rule.rewrite ? { rewrite: normaliseRewrite(rule.rewrite) } : {}),
  };
  const indexKeys = indexKeysFor(rule, connections);
  if (indexKeys) compiled.indexKeys = indexKeys;
  return compiled;
}

/**
 * A connection's `default_mask` as the MaskSpec merged into its decisions (frozen: shared by every
 * decision), or undefined when it has none. Problems (a mask that masks nothing, a path that does
 * not parse) are reported through `fail`; built-in names and detectors are checked by the schema.
 */
function resolveDefaultMask(
  connection: ConnectionSource,
  fail: (path: (string | number)[], message: string) => void,
): MaskSpec | undefined {
  const source = connection.default_mask;
  if (source === undefined) return undefined;
  const mask = typeof source === 'string' ? BUILTIN_DEFAULT_MASKS[source] : source;
  if (mask.keys.length === 0 && mask.paths.length === 0 && mask.detectors.length === 0) {
    fail([], 'a default mask names at least one key, path or detector (or leave default_mask out)');
    return undefined;
  }
  if (!checkMaskPaths(mask.paths, (j, message) => fail(['paths', j], message))) return undefined;
  return Object.freeze({
    paths: Object.freeze([...new Set(mask.paths)]),
    keys: Object.freeze([...new Set(mask.keys)]),
    detectors: Object.freeze([...new Set(mask.detectors)]),
    style: 'redact',
  });
}

/** A mask path that cannot be parsed must fail here, not as a 500 after the upstream call ran. */
function checkMaskPaths(paths: readonly string[], fail: (index: number, message: string) => void): boolean {
  let ok = true;
  paths.forEach((path, j) => {
    const parsed = parseJsonPath(path);
    if (!parsed.ok) {
      ok = false;
      fail(j, parsed.reason);
    }
  });
  return ok;
}

/** Identical wildcard lists share one RegExp (fewer objects, and V8 caches its compiled code). */
const interned = new Map<string, RegExp>();
function internedWildcards(list: readonly string[]): RegExp {
  const key = list.join('\u0000');
  let regex = interned.get(key);
  if (!regex) {
    regex = compileWildcards(list);
    if (interned.size < 10_000) interned.set(key, regex);
  }
  return regex;
}

const optional = <K extends string, T>(key: K, value: T | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, T>>;

/**
 * The index buckets a rule can match. Sound by construction: a rule with ARM operations or
 * providers only matches ARM requests, whose key is `arm:{provider}`; a rule with literal
 * Kubernetes resources only matches Kubernetes requests (`k8s:{resource}`); a path rule only uses
 * `path:{first segment}` when all its connections are plain (neither ARM nor Kubernetes).
 */
function indexKeysFor(rule: RuleSource, connections: ReadonlyMap<string, ConnectionSource>): Set<string> | undefined {
  const match = rule.match;
  const literal = (patterns: readonly string[], key: (p: string) => string | undefined) => {
    const keys = patterns.map(key);
    return keys.every((k) => k !== undefined) ? new Set(keys as string[]) : undefined;
  };
  if (match.operations?.length) {
    const exact = literal(match.operations, (op) => (op.includes('*') ? undefined : `op:${op.toLowerCase()}`));
    if (exact) return exact;
    const keys = literal(match.operations, (op) => {
      const provider = literalProvider(op);
      return provider && `arm:${provider}`;
    });
    if (keys) return keys;
  }
  if (match.providers?.length) {
    const keys = literal(match.providers, (p) => (p.includes('*') ? undefined : `arm:${p.toLowerCase()}`));
    if (keys) return keys;
  }
  const resources = match.kubernetes?.resources;
  if (resources?.length) {
    const keys = literal(resources, (r) =>
      r.includes('*') ? undefined : `k8s:${(r.split('/')[0] ?? '').toLowerCase()}`,
    );
    if (keys) return keys;
  }
  const plain =
    match.connections?.length &&
    match.connections.every((name) => {
      const kind = connections.get(name)?.kind;
      return kind !== 'azure_resource_manager' && kind !== 'kubernetes';
    });
  if (plain && match.paths?.length) {
    const keys = literal(match.paths, firstLiteral);
    if (keys) return keys;
  }
  return undefined;
}

function firstLiteral(pattern: string): string | undefined {
  const result = compilePathTemplate(pattern);
  return result.ok && result.value.firstSegment !== undefined ? `path:${result.value.firstSegment}` : undefined;
}

function describeRule(rule: RuleSource): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(rule.match)) {
    if (value === undefined) continue;
    parts.push(`${key}=${typeof value === 'object' && !Array.isArray(value) ? JSON.stringify(value) : String(value)}`);
  }
  for (const [key, value] of Object.entries(rule.principals ?? {})) parts.push(`principals.${key}=${String(value)}`);
  if (rule.when) parts.push(`when ${rule.when}`);
  return parts.length ? parts.join('; ') : 'every request';
}

/** JSON with object keys sorted at every depth: the input of the bundle digest. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, item]) => `${JSON.stringify(k)}:${canonicalJson(item)}`).join(',')}}`;
}
