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
//
// Added for hostile-request tests (the mock is the victim: it honours whatever it is given):
// - `GET /_received?clientRequestId=&marker=`: { requests: [{ method, path, search, headers, body,
//   executedMethod? }] } of the recorded requests. `clientRequestId` matches the
//   `x-ms-client-request-id` header (the gateway's request id) or, for a request embedded in a
//   batch, its `x-demo-batch-parent` header (the outer request's client request id), so one query
//   returns everything a gateway request caused. `marker` matches a substring of path, search
//   (raw or decoded) or body. `GET /_secrets`: { secrets: [...] }, every secret value this mock
//   has handed out so far (storage keys included). Neither is recorded nor subject to faults.
// - Method override: `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override` headers, or
//   a `_method` / `x-http-method` query parameter, make it execute that method instead
//   (recorded with the transport `method` and the `executedMethod`).
// - ARM batch: `POST /batch` { requests: [{ name, httpMethod, url, content, requestHeaderDetails }] }
//   (at most 20), each executed by the same router (and recorded, with `x-demo-batch-parent`);
//   answers { responses: [{ name, httpStatusCode, headers, content?, contentLength }] } in REVERSE
//   order (real ARM may reorder: match by name).
// - Secret-bearing actions, their values deterministic (derivable in another process, see
//   `derive` below; names are lower-cased first):
//   SignalR `regenerateKey` (202 LRO, no body, Location/Azure-AsyncOperation; the operation
//   result carries the new keys) and `listKeys`: primaryKey = b64(sha256('signalr:'+name+':'+gen)),
//   secondaryKey = b64(sha256('signalr:'+name+':'+gen+':secondary')), gen = number of
//   regenerateKey calls for that name so far (0 at start; each call changes both keys);
//   Search `listQueryKeys` (paged: q1 then q2 by `nextLink` with `$skip=1`), key =
//   upper(hex(sha256('search:'+name+':'+keyName))).slice(0, 52); storage `listKeys` by GET too;
//   Function app `host/default/listkeys`, key = b64(sha256('functionapp:'+name+':'+keyName)) for
//   keyName master | default | durabletask_extension; Machine Learning workspace `listKeys`,
//   userStorageKey = b64(sha512('ml:'+name+':userStorageKey')), registry password and notebook
//   keys = b64(sha256('ml:'+name+':registryPassword' | ':notebookPrimary' | ':notebookSecondary')),
//   appInsightsInstrumentationKey = a guid made of hex(sha256('ml:'+name+':appInsights')).
// - Template deployments (resource group and subscription scope): PUT (201 echo), POST validate
//   and whatIf (200), GET. Storage account PUT/GET/DELETE, role assignment PUT/GET/DELETE at any
//   scope. Their bodies are bound the way ARM binds them (`parseArmJson`): member names
//   case-insensitive, the LAST duplicate wins, at every depth.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
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

export const DEMO_SUBSCRIPTION = '00000000-0000-4000-8000-00000000a2b1';

export async function startDemoArm(options = {}) {
  const groups = new Map([['demo-rg', { location: 'westeurope' }]]);
  const log = requestLog(['x-ms-client-request-id', 'x-demo-batch-parent']);
  const { received, record } = log;
  const operations = new Map();
  const storageKeys = [randomBytes(64).toString('base64'), randomBytes(64).toString('base64')];
  const signalrGenerations = new Map(); // lower-case name → generation
  const signalrOperations = new Map(); // operation id → { name, generation }
  const storageAccounts = new Map(); // lower-case resource path → bound body
  const deployments = new Map(); // lower-case resource path → deployment
  const roleAssignments = new Map(); // lower-case resource path → role assignment
  const issued = new Set(storageKeys);
  const issue = (...values) => {
    for (const value of values) issued.add(value);
  };

  // Fault injection for load tests: 'fail' resets the connection, 'cut' sends headers and half a
  // body then resets, 'slow' delays the answer by `ms`.
  let fault = { kind: 'none', ms: 0 };

  const currentSignalrKeys = (name) => {
    const keys = signalrKeysFor(name, signalrGenerations.get(name.toLowerCase()) ?? 0);
    issue(keys.primaryKey, keys.secondaryKey);
    return keys;
  };

  // The router: one request (direct or embedded in a batch) → { status, headers, payload }.
  // `url` is a URL on the mock's own origin; `payload` undefined means no body. A storage listKeys
  // asked for a masker variant also carries `variant` (only honoured for direct requests).
  async function dispatch(transportMethod, url, headers, body) {
    const method = effectiveMethod(transportMethod, url, headers);
    const base = url.origin;
    const caller = describeCaller(header(headers, 'authorization'));
    const reply = (status, payload, extra = {}) => ({
      status,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-ms-request-id': randomUUID(),
        'x-ms-correlation-request-id': header(headers, 'x-ms-correlation-request-id') ?? randomUUID(),
        ...(caller ? { 'x-demo-caller': caller } : {}),
        ...extra,
      },
      payload,
    });
    const invalidContent = () =>
      reply(400, { error: { code: 'InvalidRequestContent', message: 'The request content was invalid.' } });
    // The body as ARM binds it (`parseArmJson`), or undefined when it is not JSON.
    const boundBody = () => {
      try {
        return parseArmJson(body || '{}');
      } catch {
        return undefined;
      }
    };
    const path = url.pathname.replace(/\/+$/, '');
    const lower = path.toLowerCase();
    const sub = `/subscriptions/${DEMO_SUBSCRIPTION}`;
    const apiVersion = url.searchParams.get('api-version');
    if (method === 'GET' && lower === '/subscriptions') {
      return reply(200, {
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
    if (method === 'GET' && lower === `${sub}/resourcegroups`) {
      const all = [...groups].map(([name, g]) => resourceGroup(sub, name, g));
      const top = Number(url.searchParams.get('$top') ?? '0');
      if (top > 0) {
        const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
        const next = new URL(`${base}${sub}/resourcegroups`);
        next.searchParams.set('api-version', apiVersion ?? '2021-04-01');
        next.searchParams.set('$top', String(top));
        next.searchParams.set('$skiptoken', String(skip + top));
        return reply(200, {
          value: all.slice(skip, skip + top),
          ...(skip + top < all.length ? { nextLink: next.toString() } : {}),
        });
      }
      return reply(200, { value: all });
    }
    if (method === 'GET' && lower === '/_echo') return reply(200, { method, headers });
    if (method === 'GET' && lower === '/_slow') {
      await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? '1000')));
      return reply(200, { slow: true });
    }
    if (method === 'POST' && lower === '/batch') {
      let requests;
      try {
        requests = JSON.parse(body || '{}').requests;
      } catch {
        return invalidContent();
      }
      if (!Array.isArray(requests)) {
        return reply(400, {
          error: { code: 'InvalidBatchRequest', message: "The batch must carry a 'requests' array." },
        });
      }
      if (requests.length > BATCH_LIMIT) {
        return reply(400, {
          error: {
            code: 'BatchRequestLimitExceeded',
            message: `The batch request count '${requests.length}' exceeds the maximum allowed '${BATCH_LIMIT}'.`,
          },
        });
      }
      const parent = header(headers, 'x-ms-client-request-id') ?? header(headers, 'x-demo-batch-parent') ?? '';
      const responses = [];
      for (const item of requests) {
        const innerMethod = String(item?.httpMethod ?? 'GET').toUpperCase();
        const innerUrl = resolveOn(base, String(item?.url ?? ''));
        const innerHeaders = {
          ...(header(headers, 'authorization') ? { authorization: header(headers, 'authorization') } : {}),
          ...(header(headers, 'x-ms-correlation-request-id')
            ? { 'x-ms-correlation-request-id': header(headers, 'x-ms-correlation-request-id') }
            : {}),
          ...lowerCaseKeys(item?.requestHeaderDetails),
          'x-demo-batch-parent': parent,
        };
        const innerBody = bodyText(item?.content);
        record(innerMethod, innerUrl, innerHeaders, innerBody);
        const result = await dispatch(innerMethod, innerUrl, innerHeaders, innerBody);
        const text = result.payload === undefined ? '' : JSON.stringify(result.payload);
        responses.push({
          name: item?.name,
          httpStatusCode: result.status,
          headers: result.headers,
          ...(result.payload !== undefined ? { content: result.payload } : {}),
          contentLength: Buffer.byteLength(text),
        });
      }
      return reply(200, { responses: responses.reverse() });
    }
    const asyncMatch = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Resources\/operations\/([^/]+)$/i.exec(path);
    if (method === 'GET' && asyncMatch) {
      return operations.has(asyncMatch[1]) ? reply(200, { status: 'Succeeded' }) : reply(404, notFound(asyncMatch[1]));
    }
    const groupMatch = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)$/i.exec(path);
    if (groupMatch) {
      const name = decodeURIComponent(groupMatch[1]);
      if (method === 'GET') {
        return groups.has(name) ? reply(200, resourceGroup(sub, name, groups.get(name))) : reply(404, notFound(name));
      }
      if (method === 'PUT') {
        let location = 'westeurope';
        try {
          location = JSON.parse(body || '{}').location ?? location;
        } catch {
          return invalidContent();
        }
        const existed = groups.has(name);
        groups.set(name, { location });
        return reply(existed ? 200 : 201, resourceGroup(sub, name, { location }));
      }
      if (method === 'DELETE') {
        if (!groups.has(name)) return reply(404, notFound(name));
        groups.delete(name);
        const op = randomUUID();
        operations.set(op, name);
        return reply(202, undefined, {
          location: `${base}${sub}/operationresults/${op}?api-version=2021-04-01`,
          'azure-asyncoperation': `${base}${sub}/providers/Microsoft.Resources/operations/${op}?api-version=2021-04-01`,
          'retry-after': '0',
        });
      }
    }
    const operationMatch = /^\/subscriptions\/[^/]+\/operationresults\/([^/]+)$/i.exec(path);
    if (method === 'GET' && operationMatch) {
      const op = operationMatch[1];
      return operations.has(op) ? reply(200, undefined) : reply(404, notFound(op));
    }
    if (
      (method === 'POST' || method === 'GET') &&
      /\/providers\/Microsoft\.Storage\/storageAccounts\/[^/]+\/listKeys$/i.test(path)
    ) {
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
      const variant = header(headers, 'x-demo-response');
      if (variant) return { ...reply(200, payload), variant: String(variant) };
      return reply(200, payload);
    }
    // SignalR: regenerateKey is a long-running operation whose result carries the new keys.
    const signalrMatch =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/[^/]+\/providers\/Microsoft\.SignalRService\/SignalR\/([^/]+)\/(regenerateKey|listKeys)$/i.exec(
        path,
      );
    if (method === 'POST' && signalrMatch) {
      const name = decodeURIComponent(signalrMatch[2]).toLowerCase();
      if (signalrMatch[3].toLowerCase() === 'listkeys') return reply(200, currentSignalrKeys(name));
      const generation = (signalrGenerations.get(name) ?? 0) + 1;
      signalrGenerations.set(name, generation);
      const keys = signalrKeysFor(name, generation);
      issue(keys.primaryKey, keys.secondaryKey);
      const op = randomUUID();
      signalrOperations.set(op, { name, generation });
      const version = encodeURIComponent(apiVersion ?? '2023-02-01');
      const location = `${base}/subscriptions/${signalrMatch[1]}/providers/Microsoft.SignalRService/locations/westeurope`;
      const result = reply(202, undefined, {
        location: `${location}/operationResults/${op}?api-version=${version}&operationKind=regenerateKey`,
        'azure-asyncoperation': `${location}/operationStatuses/${op}?api-version=${version}`,
        'retry-after': '0',
      });
      delete result.headers['content-type'];
      return result;
    }
    const signalrOperationMatch =
      /^\/subscriptions\/[^/]+\/providers\/Microsoft\.SignalRService\/locations\/[^/]+\/(operationResults|operationStatuses)\/([^/]+)$/i.exec(
        path,
      );
    if (method === 'GET' && signalrOperationMatch) {
      const operation = signalrOperations.get(signalrOperationMatch[2]);
      if (!operation) return reply(404, notFound(signalrOperationMatch[2]));
      if (signalrOperationMatch[1].toLowerCase() === 'operationstatuses') {
        return reply(200, { id: path, name: signalrOperationMatch[2], status: 'Succeeded' });
      }
      return reply(200, signalrKeysFor(operation.name, operation.generation));
    }
    // Search: query keys come in pages, the second one behind an absolute nextLink (GET or POST).
    const searchMatch =
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Search\/searchServices\/([^/]+)\/listQueryKeys$/i.exec(
        path,
      );
    if ((method === 'POST' || method === 'GET') && searchMatch) {
      const name = decodeURIComponent(searchMatch[1]).toLowerCase();
      const skip = Number(url.searchParams.get('$skip') ?? '0');
      const page = (keyName) => {
        const key = searchQueryKeyFor(name, keyName);
        issue(key);
        return [{ name: keyName, key }];
      };
      if (skip >= 2) return reply(200, { value: [] });
      if (skip === 1) return reply(200, { value: page('q2') });
      const version = encodeURIComponent(apiVersion ?? '2023-11-01');
      return reply(200, { value: page('q1'), nextLink: `${base}${path}?api-version=${version}&$skip=1` });
    }
    const hostKeysMatch = /\/providers\/Microsoft\.Web\/sites\/([^/]+)\/host\/default\/listkeys$/i.exec(path);
    if (method === 'POST' && hostKeysMatch) {
      const keys = functionHostKeysFor(decodeURIComponent(hostKeysMatch[1]).toLowerCase());
      issue(keys.masterKey, keys.functionKeys.default, keys.systemKeys.durabletask_extension);
      return reply(200, keys);
    }
    const workspaceMatch =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/]+)\/listKeys$/i.exec(
        path,
      );
    if (method === 'POST' && workspaceMatch) {
      const [, subscription, group] = workspaceMatch;
      const keys = machineLearningKeysFor(decodeURIComponent(workspaceMatch[3]).toLowerCase(), subscription, group);
      issue(
        keys.userStorageKey,
        keys.containerRegistryCredentials.passwords[0].value,
        keys.notebookAccessKeys.primaryAccessKey,
        keys.notebookAccessKeys.secondaryAccessKey,
      );
      return reply(200, keys);
    }
    // Template deployments, at resource group or subscription scope.
    const deploymentMatch =
      /^(\/subscriptions\/[^/]+(?:\/resourceGroups\/[^/]+)?\/providers\/Microsoft\.Resources\/deployments\/([^/]+))(?:\/(validate|whatIf))?$/i.exec(
        path,
      );
    if (deploymentMatch) {
      const [, id, encodedName, action] = deploymentMatch;
      const name = decodeURIComponent(encodedName);
      const type = 'Microsoft.Resources/deployments';
      if (!action && method === 'GET') {
        const found = deployments.get(id.toLowerCase());
        return found ? reply(200, found) : reply(404, resourceNotFound(type, name));
      }
      if ((!action && method === 'PUT') || (action && method === 'POST')) {
        const parsed = boundBody();
        if (parsed === undefined) return invalidContent();
        const properties = memberOf(parsed, 'properties') ?? {};
        const template = memberOf(properties, 'template');
        const mode = memberOf(properties, 'mode') ?? 'Incremental';
        if (action?.toLowerCase() === 'whatif') {
          return reply(200, { status: 'Succeeded', properties: { changes: [] } });
        }
        if (action) {
          return reply(200, {
            id,
            name,
            type,
            properties: { provisioningState: 'Succeeded', mode, validatedResources: [] },
          });
        }
        const deployment = {
          id,
          name,
          type,
          properties: { provisioningState: 'Accepted', ...(template !== undefined ? { template } : {}) },
        };
        deployments.set(id.toLowerCase(), deployment);
        return reply(201, deployment);
      }
    }
    // Storage accounts: the body as ARM would bind it, echoed and kept.
    const accountMatch =
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i.exec(
        path,
      );
    if (accountMatch) {
      const key = lower;
      const name = decodeURIComponent(accountMatch[1]);
      const type = 'Microsoft.Storage/storageAccounts';
      if (method === 'PUT') {
        const bound = boundBody();
        if (bound === undefined) return invalidContent();
        storageAccounts.set(key, bound);
        return reply(200, bound);
      }
      if (method === 'GET') {
        return storageAccounts.has(key)
          ? reply(200, storageAccounts.get(key))
          : reply(404, resourceNotFound(type, name));
      }
      if (method === 'DELETE') {
        const existed = storageAccounts.delete(key);
        return reply(existed ? 200 : 204, undefined);
      }
    }
    // Role assignments, at any scope.
    const assignmentMatch = /\/providers\/Microsoft\.Authorization\/roleAssignments\/([^/]+)$/i.exec(path);
    if (assignmentMatch) {
      const name = decodeURIComponent(assignmentMatch[1]);
      const type = 'Microsoft.Authorization/roleAssignments';
      if (method === 'PUT') {
        const bound = boundBody();
        if (bound === undefined) return invalidContent();
        const assignment = { ...bound, id: path, name, type };
        roleAssignments.set(lower, assignment);
        return reply(201, assignment);
      }
      if (method === 'GET') {
        return roleAssignments.has(lower)
          ? reply(200, roleAssignments.get(lower))
          : reply(404, resourceNotFound(type, name));
      }
      if (method === 'DELETE') {
        const assignment = roleAssignments.get(lower) ?? { id: path, name, type, properties: {} };
        roleAssignments.delete(lower);
        return reply(200, assignment);
      }
    }
    return reply(404, { error: { code: 'NotFound', message: `No route for ${method} ${url.pathname}` } });
  }

  const server = createServer(async (req, res) => {
    const raw = new URL(req.url, 'http://localhost');
    if (await answerTestHook(req, res, raw, log, () => [...issued])) return;
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
    const url = resolveOn(`http://${req.headers.host}`, raw);
    record(req.method, url, req.headers, body);
    const result = await dispatch(req.method, url, req.headers, body);
    if (result.variant) return sendVariant(req, res, result.variant, result.payload);
    res.writeHead(result.status, result.headers);
    res.end(result.payload === undefined ? undefined : JSON.stringify(result.payload));
  });

  await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  // Test runners start these in their config: unref so they never keep a finished run alive.
  if (options.unref) server.unref();
  const address = server.address();
  return {
    url: `http://${address.address}:${address.port}`,
    received,
    storageKeys,
    /** The current SignalR keys of `name` (see signalrKeysFor for how to derive them elsewhere). */
    signalrKeys: (name) => currentSignalrKeys(name),
    /** Every secret value handed out so far (also `GET /_secrets`). */
    issuedSecrets: () => [...issued],
    setFault(next) {
      fault = { kind: 'none', ms: 0, ...next };
    },
    groups,
    storageAccounts,
    deployments,
    roleAssignments,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// Deterministic secrets, so a test in another process (or inside workerd) can derive them.
const digest = (algorithm, text, encoding) => createHash(algorithm).update(text).digest(encoding);

/** SignalR keys of `name` (lower-cased) after `generation` regenerateKey calls. */
export function signalrKeysFor(name, generation) {
  const primaryKey = digest('sha256', `signalr:${name}:${generation}`, 'base64');
  const secondaryKey = digest('sha256', `signalr:${name}:${generation}:secondary`, 'base64');
  const connection = (key) => `Endpoint=https://${name}.service.signalr.net;AccessKey=${key};Version=1.0;`;
  return {
    primaryKey,
    secondaryKey,
    primaryConnectionString: connection(primaryKey),
    secondaryConnectionString: connection(secondaryKey),
  };
}

/** Search query key `keyName` (q1, q2) of service `name` (lower-cased): 52 upper-case hex characters. */
export function searchQueryKeyFor(name, keyName) {
  return digest('sha256', `search:${name}:${keyName}`, 'hex').toUpperCase().slice(0, 52);
}

/** Function app host keys of site `name` (lower-cased). */
export function functionHostKeysFor(name) {
  const key = (keyName) => digest('sha256', `functionapp:${name}:${keyName}`, 'base64');
  return {
    masterKey: key('master'),
    functionKeys: { default: key('default') },
    systemKeys: { durabletask_extension: key('durabletask_extension') },
  };
}

/** Machine Learning workspace keys of `name` (lower-cased). */
export function machineLearningKeysFor(name, subscription = DEMO_SUBSCRIPTION, group = 'demo-rg') {
  const key = (purpose) => digest('sha256', `ml:${name}:${purpose}`, 'base64');
  const hex = digest('sha256', `ml:${name}:appInsights`, 'hex');
  return {
    userStorageKey: digest('sha512', `ml:${name}:userStorageKey`, 'base64'),
    userStorageResourceId: `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Storage/storageAccounts/${name.replace(/[^a-z0-9]/g, '').slice(0, 16)}storage`,
    appInsightsInstrumentationKey: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`,
    containerRegistryCredentials: {
      location: 'westeurope',
      username: 'reg',
      passwords: [{ name: 'password', value: key('registryPassword') }],
    },
    notebookAccessKeys: { primaryAccessKey: key('notebookPrimary'), secondaryAccessKey: key('notebookSecondary') },
  };
}

/**
 * JSON parsed the way ARM binds a request body: member names are case-insensitive (per-character
 * simple upper-casing, like .NET OrdinalIgnoreCase) and the LAST duplicate wins, at every depth;
 * a member keeps the position and spelling of its first occurrence. Throws on invalid JSON.
 */
export function parseArmJson(text) {
  JSON.parse(text); // validate with the real parser
  let at = 0;
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const string = () => {
    const start = at++;
    while (text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
    at++;
    return JSON.parse(text.slice(start, at));
  };
  const value = () => {
    space();
    if (text[at] === '{') {
      at++;
      const members = new Map();
      space();
      if (text[at] === '}') {
        at++;
        return {};
      }
      for (;;) {
        space();
        const name = string();
        space();
        at++; // ':'
        const member = value();
        const folded = foldCase(name);
        members.set(folded, [members.get(folded)?.[0] ?? name, member]);
        space();
        if (text[at++] === '}') return Object.fromEntries(members.values());
      }
    }
    if (text[at] === '[') {
      at++;
      const items = [];
      space();
      if (text[at] === ']') {
        at++;
        return items;
      }
      for (;;) {
        items.push(value());
        space();
        if (text[at++] === ']') return items;
      }
    }
    if (text[at] === '"') return string();
    const literal = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
    literal.lastIndex = at;
    const token = literal.exec(text)[0];
    at += token.length;
    return JSON.parse(token);
  };
  return value();
}

const foldCase = (name) =>
  Array.from(name, (c) => {
    const upper = c.toUpperCase();
    return Array.from(upper).length === 1 ? upper : c;
  }).join('');

// A member of a bound object, looked up case-insensitively.
const memberOf = (object, name) =>
  object && typeof object === 'object'
    ? Object.entries(object).find(([key]) => foldCase(key) === foldCase(name))?.[1]
    : undefined;

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

const resourceNotFound = (type, name) => ({
  error: { code: 'ResourceNotFound', message: `The Resource '${type}/${name}' was not found.` },
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
