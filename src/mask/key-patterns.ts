/**
 * Member-name patterns of a mask obligation: case-insensitive, `*` matches any run of characters
 * (`password`, `*ConnectionString`, `shared*key`). Applied to the decoded member name at any depth.
 *
 * Contract: `compileKeyPatterns` returns a predicate; exact names go to a Set (one lookup), only
 * wildcard patterns pay for a regular expression. Comparison uses `toLowerCase()` on both sides.
 */
export type KeyMatcher = (name: string) => boolean;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function compileKeyPatterns(patterns: readonly string[]): KeyMatcher | undefined {
  if (patterns.length === 0) return undefined;
  const exact = new Set<string>();
  const wild: string[] = [];
  for (const pattern of patterns) {
    const lower = pattern.toLowerCase();
    if (lower.includes('*')) wild.push(lower.split('*').map(escapeRegExp).join('.*'));
    else exact.add(lower);
  }
  const regex = wild.length > 0 ? new RegExp(`^(?:${wild.join('|')})$`, 's') : undefined;
  return (name) => {
    const lower = name.toLowerCase();
    return exact.has(lower) || regex?.test(lower) === true;
  };
}
