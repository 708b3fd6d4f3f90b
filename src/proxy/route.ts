/**
 * Route: `/{connection}/{upstream path}` → a configured connection and one normalised path; or,
 * for a connection that lists `hosts`, a request to that exact host name → the connection with the
 * whole path (no prefix).
 *
 * Contract: the upstream origin comes only from configuration, never from the request (no SSRF).
 * The path that policy, audit and the upstream see is the same string. Paths whose meaning could
 * differ between the gateway and the upstream (encoded slashes or backslashes, double encoding,
 * dot segments that survived URL parsing) are refused rather than guessed at; percent-encoded
 * unreserved characters are decoded first, so every stage sees one spelling of each name.
 */
import type { ConnectionSource } from '../policy/schema.ts';

export interface Route {
  connection: ConnectionSource;
  /** Upstream base URL after per-environment overrides, without trailing slash. */
  upstreamBase: string;
  /** Path below the connection prefix, starting with `/`, still percent-encoded. */
  path: string;
  /** Raw query string including `?`, or ''. */
  search: string;
  /** What the gateway's own URL for this connection adds to its origin: `/{name}`, or '' for a host route. */
  prefix: string;
}

export type RouteResult =
  | { ok: true; route: Route }
  | { ok: false; reason: 'no_connection' | 'ambiguous_path'; connectionName?: string };

const AMBIGUOUS = /%2f|%5c|%25|%00|\\/i;

export function routeRequest(
  url: URL,
  connections: ReadonlyMap<string, ConnectionSource>,
  upstreamOverrides: ReadonlyMap<string, string>,
): RouteResult {
  const host = url.host.toLowerCase();
  let connection: ConnectionSource | undefined;
  let path: string;
  let prefix = '';
  for (const candidate of connections.values()) {
    if (candidate.hosts?.includes(host)) connection = candidate;
  }
  if (connection) {
    path = url.pathname;
  } else {
    const slash = url.pathname.indexOf('/', 1);
    const name = decodeURIComponentSafe(slash === -1 ? url.pathname.slice(1) : url.pathname.slice(1, slash));
    connection = name === undefined ? undefined : connections.get(name);
    if (!connection) return { ok: false, reason: 'no_connection' };
    path = slash === -1 ? '/' : url.pathname.slice(slash);
    prefix = `/${connection.name}`;
  }
  // One spelling of the path for policy, audit and upstream: percent-encoded unreserved characters
  // (`%65xec`, `%2E%2E`) are decoded (RFC 3986 §6.2.2.2) — the upstream decodes them anyway — so a
  // rule naming `exec` or `secrets` cannot be stepped around; the checks below run on the result.
  const normalised = normaliseUpstreamPath(path);
  if (normalised === undefined) return { ok: false, reason: 'ambiguous_path', connectionName: connection.name };
  path = normalised;
  const upstreamBase = (upstreamOverrides.get(connection.name) ?? connection.upstream).replace(/\/+$/, '');
  return { ok: true, route: { connection, upstreamBase, path, search: url.search, prefix } };
}

/**
 * One spelling of an upstream path (percent-encoded unreserved characters decoded), or undefined
 * when its meaning could differ between the gateway and the upstream (encoded slashes or
 * backslashes, double encoding, NUL, dot segments, empty segments). Used for direct requests and
 * for every request embedded in a batch.
 */
export function normaliseUpstreamPath(path: string): string | undefined {
  const normalised = normalizePercentEncoding(path);
  if (AMBIGUOUS.test(normalised) || /(^|\/)\.\.?(\/|$)/.test(normalised) || normalised.includes('//')) return undefined;
  return normalised;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

function normalizePercentEncoding(path: string): string {
  return path.replace(/%([0-9a-f]{2})/gi, (encoded, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : encoded.toUpperCase();
  });
}

function decodeURIComponentSafe(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
