// A local stand-in for Microsoft Graph's group-membership call, for development and tests only.
//
// Serves `POST /v1.0/users/{oid}/getMemberObjects` and `POST /v1.0/servicePrincipals/{oid}/getMemberObjects`
// like Graph does ({ "value": [object ids] }), from a fixed membership map. It demands a bearer
// token (any non-empty one: the gateway's app token is the client-credentials client's business,
// issue 8) and `securityEnabledOnly` in the body. It never talks to the real Graph.
//
// Added for hostile-request tests (the mock is the victim: it honours whatever it is given), under
// both `/v1.0` and `/beta`, each demanding a bearer token like the call above:
// - `GET /users` ({ value: [two users] }), `GET /users/{id or userPrincipalName}`,
//   `DELETE /users/{id}` (204, really deleted), `GET /me` (the first user);
// - `POST /applications/{id}/addPassword` and `POST /servicePrincipals/{id}/addPassword`:
//   { keyId, secretText (40 characters, Graph's `xxx8Q~...` shape, random), displayName, hint, ... };
// - `POST /$batch` { requests: [{ id, method, url, headers, body, dependsOn }] } (at most 20; `url`
//   relative to the version root, `/users/x` or `users/x`), each executed by the same router (and
//   recorded, with `x-demo-batch-parent`: the outer request's client request id); answers
//   { responses: [{ id, status, headers, body? }] } in REVERSE order; a request whose dependsOn
//   failed answers 424 unexecuted;
// - method override: `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override` headers, or a
//   `_method` / `x-http-method` query parameter, make it execute that method instead;
// - `GET /_received?clientRequestId=&marker=` ({ requests: [{ method, path, search, headers, body,
//   executedMethod? }] }: `clientRequestId` matches `x-ms-client-request-id`, `client-request-id` or
//   `x-demo-batch-parent`; `marker` a substring of path, search or body) and `GET /_secrets`
//   ({ secrets: [every secretText handed out] }): test hooks, no token, never recorded.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import {
  answerTestHook,
  BATCH_LIMIT,
  bodyText,
  effectiveMethod,
  header,
  lowerCaseKeys,
  requestLog,
  resolveOn,
} from './mock-common.mjs';

export const DEMO_USERS = [
  {
    id: '6e7b768e-07e2-4810-8459-485f84f8f204',
    displayName: 'Adele Vance',
    givenName: 'Adele',
    surname: 'Vance',
    userPrincipalName: 'adele@contoso.com',
    mail: 'adele@contoso.com',
    jobTitle: 'Retail Manager',
  },
  {
    id: '87d349ed-44d7-43e1-9a83-5f2406dee5bd',
    displayName: 'Megan Bowen',
    givenName: 'Megan',
    surname: 'Bowen',
    userPrincipalName: 'megan@contoso.com',
    mail: 'megan@contoso.com',
    jobTitle: 'Marketing Manager',
  },
];

/**
 * Start the mock. Options: { port = 0, host = '127.0.0.1', memberships: { [oid]: [groupIds] }, unref }.
 * Returns { url, stats: { calls, unauthorized }, received, users, issuedSecrets, setAvailable(bool),
 * setMemberships(oid, ids), close() }.
 */
export async function startMockGraph(options = {}) {
  const memberships = new Map(Object.entries(options.memberships ?? {}));
  const stats = { calls: 0, unauthorized: 0 };
  const log = requestLog(['x-ms-client-request-id', 'client-request-id', 'x-demo-batch-parent']);
  const { received, record } = log;
  const users = new Map(DEMO_USERS.map((user) => [user.id, { ...user }]));
  const issuedSecrets = [];
  let available = true;

  // The router: one request (direct or embedded in a batch) → { status, headers, payload }
  // (`payload` undefined: no body).
  async function dispatch(transportMethod, url, headers, raw) {
    const method = effectiveMethod(transportMethod, url, headers);
    const send = (status, payload) => ({
      status,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      payload,
    });
    const path = url.pathname;
    const match = /^\/v1\.0\/(users|servicePrincipals)\/([0-9a-f-]{36})\/getMemberObjects$/.exec(path);
    if (match && method === 'POST') {
      stats.calls++;
      if (!bearer(headers)) {
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
    }
    const route = /^\/(v1\.0|beta)(\/.*)$/.exec(path.replace(/\/+$/, ''));
    const version = route?.[1];
    const rest = route?.[2] ?? '';
    const context = (what) => `https://graph.microsoft.com/${version}/$metadata#${what}`;
    const unauthorized = () =>
      send(401, {
        error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' },
      });
    const notFound = (id) =>
      send(404, {
        error: { code: 'Request_ResourceNotFound', message: `Resource '${id}' does not exist.` },
      });
    if (method === 'POST' && rest === '/$batch') {
      if (!bearer(headers)) return unauthorized();
      let requests;
      try {
        requests = JSON.parse(raw || '{}').requests;
      } catch {
        return send(400, { error: { code: 'BadRequest', message: 'Invalid batch payload format.' } });
      }
      if (!Array.isArray(requests)) {
        return send(400, { error: { code: 'BadRequest', message: 'Invalid batch payload format.' } });
      }
      if (requests.length > BATCH_LIMIT) {
        return send(400, {
          error: { code: 'BadRequest', message: `Too many requests in batch. Limit is ${BATCH_LIMIT}.` },
        });
      }
      const parent =
        header(headers, 'x-ms-client-request-id') ??
        header(headers, 'client-request-id') ??
        header(headers, 'x-demo-batch-parent') ??
        '';
      const statuses = new Map();
      const responses = [];
      for (const item of requests) {
        const id = item?.id;
        const dependsOn = Array.isArray(item?.dependsOn) ? item.dependsOn : [];
        if (dependsOn.some((dependency) => !(statuses.get(String(dependency)) < 400))) {
          statuses.set(String(id), 424);
          responses.push({
            id,
            status: 424,
            headers: { 'content-type': 'application/json' },
            body: { error: { code: 'FailedDependency', message: 'A request this one depends on failed.' } },
          });
          continue;
        }
        const target = String(item?.url ?? '');
        const innerUrl = resolveOn(
          url.origin,
          /^[a-z][a-z0-9+.-]*:/i.test(target) ? target : `/${version}/${target.replace(/^\/+/, '')}`,
        );
        const innerMethod = String(item?.method ?? 'GET').toUpperCase();
        const innerHeaders = {
          ...(header(headers, 'authorization') ? { authorization: header(headers, 'authorization') } : {}),
          ...lowerCaseKeys(item?.headers),
          'x-demo-batch-parent': parent,
        };
        const innerBody = bodyText(item?.body);
        record(innerMethod, innerUrl, innerHeaders, innerBody);
        const result = await dispatch(innerMethod, innerUrl, innerHeaders, innerBody);
        statuses.set(String(id), result.status);
        responses.push({
          id,
          status: result.status,
          headers: result.headers,
          ...(result.payload !== undefined ? { body: result.payload } : {}),
        });
      }
      return send(200, { responses: responses.reverse() });
    }
    const userMatch = /^\/users(?:\/([^/]+))?$/.exec(rest);
    if (route && (rest === '/me' || userMatch)) {
      if (!bearer(headers)) return unauthorized();
      if (rest === '/me' && method === 'GET') {
        const me = [...users.values()][0] ?? DEMO_USERS[0];
        return send(200, { '@odata.context': context('users/$entity'), ...me });
      }
      if (userMatch && !userMatch[1] && method === 'GET') {
        return send(200, { '@odata.context': context('users'), value: [...users.values()] });
      }
      if (userMatch?.[1]) {
        const key = decodeURIComponent(userMatch[1]).toLowerCase();
        const user = [...users.values()].find((u) => u.id === key || u.userPrincipalName.toLowerCase() === key);
        if (method === 'GET') {
          return user ? send(200, { '@odata.context': context('users/$entity'), ...user }) : notFound(key);
        }
        if (method === 'DELETE') {
          if (user) users.delete(user.id);
          return send(204, undefined);
        }
      }
    }
    const passwordMatch = /^\/(applications|servicePrincipals)\/([^/]+)\/addPassword$/.exec(rest);
    if (route && passwordMatch && method === 'POST') {
      if (!bearer(headers)) return unauthorized();
      let body;
      try {
        body = JSON.parse(raw || '{}');
      } catch {
        return send(400, { error: { code: 'BadRequest', message: 'Unable to read JSON request payload.' } });
      }
      const secretText = `${secretCharacters(3)}8Q~${secretCharacters(34)}`;
      issuedSecrets.push(secretText);
      const start = new Date();
      return send(200, {
        '@odata.context': context('microsoft.graph.passwordCredential'),
        customKeyIdentifier: null,
        displayName: body?.passwordCredential?.displayName ?? null,
        endDateTime: new Date(start.getTime() + 730 * 86_400_000).toISOString(),
        hint: secretText.slice(0, 3),
        keyId: randomUUID(),
        secretText,
        startDateTime: start.toISOString(),
      });
    }
    return send(404, { error: { code: 'Request_ResourceNotFound' } });
  }

  const server = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const parsed = new URL(req.url, 'http://localhost');
    if (await answerTestHook(req, res, parsed, log, () => [...issuedSecrets])) return;
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const url = resolveOn(`http://${req.headers.host}`, parsed);
    record(req.method, url, req.headers, raw);
    if (!available) return send(503, { error: { code: 'serviceNotAvailable', message: 'mock outage' } });
    const result = await dispatch(req.method, url, req.headers, raw);
    res.writeHead(result.status, result.headers);
    res.end(result.payload === undefined ? undefined : JSON.stringify(result.payload));
  });

  await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  if (options.unref) server.unref();
  const address = server.address();
  return {
    url: `http://${address.address}:${address.port}`,
    stats,
    received,
    users,
    issuedSecrets,
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

const bearer = (headers) => /^Bearer \S+$/.test(header(headers, 'authorization') ?? '');

// Graph client secrets: 40 characters of this alphabet.
function secretCharacters(count) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~';
  return Array.from(randomBytes(count), (byte) => alphabet[byte % alphabet.length]).join('');
}
