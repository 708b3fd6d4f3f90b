/**
 * WebSocket passthrough (kubectl exec/attach/port-forward on recent Kubernetes, or any upstream
 * that speaks WebSocket): the gateway opens its own WebSocket to the upstream — with the same
 * upstream headers, credential and `Sec-WebSocket-Protocol` as any proxied request — and relays
 * messages both ways, counting them, until either side closes.
 *
 * Contract: only after authentication, policy, approval and write-ahead (the pipeline calls this
 * in place of the plain upstream fetch); the client's `Sec-WebSocket-Key`/`-Version`/`-Extensions`
 * are not forwarded (the runtime makes its own handshake); `onEnd` is called exactly once with
 * the session's byte and message counts and close code. An upstream that does not switch
 * protocols gets its answer relayed as an ordinary response.
 */

export interface WebSocketSessionEnd {
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  closeCode: number;
  closedBy: 'client' | 'upstream' | 'error';
}

export const isWebSocketUpgrade = (headers: Headers) => (headers.get('upgrade') ?? '').toLowerCase() === 'websocket';

const sizeOf = (data: string | ArrayBuffer) =>
  typeof data === 'string' ? new TextEncoder().encode(data).byteLength : data.byteLength;

/** Close codes an endpoint may send (RFC 6455 §7.4): 1005/1006/1015 are never sent on the wire. */
const sendable = (code: number) =>
  code === 1000 ||
  (code >= 1001 && code <= 1014 && ![1004, 1005, 1006].includes(code)) ||
  (code >= 3000 && code <= 4999);

export function webSocketUpstreamHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']) out.delete(name);
  out.set('upgrade', 'websocket');
  return out;
}

/**
 * Relay between the client and an upstream response that switched protocols. Returns the 101
 * response for the client, or undefined when the upstream did not accept the WebSocket.
 */
export function relayWebSocket(
  upstream: Response,
  onEnd: (end: WebSocketSessionEnd) => void,
): { response: Response; closed: Promise<void> } | undefined {
  const upstreamSocket = upstream.webSocket;
  if (upstream.status !== 101 || !upstreamSocket) return undefined;
  const pair = new WebSocketPair();
  const client = pair[0];
  const server = pair[1];
  // Binary frames (every Kubernetes channel frame) must be relayed as bytes: with the standard
  // default (`blob`) they would arrive as Blobs, which `send` would turn into the text "[object Blob]".
  upstreamSocket.binaryType = 'arraybuffer';
  server.binaryType = 'arraybuffer';
  upstreamSocket.accept();
  server.accept();
  const counts = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };
  let ended = false;
  let settle: () => void = () => {};
  // Resolves after onEnd: the caller hands it to waitUntil so the request lives as long as the session.
  const closed = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const end = (closedBy: WebSocketSessionEnd['closedBy'], code: number, reason: string) => {
    if (ended) return;
    ended = true;
    const safe = sendable(code) ? code : 1000;
    for (const socket of [server, upstreamSocket]) {
      try {
        socket.close(safe, reason.slice(0, 120));
      } catch {
        // already closed
      }
    }
    try {
      onEnd({ ...counts, closeCode: code, closedBy });
    } finally {
      settle();
    }
  };
  server.addEventListener('message', (event) => {
    counts.messagesIn++;
    counts.bytesIn += sizeOf(event.data);
    upstreamSocket.send(event.data);
  });
  upstreamSocket.addEventListener('message', (event) => {
    counts.messagesOut++;
    counts.bytesOut += sizeOf(event.data);
    server.send(event.data);
  });
  server.addEventListener('close', (event) => end('client', event.code, event.reason));
  upstreamSocket.addEventListener('close', (event) => end('upstream', event.code, event.reason));
  server.addEventListener('error', () => end('error', 1011, 'client error'));
  upstreamSocket.addEventListener('error', () => end('error', 1011, 'upstream error'));
  const headers = new Headers();
  const protocol = upstream.headers.get('sec-websocket-protocol');
  if (protocol) headers.set('sec-websocket-protocol', protocol);
  return { response: new Response(null, { status: 101, webSocket: client, headers }), closed };
}
