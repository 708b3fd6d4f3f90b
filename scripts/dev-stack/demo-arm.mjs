// A small in-memory mock of Azure Resource Manager, the demo upstream for development and tests.
//
// Supports: list subscriptions; list/get/create/delete resource groups (delete is a long-running
// operation answering 202 + Location, like ARM); storage account listKeys (real response shape).
// Every response carries x-ms-request-id / x-ms-correlation-request-id like ARM. It records the
// requests it received so tests can check what the gateway forwarded.
// Added for the proxy (issue 8): `$top` paging with an absolute `nextLink`, Azure-AsyncOperation
// on delete with its operation status resource, `GET /_slow?ms=` (answers after a delay),
// `GET /_echo` (the headers it received, as JSON) and, on every response, `x-demo-caller`: the
// aud/oid/appid of the bearer token it received (decoded, not verified — it is a mock).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';

export const DEMO_SUBSCRIPTION = '00000000-0000-4000-8000-00000000a2b1';

export async function startDemoArm(options = {}) {
  const groups = new Map([['demo-rg', { location: 'westeurope' }]]);
  const received = [];
  const operations = new Map();
  const storageKeys = [randomBytes(64).toString('base64'), randomBytes(64).toString('base64')];

  // Fault injection for load tests: 'fail' resets the connection, 'cut' sends headers and half a
  // body then resets, 'slow' delays the answer by `ms`.
  let fault = { kind: 'none', ms: 0 };

  const server = createServer(async (req, res) => {
    if (fault.kind === 'fail') return req.socket.destroy();
    if (fault.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault.kind === 'cut') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-ms-request-id': randomUUID() });
      res.write('{"keys":[{"keyName":"key1","value":"');
      res.write(storageKeys[0].slice(0, 20));
      return setTimeout(() => req.socket.destroy(), 10);
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url, 'http://localhost');
    received.push({ method: req.method, path: url.pathname, search: url.search, headers: req.headers, body });
    if (received.length > 1000) received.shift();
    const base = `http://${req.headers.host}`;
    const caller = describeCaller(req.headers.authorization);
    const send = (status, payload, extra = {}) => {
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-ms-request-id': randomUUID(),
        'x-ms-correlation-request-id': req.headers['x-ms-correlation-request-id'] ?? randomUUID(),
        ...(caller ? { 'x-demo-caller': caller } : {}),
        ...extra,
      });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    const path = url.pathname.replace(/\/+$/, '');
    const lower = path.toLowerCase();
    const sub = `/subscriptions/${DEMO_SUBSCRIPTION}`;
    if (req.method === 'GET' && lower === '/subscriptions') {
      return send(200, {
        value: [
          {
            id: sub,
            subscriptionId: DEMO_SUBSCRIPTION,
            displayName: 'Edgeward Demo',
            state: 'Enabled',
            tenantId: options.tenantId,
          },
        ],
      });
    }
    if (req.method === 'GET' && lower === `${sub}/resourcegroups`) {
      const all = [...groups].map(([name, g]) => resourceGroup(sub, name, g));
      const top = Number(url.searchParams.get('$top') ?? '0');
      if (top > 0) {
        const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
        const next = new URL(`${base}${sub}/resourcegroups`);
        next.searchParams.set('api-version', url.searchParams.get('api-version') ?? '2021-04-01');
        next.searchParams.set('$top', String(top));
        next.searchParams.set('$skiptoken', String(skip + top));
        return send(200, {
          value: all.slice(skip, skip + top),
          ...(skip + top < all.length ? { nextLink: next.toString() } : {}),
        });
      }
      return send(200, { value: all });
    }
    if (req.method === 'GET' && lower === '/_echo') return send(200, { method: req.method, headers: req.headers });
    if (req.method === 'GET' && lower === '/_slow') {
      await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? '1000')));
      return send(200, { slow: true });
    }
    const asyncMatch = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Resources\/operations\/([^/]+)$/i.exec(path);
    if (req.method === 'GET' && asyncMatch) {
      return operations.has(asyncMatch[1]) ? send(200, { status: 'Succeeded' }) : send(404, notFound(asyncMatch[1]));
    }
    const groupMatch = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)$/i.exec(path);
    if (groupMatch) {
      const name = decodeURIComponent(groupMatch[1]);
      if (req.method === 'GET') {
        return groups.has(name) ? send(200, resourceGroup(sub, name, groups.get(name))) : send(404, notFound(name));
      }
      if (req.method === 'PUT') {
        let location = 'westeurope';
        try {
          location = JSON.parse(body || '{}').location ?? location;
        } catch {
          return send(400, { error: { code: 'InvalidRequestContent', message: 'The request content was invalid.' } });
        }
        const existed = groups.has(name);
        groups.set(name, { location });
        return send(existed ? 200 : 201, resourceGroup(sub, name, { location }));
      }
      if (req.method === 'DELETE') {
        if (!groups.has(name)) return send(404, notFound(name));
        groups.delete(name);
        const op = randomUUID();
        operations.set(op, name);
        return send(202, undefined, {
          location: `${base}${sub}/operationresults/${op}?api-version=2021-04-01`,
          'azure-asyncoperation': `${base}${sub}/providers/Microsoft.Resources/operations/${op}?api-version=2021-04-01`,
          'retry-after': '0',
        });
      }
    }
    const operationMatch = /^\/subscriptions\/[^/]+\/operationresults\/([^/]+)$/i.exec(path);
    if (req.method === 'GET' && operationMatch) {
      const op = operationMatch[1];
      return operations.has(op) ? send(200, undefined) : send(404, notFound(op));
    }
    if (req.method === 'POST' && /\/providers\/Microsoft\.Storage\/storageAccounts\/[^/]+\/listKeys$/i.test(path)) {
      const created = '2026-01-01T00:00:00.0000000Z';
      const payload = {
        keys: storageKeys.map((value, i) => ({
          creationTime: created,
          keyName: `key${i + 1}`,
          value,
          permissions: 'FULL',
        })),
      };
      // Test variants for the masker (only when asked for; the default answer is unchanged).
      const variant = req.headers['x-demo-response'];
      if (variant) return sendVariant(req, res, String(variant), payload);
      return send(200, payload);
    }
    return send(404, { error: { code: 'NotFound', message: `No route for ${req.method} ${url.pathname}` } });
  });

  await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  // Test runners start these in their config: unref so they never keep a finished run alive.
  if (options.unref) server.unref();
  const address = server.address();
  return {
    url: `http://${address.address}:${address.port}`,
    received,
    storageKeys,
    setFault(next) {
      fault = { kind: 'none', ms: 0, ...next };
    },
    groups,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// Masker test variants of a JSON answer: `gzip` (compressed when the client accepts gzip),
// `chunked` (written a few bytes at a time), `xml` (a non-JSON body), `truncated` (cut mid-value).
async function sendVariant(req, res, variant, payload) {
  const text = JSON.stringify(payload);
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'x-ms-request-id': randomUUID(),
    etag: '"demo-etag"',
    'x-demo-accept-encoding': String(req.headers['accept-encoding'] ?? ''),
  };
  if (variant === 'gzip' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    const body = gzipSync(text);
    res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': String(body.length) });
    return res.end(body);
  }
  if (variant === 'xml') {
    res.writeHead(200, { ...headers, 'content-type': 'application/xml' });
    return res.end(`<keys><key name="key1">${payload.keys[0].value}</key></keys>`);
  }
  if (variant === 'chunked' || variant === 'truncated') {
    res.writeHead(200, headers);
    const bytes = Buffer.from(text);
    const end = variant === 'truncated' ? text.indexOf(payload.keys[1].value) + 10 : bytes.length;
    for (let at = 0; at < end; at += 5) {
      res.write(bytes.subarray(at, Math.min(at + 5, end)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    return res.end();
  }
  res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
  return res.end(text);
}

const resourceGroup = (sub, name, g) => ({
  id: `${sub}/resourceGroups/${name}`,
  name,
  type: 'Microsoft.Resources/resourceGroups',
  location: g.location,
  properties: { provisioningState: 'Succeeded' },
});

const notFound = (name) => ({
  error: { code: 'ResourceGroupNotFound', message: `Resource group '${name}' could not be found.` },
});

function describeCaller(authorization) {
  const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
  if (!token) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    return `aud=${claims.aud} oid=${claims.oid} appid=${claims.appid ?? claims.azp}`;
  } catch {
    return 'unparseable';
  }
}
