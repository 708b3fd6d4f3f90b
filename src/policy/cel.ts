/**
 * `when` conditions in CEL (Common Expression Language) via @marcbachmann/cel-js.
 *
 * Contract: `compileCondition` parses and type-checks once (compile time) against the declared
 * variables `request`, `principal`, `resource` (maps) and `now` (timestamp); an expression whose type
 * is not bool (or dyn) is refused. `runCondition` never throws: a runtime error (missing key, bad
 * overload on unexpected input) or a non-bool result is returned as a reason, which the evaluator
 * turns into a deny for that request. CEL integers are BigInt: the context carries numbers as
 * BigInt where CEL would expect int.
 */
import { Environment } from '@marcbachmann/cel-js';

export type CelProgram = (context: CelContext) => unknown;

export interface CelContext {
  request: Record<string, unknown>;
  principal: Record<string, unknown>;
  resource: Record<string, unknown>;
  now: Date;
}

let environment: Environment | undefined;

function celEnvironment(): Environment {
  environment ??= new Environment({ limits: { maxAstNodes: 2000, maxDepth: 64 } })
    .registerVariable('request', 'map', { description: 'connection, method, path, params, query, headers' })
    .registerVariable('principal', 'map', { description: 'tenant, subject, app, app_only, groups, roles, scopes' })
    .registerVariable('resource', 'map', { description: 'ARM or Kubernetes facts derived from the request' })
    .registerVariable('now', 'google.protobuf.Timestamp', { description: 'evaluation time' });
  return environment;
}

export type ConditionResult = { ok: true; program: CelProgram } | { ok: false; error: string };

export function compileCondition(expression: string): ConditionResult {
  let program: ReturnType<Environment['parse']>;
  try {
    program = celEnvironment().parse(expression);
  } catch (error) {
    return { ok: false, error: firstLine(error) };
  }
  const checked = program.check();
  if (!checked.valid) return { ok: false, error: firstLine(checked.error) };
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { ok: false, error: `the condition has type ${checked.type}; it must be bool` };
  }
  return { ok: true, program: (context) => program(context as unknown as Record<string, unknown>) };
}

export type RunResult = { ok: true; value: boolean } | { ok: false; reason: string };

export function runCondition(program: CelProgram, context: CelContext): RunResult {
  try {
    const value = program(context);
    if (typeof value !== 'boolean') return { ok: false, reason: `condition returned ${typeof value}, not bool` };
    return { ok: true, value };
  } catch (error) {
    return { ok: false, reason: firstLine(error) };
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
