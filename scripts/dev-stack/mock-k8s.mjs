// A small mock Kubernetes API server for development and tests (never a real cluster).
//
// Enough of the API for kubectl: discovery (/version, /api, /api/v1, /apis), pods and secrets in
// a namespace (list as a Table when kubectl asks for one, or as a plain List; get; delete), and
// `?watch=1` streams of pods (one JSON event per line, kept open until the client goes away).
// `…/pods/{name}/exec` accepts a WebSocket upgrade. Offered a Kubernetes channel protocol
// (`v5.channel.k8s.io` / `v4.channel.k8s.io`, as kubectl ≥ 1.30 does) it speaks it: without stdin
// it "runs" the command (only `echo` does anything: its arguments go to stdout), reports success
// on the error channel and closes; with `stdin=true` it echoes stdin to stdout (`echo:` + data)
// until the client closes stdin (v5) or the socket. Any other WebSocket gets every message echoed.
// Records the requests it received so tests can check what the gateway forwarded.
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

export async function startMockKubernetes(options = {}) {
  const received = [];
  const secretValue = Buffer.from('s3cr3t-db-password').toString('base64');
  const pods = new Map([
    ['web-0', { phase: 'Running' }],
    ['web-1', { phase: 'Running' }],
  ]);
  const secrets = new Map([
    ['db-credentials', { password: secretValue, username: Buffer.from('app').toString('base64') }],
  ]);
  const watchers = new Set();

  const meta = (name, namespace, kind) => ({
    name,
    namespace,
    uid: `uid-${kind}-${name}`,
    resourceVersion: '1',
    creationTimestamp: '2026-01-01T00:00:00Z',
  });
  const pod = (name, namespace) => ({
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: meta(name, namespace, 'pod'),
    spec: { containers: [{ name: 'app', image: 'nginx' }] },
    status: { phase: pods.get(name).phase },
  });
  const secret = (name, namespace) => ({
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: meta(name, namespace, 'secret'),
    type: 'Opaque',
    data: secrets.get(name),
  });
  const table = (kind, items) => ({
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: '1' },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 },
      { name: kind === 'Pod' ? 'Status' : 'Type', type: 'string', format: '', description: '', priority: 0 },
    ],
    rows: items.map((item) => ({
      cells: [item.metadata.name, kind === 'Pod' ? item.status.phase : item.type],
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: item.metadata },
    })),
  });

  const server = createServer(async (req, res) => {
    for await (const _chunk of req) {
      // drain the request body
    }
    const url = new URL(req.url, 'http://localhost');
    received.push({ method: req.method, path: url.pathname, search: url.search, headers: req.headers });
    if (received.length > 1000) received.shift();
    const send = (status, payload) => {
      res.writeHead(status, { 'content-type': 'application/json', 'audit-id': randomUUID() });
      res.end(JSON.stringify(payload));
    };
    const status = (code, reason, message) =>
      send(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
    const wantsTable = (req.headers.accept ?? '').includes('as=Table');
    const path = url.pathname;
    if (path === '/version') {
      return send(200, { major: '1', minor: '20', gitVersion: 'v1.20.0-edgeward-mock', platform: 'linux/amd64' });
    }
    if (path === '/api') {
      return send(200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: 'mock:443' }],
      });
    }
    if (path === '/apis') return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (path === '/api/v1') {
      const verbs = ['get', 'list', 'watch', 'delete'];
      return send(200, {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          { name: 'pods', singularName: '', namespaced: true, kind: 'Pod', verbs, shortNames: ['po'] },
          { name: 'secrets', singularName: '', namespaced: true, kind: 'Secret', verbs },
          { name: 'namespaces', singularName: '', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'] },
        ],
      });
    }
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets)(?:\/([^/]+))?$/.exec(path);
    if (!match) return status(404, 'NotFound', `the server could not find the requested resource (${path})`);
    const [, namespace, resource, name] = match;
    const store = resource === 'pods' ? pods : secrets;
    const render = resource === 'pods' ? pod : secret;
    const kind = resource === 'pods' ? 'Pod' : 'Secret';
    if (
      !name &&
      req.method === 'GET' &&
      (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true')
    ) {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      // kubectl get --watch asks for Table rows (Accept: …;as=Table): then each event object is a Table.
      const event = (type, object) => JSON.stringify({ type, object: wantsTable ? table(kind, [object]) : object });
      for (const key of store.keys()) res.write(`${event('ADDED', render(key, namespace))}\n`);
      const watcher = { res, resource, namespace, event };
      watchers.add(watcher);
      res.on('close', () => watchers.delete(watcher));
      return;
    }
    if (!name && req.method === 'GET') {
      const items = [...store.keys()].map((key) => render(key, namespace));
      if (wantsTable) return send(200, table(kind, items));
      return send(200, { kind: `${kind}List`, apiVersion: 'v1', metadata: { resourceVersion: '1' }, items });
    }
    if (name && !store.has(name)) return status(404, 'NotFound', `${resource} "${name}" not found`);
    if (name && req.method === 'GET') {
      const item = render(name, namespace);
      return send(200, wantsTable ? table(kind, [item]) : item);
    }
    if (name && req.method === 'DELETE') {
      const item = render(name, namespace);
      store.delete(name);
      for (const w of watchers) if (w.resource === resource) w.res.write(`${w.event('DELETED', item)}\n`);
      return send(200, item);
    }
    return status(405, 'MethodNotAllowed', `${req.method} is not supported by the mock`);
  });

  const execSessions = [];
  const upgraded = new Set();
  server.on('upgrade', (_req, socket) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
  });
  acceptWebSockets(
    server,
    (req) => /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/exec(\?|$)/.test(req.url),
    execSessions,
  );
  await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  if (options.unref) server.unref();
  const address = server.address();
  return {
    url: `http://${address.address}:${address.port}`,
    received,
    execSessions,
    pods,
    secrets,
    secretValue,
    /** Push an event to every open pod watch. */
    emitPod(type, name, namespace = 'default') {
      if (!pods.has(name)) pods.set(name, { phase: 'Pending' });
      for (const w of watchers) if (w.resource === 'pods') w.res.write(`${w.event(type, pod(name, namespace))}\n`);
    },
    get watchers() {
      return watchers.size;
    },
    close: () =>
      new Promise((resolve) => {
        for (const w of watchers) w.res.end();
        for (const socket of upgraded) socket.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// ── WebSocket (exec): a minimal RFC 6455 server side — handshake, unmasking client frames, echo ──

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Accept a WebSocket upgrade on `server` for paths `match` returns true for; echo messages back. */
function acceptWebSockets(server, match, sessions) {
  server.on('upgrade', (req, socket) => {
    if (!match(req) || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
    const protocol = (req.headers['sec-websocket-protocol'] ?? '').split(',')[0]?.trim();
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`,
    );
    const session = { path: req.url, headers: req.headers, protocol, messages: [] };
    sessions.push(session);
    const channels = protocol === 'v5.channel.k8s.io' || protocol === 'v4.channel.k8s.io';
    const query = new URL(req.url, 'http://localhost').searchParams;
    const channelFrame = (channel, text) => frame(0x2, Buffer.concat([Buffer.from([channel]), Buffer.from(text)]));
    const succeed = () => {
      socket.write(channelFrame(3, JSON.stringify({ metadata: {}, status: 'Success' })));
      socket.end(frame(0x8, Buffer.from([0x03, 0xe8])));
    };
    if (channels && query.get('stdin') !== 'true') {
      const [program, ...args] = query.getAll('command');
      session.messages.push(query.getAll('command').join(' '));
      if (program === 'echo') socket.write(channelFrame(1, `${args.join(' ')}\n`));
      succeed();
      return;
    }
    let buffer = Buffer.alloc(0);
    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        if (buffer.length < 2) return;
        const opcode = buffer[0] & 0x0f;
        const masked = (buffer[1] & 0x80) !== 0;
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        const maskOffset = offset;
        if (masked) offset += 4;
        if (buffer.length < offset + length) return;
        const payload = Buffer.from(buffer.subarray(offset, offset + length));
        if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buffer[maskOffset + (i % 4)];
        buffer = buffer.subarray(offset + length);
        if (opcode === 0x8) {
          socket.end(frame(0x8, payload.subarray(0, 2)));
          return;
        }
        if (channels && opcode === 0x2) {
          // [channel, …data]: stdin (0) is echoed to stdout (1); v5's close signal (255, 0) ends stdin.
          if (payload[0] === 0) {
            session.messages.push(payload.subarray(1).toString('utf8'));
            socket.write(channelFrame(1, Buffer.concat([Buffer.from('echo:'), payload.subarray(1)])));
          } else if (payload[0] === 255 && payload[1] === 0) {
            succeed();
            return;
          }
        } else if (opcode === 0x1 || opcode === 0x2) {
          session.messages.push(payload.toString('utf8'));
          socket.write(frame(opcode, Buffer.concat([Buffer.from('echo:'), payload])));
        }
      }
    });
    socket.on('error', () => {});
  });
}

function frame(opcode, payload) {
  const header =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, payload.length])
      : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}
