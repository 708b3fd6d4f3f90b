/**
 * Route: `/{connection}/{upstream path}` → a configured connection and one normalised path.
 *
 * Contract: the upstream origin comes only from configuration, never from the request (no SSRF).
 * The path that policy, audit and the upstream see is the same string. Paths whose meaning could
 * differ between the gateway and the upstream (encoded slashes or backslashes, double encoding,
 * dot segments that survived URL parsing) are refused rather than guessed at.
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
  const slash = url.pathname.indexOf('/', 1);
  const name = decodeURIComponentSafe(slash === -1 ? url.pathname.slice(1) : url.pathname.slice(1, slash));
  const connection = name === undefined ? undefined : connections.get(name);
  if (!connection) return { ok: false, reason: 'no_connection' };
  const path = slash === -1 ? '/' : url.pathname.slice(slash);
  if (AMBIGUOUS.test(path) || /(^|\/)\.\.?(\/|$)/.test(path) || path.includes('//')) {
    return { ok: false, reason: 'ambiguous_path', connectionName: connection.name };
  }
  const upstreamBase = (upstreamOverrides.get(connection.name) ?? connection.upstream).replace(/\/+$/, '');
  return { ok: true, route: { connection, upstreamBase, path, search: url.search } };
}

function decodeURIComponentSafe(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
