/**
 * The two pattern languages of the policy source: path templates and RBAC-style wildcards.
 *
 * Contract: both compile once to a RegExp; nothing is interpreted per request. Path templates:
 * `{name}` and `*` match one segment (a `{name}` is captured into `request.params`), `**` matches
 * zero or more segments; matching is case-insensitive because Resource Manager paths are. RBAC
 * wildcards: `*` matches any run of characters including `/` (as in Azure role definitions), and
 * the comparison is case-insensitive (operation names are).
 */

export interface PathTemplate {
  source: string;
  regex: RegExp;
  captures: readonly string[];
  /** First literal segment, lowercased, or undefined when the template starts with a wildcard. */
  firstSegment: string | undefined;
}

const CAPTURE = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export type PatternResult<T> = { ok: true; value: T } | { ok: false; error: string };

export function compilePathTemplate(pattern: string): PatternResult<PathTemplate> {
  const segments = pattern.split('/').slice(1);
  const captures: string[] = [];
  let source = '^';
  for (const segment of segments) {
    const capture = CAPTURE.exec(segment);
    if (segment === '**') source += '(?:/[^/]+)*';
    else if (segment === '*') source += '/[^/]+';
    else if (capture) {
      const name = capture[1] as string;
      if (captures.includes(name)) return { ok: false, error: `capture {${name}} appears twice` };
      captures.push(name);
      source += `/(?<${name}>[^/]+)`;
    } else if (/[{}*]/.test(segment)) {
      return { ok: false, error: `segment "${segment}" mixes literal text with a wildcard or capture` };
    } else source += `/${escapeRegExp(segment)}`;
  }
  const first = segments[0];
  const firstSegment =
    first && first !== '**' && first !== '*' && !CAPTURE.test(first) ? first.toLowerCase() : undefined;
  return { ok: true, value: { source: pattern, regex: new RegExp(`${source}/?$`, 'i'), captures, firstSegment } };
}

/** Kept for callers of the skeleton API: a path template as a bare RegExp. */
export function compilePathPattern(pattern: string): RegExp {
  const result = compilePathTemplate(pattern);
  if (!result.ok) throw new Error(result.error);
  return result.value.regex;
}

/** A list of RBAC-style wildcard patterns → one case-insensitive RegExp matching any of them. */
export function compileWildcards(patterns: readonly string[]): RegExp {
  const alternatives = patterns.map((p) => p.split('*').map(escapeRegExp).join('.*'));
  return new RegExp(`^(?:${alternatives.join('|')})$`, 'i');
}

/** The literal provider namespace an operation pattern is confined to, or undefined (`*`, `Microsoft.*`). */
export function literalProvider(operationPattern: string): string | undefined {
  const namespace = operationPattern.split('/')[0] ?? '';
  return namespace === '' || namespace.includes('*') ? undefined : namespace.toLowerCase();
}
