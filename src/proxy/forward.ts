/**
 * The upstream leg of the pipeline, in two calls: `sendUpstream` (credential + headers + body
 * limit + deadline/retry) and `decorateClientResponse` (response headers + LRO/paging link rewriting).
 *
 * Contract: the upstream URL is `route.upstreamBase + route.path + route.search` — configuration
 * plus the one normalised path; the caller's `Authorization` is replaced (or dropped) unless the
 * connection is passthrough; internal headers (`x-edgeward-*`, incl. the subject token) never
 * leave; failures are typed errors: 413 body over limit, 504 timeout, 502 unreachable.
 */
import { upstreamUnreachable } from '../errors.ts';
import type { RewriteSpec } from '../policy/index.ts';
import type { ConnectionSource } from '../policy/schema.ts';
import { type ChunkTransform, type LinkRewrite, linkRewriteTransform, rewriteLinkHeaders } from './azure-links.ts';
import type { UpstreamAuth } from './credentials/index.ts';
import { requestTooLarge, upgradeUnsupported, upstreamTimeout } from './errors.ts';
import { upstreamRequestHeaders } from './headers.ts';
import type { ProxyRuntime } from './proxy-runtime.ts';
import { applyHeaderRewrite, applyQueryRewrite } from './rewrite.ts';
import type { Route } from './route.ts';
import { fetchUpstream, limitBody, traceparent } from './upstream-fetch.ts';
import { relayWebSocket, type WebSocketSessionEnd, webSocketUpstreamHeaders } from './websocket.ts';

export interface SendOptions {
  request: Request;
  route: Route;
  /** The body to send: the request's stream, or bytes already read (approval). */
  body: ReadableStream<Uint8Array> | ArrayBuffer | null;
  requestId: string;
  clientIp?: string;
  auth: UpstreamAuth;
  /** The response will be rewritten or masked: ask for an identity encoding. */
  identityEncoding: boolean;
  /**
   * The response will be masked, and the masker decodes these codings itself: ask for them
   * (instead of identity) and read the body raw, as the upstream sent it.
   */
  maskableEncodings?: string;
  /** Policy rewrite obligations on headers and query (the body is patched before this). */
  rewrite?: RewriteSpec;
  runtime: ProxyRuntime;
}

export interface Sent {
  response: Response;
  attempts: number;
  upstreamRequestId?: string;
  upstreamCorrelationId?: string;
}

/**
 * Refuse early (before any upstream work) a declared length over the limit, and protocol upgrades,
 * which would otherwise reach the upstream as a plain request with the upgrade headers stripped.
 */
export function checkDeclaredLength(headers: Headers, limit: number): void {
  const declared = Number(headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > limit) throw requestTooLarge(limit);
  const upgrade = headers.get('upgrade');
  if (upgrade && upgrade.toLowerCase() !== 'websocket') throw upgradeUnsupported(upgrade.slice(0, 40));
}

export async function sendUpstream(options: SendOptions): Promise<Sent> {
  const { request, runtime } = options;
  const headers = upstreamHeaders(options, options.identityEncoding);
  if (options.maskableEncodings) {
    // A masked response must be whole: ask for the full representation (a 206 is refused anyway).
    headers.set('accept-encoding', options.maskableEncodings);
    headers.delete('range');
    headers.delete('if-range');
  }

  let body = options.body;
  let exceeded = () => false;
  // A body read whole (held for approval, or patched) obeys the same limit as a streamed one.
  if (body instanceof ArrayBuffer && body.byteLength > runtime.bodyLimit) throw requestTooLarge(runtime.bodyLimit);
  if (body instanceof ReadableStream && !request.headers.has('content-length')) {
    // Chunked upload: count as it streams (a declared length was checked up front and is enforced by the runtime).
    const limited = limitBody(body, runtime.bodyLimit);
    body = limited.body;
    exceeded = limited.exceeded;
  }
  const result = await fetchUpstream(
    upstreamUrl(options),
    {
      method: request.method,
      headers,
      body,
      redirect: 'manual',
      ...(options.maskableEncodings ? { encodeResponseBody: 'manual' as const } : {}),
    },
    { timeoutMs: runtime.timeoutMs, retries: runtime.retries, fetch: (input, init) => fetch(input, init) },
  );
  if (!result.ok) {
    if (exceeded()) throw requestTooLarge(runtime.bodyLimit);
    const detail = `${result.detail} (attempts: ${result.attempts})`;
    if (result.reason === 'timeout') throw upstreamTimeout(runtime.timeoutMs, detail);
    throw upstreamUnreachable(detail);
  }
  if (exceeded()) {
    // The upstream answered a truncated upload (it saw the stream end when the limit cut it).
    await result.response.body?.cancel().catch(() => undefined);
    throw requestTooLarge(runtime.bodyLimit);
  }
  const id = result.response.headers.get('x-ms-request-id');
  const correlation = result.response.headers.get('x-ms-correlation-request-id');
  return {
    response: result.response,
    attempts: result.attempts,
    ...(id ? { upstreamRequestId: id.slice(0, 128) } : {}),
    ...(correlation ? { upstreamCorrelationId: correlation.slice(0, 128) } : {}),
  };
}

/** Which links to rewrite for this connection, or undefined when it has no Azure-style links. */
export function linkRewriteFor(connection: ConnectionSource, route: Route, requestUrl: URL): LinkRewrite | undefined {
  if (connection.kind !== 'azure_resource_manager' && connection.kind !== 'microsoft_graph') return undefined;
  const from = [...new Set([route.upstreamBase, connection.upstream.replace(/\/+$/, '')])];
  return { from, to: `${requestUrl.origin}${route.prefix}` };
}

type UpstreamTarget = Pick<SendOptions, 'request' | 'route' | 'requestId' | 'clientIp' | 'auth' | 'rewrite'>;

/**
 * The headers every upstream call carries, HTTP or WebSocket alike: hygiene, correlation ids, the
 * policy's header rewrite, then the credential (after the rewrite, so policy can never replace
 * what the gateway sends) and the trace context.
 */
function upstreamHeaders(target: UpstreamTarget, identityEncoding: boolean): Headers {
  const headers = upstreamRequestHeaders(target.request.headers, {
    requestId: target.requestId,
    ...(target.clientIp ? { clientIp: target.clientIp } : {}),
    forwardAuthorization: target.auth.forwardCallerAuthorization,
    identityEncoding,
  });
  if (target.rewrite) applyHeaderRewrite(headers, target.rewrite);
  if (target.auth.header) headers.set(target.auth.header.name, target.auth.header.value);
  headers.set('traceparent', traceparent(target.request.headers.get('traceparent'), target.requestId));
  return headers;
}

/** The upstream URL: configured origin, the normalised path, the query after policy rewrites. */
function upstreamUrl({ route, rewrite }: UpstreamTarget): string {
  return `${route.upstreamBase}${route.path}${rewrite ? applyQueryRewrite(route.search, rewrite) : route.search}`;
}

/**
 * A WebSocket session in place of `sendUpstream`: same URL, headers and credential; the deadline
 * covers the handshake only; never retried. `onEnd` gets the session's counts once it closes. An
 * upstream that refuses to switch protocols is answered like any response (and `onEnd` is not called).
 */
export async function openWebSocket(
  options: Omit<SendOptions, 'body' | 'identityEncoding'>,
  onEnd: (end: WebSocketSessionEnd) => void,
): Promise<{ switched: true; response: Response; closed: Promise<void> } | { switched: false; sent: Sent }> {
  const { runtime } = options;
  const result = await fetchUpstream(
    upstreamUrl(options),
    { method: 'GET', headers: webSocketUpstreamHeaders(upstreamHeaders(options, false)) },
    { timeoutMs: runtime.timeoutMs, retries: 0, fetch: (input, init) => fetch(input, init) },
  );
  if (!result.ok) {
    if (result.reason === 'timeout') throw upstreamTimeout(runtime.timeoutMs, result.detail);
    throw upstreamUnreachable(result.detail);
  }
  const relayed = relayWebSocket(result.response, onEnd);
  if (relayed) {
    relayed.response.headers.set('x-edgeward-request-id', options.requestId);
    return { switched: true, ...relayed };
  }
  return { switched: false, sent: { response: result.response, attempts: 1 } };
}

/** Kubernetes watches and followed logs never end: each event must reach the client as it comes. */
export function isEndlessStream(connection: ConnectionSource, search: string): boolean {
  if (connection.kind !== 'kubernetes' || search === '') return false;
  const params = new URLSearchParams(search);
  return ['watch', 'follow'].some((name) => params.get(name) === 'true' || params.get(name) === '1');
}

/**
 * Response headers for the client, and the paging-link rewrite its body needs (when the
 * connection rewrites links and the body is identity-encoded JSON). The caller applies the
 * returned `transform` to the body (inline in `observeBody`); link rewriting runs on the identity
 * JSON the masker produced, after masking.
 */
export function decorateClientResponse(
  headers: Headers,
  hasBody: boolean,
  links: LinkRewrite | undefined,
  endless = false,
): { headers: Headers; transform?: ChunkTransform } {
  if (endless && !headers.has('content-encoding')) {
    // The edge (and wrangler dev, which emulates it) gzips JSON for clients that accept gzip, and a
    // compressor holds bytes back: a watch event would sit in its buffer. `no-transform` asks
    // Cloudflare not to compress; an explicit identity coding is what the local emulation honours.
    headers.set('cache-control', 'no-transform');
    headers.set('content-encoding', 'identity');
  }
  if (!links) return { headers };
  rewriteLinkHeaders(headers, links);
  const type = (headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const identity = (headers.get('content-encoding') ?? 'identity').toLowerCase() === 'identity';
  if (!hasBody || !identity || !(type === 'application/json' || type.endsWith('+json'))) return { headers };
  headers.delete('content-length');
  return { headers, transform: linkRewriteTransform(links) };
}
