// A local stand-in for Microsoft Graph's group-membership call, for development and tests only.
//
// Serves `POST /v1.0/users/{oid}/getMemberObjects` and `POST /v1.0/servicePrincipals/{oid}/getMemberObjects`
// like Graph does ({ "value": [object ids] }), from a fixed membership map. It demands a bearer
// token (any non-empty one: the gateway's app token is the client-credentials client's business,
// issue 8) and `securityEnabledOnly` in the body. It never talks to the real Graph.
import { createServer } from 'node:http';

/**
 * Start the mock. Options: { port = 0, host = '127.0.0.1', memberships: { [oid]: [groupIds] }, unref }.
 * Returns { url, stats: { calls, unauthorized }, setAvailable(bool), setMemberships(oid, ids), close() }.
 */
export async function startMockGraph(options = {}) {
  const memberships = new Map(Object.entries(options.memberships ?? {}));
  const stats = { calls: 0, unauthorized: 0 };
  let available = true;

  const server = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (!available) return send(503, { error: { code: 'serviceNotAvailable', message: 'mock outage' } });
    const match = /^\/v1\.0\/(users|servicePrincipals)\/([0-9a-f-]{36})\/getMemberObjects$/.exec(
      new URL(req.url, 'http://localhost').pathname,
    );
    if (!match || req.method !== 'POST') return send(404, { error: { code: 'Request_ResourceNotFound' } });
    stats.calls++;
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) {
      stats.unauthorized++;
      return send(401, { error: { code: 'InvalidAuthenticationToken' } });
    }
    let body;
    try {
      body = JSON.parse(raw || '{}');
    } catch {
      return send(400, { error: { code: 'BadRequest' } });
    }
    if (typeof body.securityEnabledOnly !== 'boolean') return send(400, { error: { code: 'BadRequest' } });
    const groups = memberships.get(match[2]);
    if (!groups) return send(404, { error: { code: 'Request_ResourceNotFound' } });
    return send(200, {
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)',
      value: groups,
    });
  });

  await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  if (options.unref) server.unref();
  const address = server.address();
  return {
    url: `http://${address.address}:${address.port}`,
    stats,
    setAvailable(value) {
      available = value;
    },
    setMemberships(oid, ids) {
      memberships.set(oid, ids);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
