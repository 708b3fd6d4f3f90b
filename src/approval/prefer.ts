/**
 * RFC 7240 `Prefer` parsing for the approval gate: `wait=N` (§4.3, seconds) and `respond-async`
 * (§4.1). Preferences are comma-separated, names case-insensitive, values optionally quoted;
 * the first occurrence of a preference wins (§2). Anything unparseable is ignored, never an error.
 */
export interface Preferences {
  wait?: number;
  respondAsync: boolean;
}

export function parsePrefer(header: string | null): Preferences {
  const result: Preferences = { respondAsync: false };
  if (!header) return result;
  const seen = new Set<string>();
  for (const item of header.split(',')) {
    const [token = ''] = item.split(';');
    const eq = token.indexOf('=');
    const name = (eq < 0 ? token : token.slice(0, eq)).trim().toLowerCase();
    const value =
      eq < 0
        ? ''
        : token
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    if (!name || seen.has(name)) continue;
    seen.add(name);
    if (name === 'respond-async') result.respondAsync = true;
    if (name === 'wait' && /^\d{1,6}$/.test(value)) result.wait = Number(value);
  }
  return result;
}
