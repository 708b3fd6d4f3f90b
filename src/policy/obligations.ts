/**
 * Obligations: what every matching rule adds to a decision, whatever its effect.
 *
 * Contract: `mask` accumulates into one `MaskSpec` (the shared contract with src/mask): paths, keys
 * and detectors are unions in rule order without duplicates; the style is the strongest any matching
 * rule names — `redact` (reveals nothing) > `hmac` (reveals equality) > `last4` (reveals 4 chars) —
 * and `redact` when no rule names one. A connection's default mask (`base`) joins the union after
 * the rules' entries but names no style: the rules decide it. `rewrite` accumulates in rule order:
 * header and query settings from later rules override earlier ones for the same name, removals are
 * unions, JSON Patch operations are concatenated (RFC 6902 applies them in order).
 */
import { EMPTY_MASK, type MaskSpec, type MaskStyle, STYLE_STRENGTH } from '../mask/spec.ts';
import type { JsonPatchOp, RewriteSource } from './schema.ts';

export interface RewriteSpec {
  /** Lowercased header name → value. */
  setHeaders: Readonly<Record<string, string>>;
  removeHeaders: readonly string[];
  setQuery: Readonly<Record<string, string>>;
  removeQuery: readonly string[];
  jsonPatch: readonly JsonPatchOp[];
}

export const EMPTY_REWRITE: RewriteSpec = Object.freeze({
  setHeaders: {},
  removeHeaders: [],
  setQuery: {},
  removeQuery: [],
  jsonPatch: [],
});

/** Headers a policy may never set or remove: identity, framing and the gateway's own. */
export const PROTECTED_HEADERS = /^(authorization|host|content-length|transfer-encoding|connection|x-edgeward-.*)$/i;

export interface RuleObligations {
  mask?: Partial<MaskSpec> & { style?: MaskStyle };
  rewrite?: RewriteSpec;
}

export function normaliseRewrite(source: RewriteSource): RewriteSpec {
  return {
    setHeaders: Object.fromEntries(Object.entries(source.set_headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    removeHeaders: (source.remove_headers ?? []).map((h) => h.toLowerCase()),
    setQuery: { ...(source.set_query ?? {}) },
    removeQuery: [...(source.remove_query ?? [])],
    jsonPatch: source.json_patch ?? [],
  };
}

export function accumulateMask(rules: readonly RuleObligations[], base?: MaskSpec): MaskSpec {
  let spec: { paths: Set<string>; keys: Set<string>; detectors: Set<string>; style?: MaskStyle } | undefined;
  for (const rule of rules) {
    const mask = rule.mask;
    if (!mask) continue;
    spec ??= { paths: new Set(), keys: new Set(), detectors: new Set() };
    for (const p of mask.paths ?? []) spec.paths.add(p);
    for (const k of mask.keys ?? []) spec.keys.add(k);
    for (const d of mask.detectors ?? []) spec.detectors.add(d);
    if (mask.style && (!spec.style || STYLE_STRENGTH[mask.style] > STYLE_STRENGTH[spec.style])) spec.style = mask.style;
  }
  // No rule masks: the default mask as compiled (one shared object; its style is `redact`).
  if (!spec) return base ?? EMPTY_MASK;
  if (base) {
    for (const p of base.paths) spec.paths.add(p);
    for (const k of base.keys) spec.keys.add(k);
    for (const d of base.detectors) spec.detectors.add(d);
  }
  return {
    paths: [...spec.paths],
    keys: [...spec.keys],
    detectors: [...spec.detectors] as MaskSpec['detectors'],
    style: spec.style ?? 'redact',
  };
}

export function accumulateRewrite(rules: readonly RuleObligations[]): RewriteSpec {
  let out:
    | {
        setHeaders: Record<string, string>;
        removeHeaders: Set<string>;
        setQuery: Record<string, string>;
        removeQuery: Set<string>;
        jsonPatch: JsonPatchOp[];
      }
    | undefined;
  for (const rule of rules) {
    const rewrite = rule.rewrite;
    if (!rewrite) continue;
    out ??= { setHeaders: {}, removeHeaders: new Set(), setQuery: {}, removeQuery: new Set(), jsonPatch: [] };
    Object.assign(out.setHeaders, rewrite.setHeaders);
    for (const h of rewrite.removeHeaders) out.removeHeaders.add(h);
    Object.assign(out.setQuery, rewrite.setQuery);
    for (const q of rewrite.removeQuery) out.removeQuery.add(q);
    out.jsonPatch.push(...rewrite.jsonPatch);
  }
  if (!out) return EMPTY_REWRITE;
  return {
    setHeaders: out.setHeaders,
    removeHeaders: [...out.removeHeaders],
    setQuery: out.setQuery,
    removeQuery: [...out.removeQuery],
    jsonPatch: out.jsonPatch,
  };
}
