/**
 * Gateway refusals on a Kubernetes connection, in the shape Kubernetes clients understand: a
 * `v1 Status` object (kubectl prints its `message` as "Error from server (Forbidden): …"), instead
 * of RFC 9457 problem+json, which kubectl would show as "unknown".
 *
 * Contract: same status code, same headers (incl. `WWW-Authenticate` and the request id); the
 * message is the problem's public detail, the stable Edgeward code is kept in `details.causes`.
 */
import type { EdgewardError } from '../errors.ts';

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  413: 'RequestEntityTooLarge',
  500: 'InternalError',
  502: 'ServiceUnavailable',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function kubernetesStatusResponse(problem: Response, error: EdgewardError): Response {
  const headers = new Headers(problem.headers);
  headers.set('content-type', 'application/json');
  const message = `${error.title}: ${error.publicDetail ?? error.title} (${error.code})`;
  const body = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: error.status >= 200 && error.status < 300 ? 'Success' : 'Failure',
    message,
    reason: REASONS[error.status] ?? 'Unknown',
    details: { causes: [{ reason: error.code, message: error.publicDetail ?? error.title }] },
    code: error.status,
  };
  return new Response(JSON.stringify(body), { status: problem.status, headers });
}
