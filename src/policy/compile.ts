/**
 * Policy source text → a compiled policy ready for evaluation.
 *
 * Contract: returns every problem found (with the path of the field) or a `CompiledPolicy` whose
 * path patterns are pre-compiled and whose `digest` is the sha-256 of the source text. Pure: no
 * I/O, no clock.
 */
import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { sha256Hex } from '../util/sha256.ts';
import {
  type ApprovalSpec,
  type ConnectionSource,
  type PolicySource,
  PolicySourceSchema,
  type PrincipalMatch,
} from './schema.ts';

export interface CompiledRule {
  id: string;
  description?: string;
  connections?: ReadonlySet<string>;
  methods?: ReadonlySet<string>;
  paths?: readonly RegExp[];
  principals?: PrincipalMatch;
  effect: 'allow' | 'deny' | 'require_approval';
  message?: string;
  approval?: ApprovalSpec;
  maskKeys: readonly string[];
}

export interface CompiledPolicy {
  digest: string;
  connections: ReadonlyMap<string, ConnectionSource>;
  auditors?: PrincipalMatch;
  rules: readonly CompiledRule[];
}

export type CompileResult = { ok: true; policy: CompiledPolicy } | { ok: false; errors: string[] };

/**
 * `/a/{name}/*` matches one segment per `{name}` or `*`; `**` matches zero or more segments.
 * Matching is case-insensitive because Resource Manager paths are.
 */
export function compilePathPattern(pattern: string): RegExp {
  const segments = pattern.split('/').slice(1);
  let source = '^';
  for (const segment of segments) {
    if (segment === '**') source += '(?:/[^/]+)*';
    else if (segment === '*' || /^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(segment)) source += '/[^/]+';
    else source += `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
  }
  return new RegExp(`${source}/?$`, 'i');
}

export async function compilePolicy(sourceText: string): Promise<CompileResult> {
  let document: unknown;
  try {
    document = parseYaml(sourceText, { prettyErrors: true });
  } catch (error) {
    return { ok: false, errors: [`policy is not valid YAML: ${error instanceof Error ? error.message : error}`] };
  }
  const parsed = v.safeParse(PolicySourceSchema, document);
  if (!parsed.success) {
    return { ok: false, errors: parsed.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`) };
  }
  const source: PolicySource = parsed.output;
  const errors: string[] = [];
  const connections = new Map<string, ConnectionSource>();
  for (const connection of source.connections) {
    if (connections.has(connection.name)) errors.push(`connections: duplicate name ${connection.name}`);
    connections.set(connection.name, connection);
  }
  const ruleIds = new Set<string>();
  const rules: CompiledRule[] = source.rules.map((rule, index) => {
    if (ruleIds.has(rule.id)) errors.push(`rules.${index}.id: duplicate rule id ${rule.id}`);
    ruleIds.add(rule.id);
    for (const name of rule.match.connections ?? []) {
      if (!connections.has(name)) errors.push(`rules.${index}.match.connections: unknown connection ${name}`);
    }
    return {
      id: rule.id,
      ...(rule.description ? { description: rule.description } : {}),
      ...(rule.match.connections ? { connections: new Set(rule.match.connections) } : {}),
      ...(rule.match.methods ? { methods: new Set(rule.match.methods) } : {}),
      ...(rule.match.paths ? { paths: rule.match.paths.map(compilePathPattern) } : {}),
      ...(rule.principals ? { principals: rule.principals } : {}),
      effect: rule.effect,
      ...(rule.message ? { message: rule.message } : {}),
      ...(rule.approval ? { approval: rule.approval } : {}),
      maskKeys: (rule.mask?.keys ?? []).map((key) => key.toLowerCase()),
    };
  });
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    policy: {
      digest: await sha256Hex(sourceText),
      connections,
      ...(source.auditors ? { auditors: source.auditors } : {}),
      rules,
    },
  };
}
