// A loopback HTTP CONNECT proxy with an allowlist, for pointing a real client's well-known host
// (e.g. login.microsoftonline.com) at a local mock without touching DNS or /etc/hosts.
//
// Contract: `startConnectTunnel({ routes })` listens on 127.0.0.1. A `CONNECT host:port` whose
// `host:port` is a key of `routes` is answered 200 and piped, byte for byte, to the route's
// loopback target `{ host, port }` (TLS stays end to end between the client and the target, so
// the client still verifies the target's certificate). Every other CONNECT, and every plain
// proxied request, is refused (403) and recorded: nothing is ever forwarded off the machine.
// Returns { url, tunnels: ['host:port', …], refused: ['host:port' or 'METHOD url', …], close() }.
import { createServer } from 'node:http';
import { connect } from 'node:net';

export async function startConnectTunnel({ routes }) {
  const tunnels = [];
  const refused = [];
  const open = new Set();
  const server = createServer((req, res) => {
    refused.push(`${req.method} ${req.url}`);
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('only CONNECT to an allowed host is served here\n');
  });
  server.on('connect', (req, clientSocket, head) => {
    const target = routes[req.url];
    if (!target) {
      refused.push(req.url);
      clientSocket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    tunnels.push(req.url);
    const upstream = connect(target.port, target.host, () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    open.add(upstream).add(clientSocket);
    const closeBoth = () => {
      upstream.destroy();
      clientSocket.destroy();
      open.delete(upstream);
      open.delete(clientSocket);
    };
    for (const socket of [upstream, clientSocket]) socket.on('error', closeBoth).on('close', closeBoth);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    refused,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
