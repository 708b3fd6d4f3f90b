/**
 * The one mapping from errors to the wire: RFC 9457 `application/problem+json` with a stable
 * `code` member; 401s carry an RFC 6750 §3 `WWW-Authenticate` challenge. Unknown errors become an
 * opaque 500 so no internal message (which might quote input) reaches a caller.
 */
import { EdgewardError } from './errors.ts';

export function toEdgewardError(error: unknown): EdgewardError {
  if (error instanceof EdgewardError) return error;
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'non-error thrown';
  return new EdgewardError('EDGEWARD_INTERNAL', 500, 'Internal error', {
    publicDetail: 'The gateway failed to handle this request.',
    auditDetail: reason.slice(0, 500),
  });
}

export function problemResponse(error: EdgewardError, requestId: string): Response {
  const body: Record<string, unknown> = {
    type: `https://edgeward.dev/problems/${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.publicDetail ? { detail: error.publicDetail } : {}),
    instance: `urn:edgeward:request:${requestId}`,
    ...error.extensions,
  };
  const headers = new Headers(error.headers);
  headers.set('content-type', 'application/problem+json');
  headers.set('x-edgeward-request-id', requestId);
  if (error.status === 401 && !headers.has('www-authenticate')) {
    // The error's own challenge (e.g. an Entra claims challenge) wins; otherwise the generic one.
    // RFC 6750 §3.1: no error attribute when the request carried no credentials at all.
    headers.set(
      'www-authenticate',
      error.code === 'EDGEWARD_TOKEN_MISSING'
        ? 'Bearer realm="edgeward"'
        : 'Bearer realm="edgeward", error="invalid_token", error_description="The access token could not be verified"',
    );
  }
  if (error.code === 'EDGEWARD_INSUFFICIENT_SCOPE') {
    headers.set('www-authenticate', 'Bearer realm="edgeward", error="insufficient_scope"');
  }
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
