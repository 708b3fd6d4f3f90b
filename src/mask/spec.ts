/**
 * The `mask` obligation: what policy tells the response masker to hide. Shared contract between
 * `src/policy` (which produces it, accumulated from every matching rule) and `src/mask` (which
 * applies it to a streamed JSON body).
 */

/** Value detectors the masker knows (a registry in src/mask; policy validates names against this). */
export const DETECTOR_NAMES = [
  'jwt',
  'azure_storage_key',
  'sas_token',
  'connection_string',
  'pem_private_key',
  'github_token',
  'slack_token',
  'aws_access_key_id',
  'payment_card',
] as const;

export type DetectorName = (typeof DETECTOR_NAMES)[number];

export type MaskStyle = 'redact' | 'last4' | 'hmac';

export interface MaskSpec {
  /** JSONPath subset: `$.keys[*].value`, `$.properties.*.value`, `$..connectionString`, `$['a.b']`. */
  paths: readonly string[];
  /** Member-name patterns, case-insensitive, any depth; `*` is a wildcard (`*ConnectionString`). */
  keys: readonly string[];
  /** Value detectors applied to every string value. */
  detectors: readonly DetectorName[];
  /** How a masked value is replaced: `"***"` (redact), keep the last 4 chars, or a keyed hash. */
  style: MaskStyle;
}

export const EMPTY_MASK: MaskSpec = { paths: [], keys: [], detectors: [], style: 'redact' };

export const isEmptyMask = (spec: MaskSpec) =>
  spec.paths.length === 0 && spec.keys.length === 0 && spec.detectors.length === 0;

/** When obligations disagree, the strongest style wins: redact > hmac > last4. */
export const STYLE_STRENGTH: Readonly<Record<MaskStyle, number>> = { last4: 1, hmac: 2, redact: 3 };

/** The union of mask obligations (every path, key and detector; the strongest style). */
export function mergeMasks(specs: readonly MaskSpec[]): MaskSpec {
  const nonEmpty = specs.filter((spec) => !isEmptyMask(spec));
  if (nonEmpty.length === 0) return EMPTY_MASK;
  if (nonEmpty.length === 1) return nonEmpty[0] as MaskSpec;
  let style: MaskStyle = 'last4';
  for (const spec of nonEmpty) if (STYLE_STRENGTH[spec.style] > STYLE_STRENGTH[style]) style = spec.style;
  return {
    paths: [...new Set(nonEmpty.flatMap((spec) => spec.paths))],
    keys: [...new Set(nonEmpty.flatMap((spec) => spec.keys))],
    detectors: [...new Set(nonEmpty.flatMap((spec) => spec.detectors))],
    style,
  };
}
