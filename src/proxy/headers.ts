/**
 * Header hygiene between client, gateway and upstream.
 *
 * Contract: hop-by-hop headers (RFC 9110 §7.6.1, plus any named in `Connection`) never cross the
 * gateway; internal `x-edgeward-*` headers and the caller's credentials are never sent upstream
 * unless the connection's credential mode says so.
 */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

function stripHopByHop(headers: Headers): void {
  const listed = (headers.get('connection') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...listed]) headers.delete(name);
}

export interface UpstreamHeaderOptions {
  requestId: string;
  clientIp?: string;
  forwardAuthorization: boolean;
  /** Ask the upstream for an identity body so the masker can read it. */
  identityEncoding: boolean;
}

export function upstreamRequestHeaders(incoming: Headers, options: UpstreamHeaderOptions): Headers {
  const headers = new Headers(incoming);
  stripHopByHop(headers);
  for (const name of [...headers.keys()]) {
    if (name.startsWith('x-edgeward-') || name.startsWith('cf-')) headers.delete(name);
  }
  headers.delete('host');
  headers.delete('cookie');
  headers.delete('x-edgeward-subject-token'); // a human's token (src/auth): never upstream, whatever the prefix rule
  if (!options.forwardAuthorization) headers.delete('authorization');
  if (options.identityEncoding) headers.set('accept-encoding', 'identity');
  headers.set('x-ms-client-request-id', options.requestId);
  if (options.clientIp) headers.set('x-forwarded-for', options.clientIp);
  headers.set('x-forwarded-proto', 'https');
  return headers;
}

export function clientResponseHeaders(upstream: Headers, requestId: string): Headers {
  const headers = new Headers(upstream);
  stripHopByHop(headers);
  headers.delete('set-cookie');
  headers.set('x-edgeward-request-id', requestId);
  return headers;
}
