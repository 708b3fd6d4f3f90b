/**
 * The match index: (connection, method, index key) → the rules that can possibly match, in source
 * order, so evaluation cost depends on the rules relevant to a request, not on the bundle size.
 *
 * Contract: `candidates` returns a superset of the rules that match (the evaluator still checks every
 * condition) and never misses one. Keys a rule does not constrain are wildcards. Lists are built
 * lazily and memoised per (connection, method, key, operation key); a request key no rule names
 * is looked up as the wildcard, so the memo is bounded by connections × methods × keys named in the
 * policy, whatever requests arrive.
 */
import type { CompiledRule } from './compile.ts';
import { METHODS } from './schema.ts';

export interface RuleIndex {
  /**
   * `key` is the request's bucket (ARM provider, Kubernetes resource, first path segment);
   * `operationKey` the finer ARM operation bucket ('' when there is none). A rule is a candidate
   * when it names neither, or names one of the two.
   */
  candidates(connection: string, method: string, key: string, operationKey?: string): readonly CompiledRule[];
  /** Distinct index keys named by rules (for reporting). */
  readonly keys: ReadonlySet<string>;
}

const KNOWN_METHODS: ReadonlySet<string> = new Set(METHODS);

export function buildIndex(rules: readonly CompiledRule[]): RuleIndex {
  const keys = new Set<string>();
  const connectionsNamed = new Set<string>();
  for (const rule of rules) {
    for (const key of rule.indexKeys ?? []) keys.add(key);
    for (const name of rule.connections ?? []) connectionsNamed.add(name);
  }
  const memo = new Map<string, readonly CompiledRule[]>();
  return {
    keys,
    candidates(connection, method, key, operationKey = '') {
      const c = connectionsNamed.has(connection) ? connection : '\u0000';
      const m = KNOWN_METHODS.has(method) ? method : '\u0000';
      const k = keys.has(key) ? key : '\u0000';
      const o = operationKey && keys.has(operationKey) ? operationKey : '\u0000';
      const memoKey = `${c}\u0001${m}\u0001${k}\u0001${o}`;
      let list = memo.get(memoKey);
      if (!list) {
        list = rules.filter(
          (rule) =>
            (!rule.connections || rule.connections.has(c)) &&
            (!rule.methods || rule.methods.has(m)) &&
            (!rule.indexKeys || rule.indexKeys.has(k) || rule.indexKeys.has(o)),
        );
        memo.set(memoKey, list);
      }
      return list;
    },
  };
}
