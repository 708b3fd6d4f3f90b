// A local webhook receiver for tests: records every POST (path, headers, body) in memory and
// returns them from `GET /_received?path=/hook`. `POST /_fail?match=TEXT&count=N` makes the next N
// deliveries whose body contains TEXT answer 500 (to exercise retries). Loopback only.
import { createServer } from 'node:http';

export async function startWebhookReceiver(options = {}) {
  const received = [];
  const failing = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.method === 'GET' && url.pathname === '/_received') {
      const path = url.searchParams.get('path');
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(received.filter((r) => !path || r.path === path)));
    }
    if (req.method === 'POST' && url.pathname === '/_fail') {
      failing.set(url.searchParams.get('match') ?? '', Number(url.searchParams.get('count') ?? '1'));
      return res.writeHead(204).end();
    }
    for (const [match, count] of failing) {
      if (count > 0 && body.includes(match)) {
        failing.set(match, count - 1);
        return res.writeHead(500).end();
      }
    }
    received.push({ path: url.pathname, headers: req.headers, body, at: Date.now() });
    res.writeHead(200).end('ok');
  });
  await new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  if (options.unref) server.unref();
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
