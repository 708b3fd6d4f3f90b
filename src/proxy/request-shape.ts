/**
 * What the upstream will execute is what policy judges: refusals of request shapes whose meaning
 * to the upstream differs from what the gateway sees, decided before authentication and policy.
 *
 * Contract: pure. A method the connection's API does not define is refused (405 with `Allow`):
 * Resource Manager, Graph and Kubernetes define GET, HEAD, PUT, PATCH, DELETE and POST; a generic
 * `http` connection also OPTIONS. A method override in any spelling the common frameworks honour
 * (`X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override` headers; `_method`,
 * `x-http-method`, `x-http-method-override`, `x-method-override` query parameters, names compared
 * case-insensitively) is refused (400), whatever its value: policy judges the transport method,
 * and we cannot know which override a given upstream honours, so judging "the overridden method"
 * would be a guess — refusing costs no real client anything (az, kubectl, the SDKs never send one).
 * A Resource Manager path whose keyword positions hold non-ASCII letters is refused (400,
 * `armPathProblem`). On a Kubernetes connection, `Impersonate-*` headers are refused (400): they
 * change *who* the API server executes the request as, which policy does not judge. The same
 * checks apply to each request embedded in a batch.
 */
import { armPathProblem } from '../policy/arm-operation.ts';
import type { ConnectionSource } from '../policy/schema.ts';

export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;
const OVERRIDE_PARAMS = new Set(['_method', 'x-http-method', 'x-http-method-override', 'x-method-override']);

const API_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'POST'] as const;
const HTTP_METHODS = [...API_METHODS, 'OPTIONS'] as const;

export type ShapeProblem =
  | { kind: 'method'; method: string; allowed: readonly string[] }
  | { kind: 'override'; where: 'header' | 'query'; name: string }
  | { kind: 'path'; detail: string }
  | { kind: 'impersonation'; name: string };

/** Methods a connection kind defines (upper case). */
export function allowedMethods(kind: ConnectionSource['kind']): readonly string[] {
  return kind === 'http' ? HTTP_METHODS : API_METHODS;
}

/** The first method override in these headers or this query string, or undefined. */
export function methodOverride(
  headers: { get(name: string): string | null },
  search: string,
): { where: 'header' | 'query'; name: string } | undefined {
  for (const name of METHOD_OVERRIDE_HEADERS) if (headers.get(name) !== null) return { where: 'header', name };
  if (search.length > 1) {
    for (const name of new URLSearchParams(search).keys()) {
      if (OVERRIDE_PARAMS.has(name.trim().toLowerCase())) return { where: 'query', name };
    }
  }
  return undefined;
}

export function requestShapeProblem(
  kind: ConnectionSource['kind'],
  method: string,
  headers: { get(name: string): string | null; keys?(): Iterable<string> },
  search: string,
  path: string,
): ShapeProblem | undefined {
  const allowed = allowedMethods(kind);
  if (!allowed.includes(method)) return { kind: 'method', method, allowed };
  const override = methodOverride(headers, search);
  if (override) return { kind: 'override', ...override };
  if (kind === 'kubernetes' && headers.keys) {
    for (const name of headers.keys())
      if (name.toLowerCase().startsWith('impersonate-')) return { kind: 'impersonation', name };
  }
  if (kind === 'azure_resource_manager') {
    const detail = armPathProblem(path);
    if (detail) return { kind: 'path', detail };
  }
  return undefined;
}

/** Headers given as a plain object (embedded batch requests), looked up case-insensitively. */
export function headerLookup(record: Readonly<Record<string, unknown>> | undefined): {
  get(name: string): string | null;
} {
  const lowered = new Map<string, string>();
  for (const [name, value] of Object.entries(record ?? {})) lowered.set(name.toLowerCase(), String(value));
  return { get: (name) => lowered.get(name) ?? null };
}
