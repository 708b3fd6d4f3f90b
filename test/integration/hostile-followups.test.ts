/**
 * Hostile follow-ups and bodies against "Judge what Azure will execute", in workerd with real D1.
 * The demo ARM (scripts/dev-stack/demo-arm.mjs) is the attacked upstream: it executes whatever it
 * is given, binds JSON member names as ARM does, and hands out secrets. For each hostile request:
 * the decision/status, what reached the upstream (its `/_received` record, keyed by the gateway's
 * request id), that no secret the mock ever issued (`/_secrets`, fetched after the call, plus the
 * derivable SignalR / Search keys) is in the text the client got, and the audit row.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { auditRow, gateway, mintToken, SUB } from './helpers.ts';

const RG = `/arm/subscriptions/${SUB}/resourceGroups/demo-rg`;
const ORIGIN = 'https://edgeward.test';
const PARAM = 'edgeward-continuation';

interface Received {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: string;
  executedMethod?: string;
}

const writer = () => mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
const reader = () => mintToken({ user: 'bob@contoso.com', groups: ['readers'] });

const requestIdOf = (response: Response): string => {
  const id = response.headers.get('x-edgeward-request-id');
  expect(id).toBeTruthy();
  return id ?? '';
};

/** What reached the mock for one gateway request (direct or embedded in a batch). */
async function receivedFor(requestId: string): Promise<Received[]> {
  const response = await fetch(`${env.UPSTREAM_ARM}/_received?clientRequestId=${encodeURIComponent(requestId)}`);
  return ((await response.json()) as { requests: Received[] }).requests;
}

async function issuedSecrets(): Promise<string[]> {
  const response = await fetch(`${env.UPSTREAM_ARM}/_secrets`);
  return ((await response.json()) as { secrets: string[] }).secrets;
}

const base64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = (text: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));

/** The mock's SignalR keys of `name` for generations 0..3 (see signalrKeysFor in the mock). */
async function signalrKeys(name: string): Promise<string[]> {
  const keys: string[] = [];
  for (let generation = 0; generation <= 3; generation++) {
    keys.push(base64(await sha256(`signalr:${name}:${generation}`)));
    keys.push(base64(await sha256(`signalr:${name}:${generation}:secondary`)));
  }
  return keys;
}

/** The mock's Search query keys q1, q2 of `name` (see searchQueryKeyFor in the mock). */
async function searchKeys(name: string): Promise<string[]> {
  return Promise.all(
    ['q1', 'q2'].map(async (keyName) =>
      hex(await sha256(`search:${name}:${keyName}`))
        .toUpperCase()
        .slice(0, 52),
    ),
  );
}

/** No secret the mock has issued so far (nor any of `derived`) appears in `text`. */
async function expectNoSecret(text: string, derived: string[] = []): Promise<void> {
  const secrets = [...(await issuedSecrets()), ...derived];
  expect(secrets.length).toBeGreaterThan(0);
  const leaked = secrets.filter((secret) => secret.length >= 8 && text.includes(secret));
  expect(leaked).toEqual([]);
}

/** The path + query of a gateway URL handed out in a header or nextLink. */
function gatewayPath(link: string | null): string {
  expect(link).toBeTruthy();
  const url = new URL(link ?? '');
  expect(url.origin).toBe(ORIGIN);
  expect(url.pathname.startsWith('/arm/')).toBe(true);
  return `${url.pathname}${url.search}`;
}

const bindingOf = (path: string): string => new URL(path, ORIGIN).searchParams.get(PARAM) ?? '';

/** `path` without its continuation parameter (every other parameter kept). */
function unbound(path: string): string {
  const url = new URL(path, ORIGIN);
  url.searchParams.delete(PARAM);
  return `${url.pathname}${url.search}`;
}

const withParam = (path: string, value: string) => `${path}${path.includes('?') ? '&' : '?'}${PARAM}=${value}`;

/** Flip one character of the MAC (the part after the dot) to another base64url character. */
function tampered(binding: string): string {
  const dot = binding.indexOf('.');
  expect(dot).toBeGreaterThan(0);
  const at = dot + 1;
  const c = binding.charAt(at);
  return `${binding.slice(0, at)}${c === 'A' ? 'B' : 'A'}${binding.slice(at + 1)}`;
}

async function problemOf(response: Response): Promise<Record<string, unknown> & { code: string }> {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as Record<string, unknown> & { code: string };
}

/** A case-insensitive member lookup (how ARM binds names). */
function memberOf(object: unknown, name: string): unknown {
  if (!object || typeof object !== 'object') return undefined;
  return Object.entries(object).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}

/**
 * A Search listQueryKeys page's `value`: either each `key` masked (`$.value[*].key`), or — because
 * the starter rule also masks members named `value` (for `{name, value}` lists) and a matched
 * value is masked whole — the whole ARM list envelope `"***"`. Either way no key is shown.
 */
function expectMaskedPage(value: unknown, keyName: string): void {
  if (typeof value === 'string') {
    expect(value).toBe('***');
    return;
  }
  expect(value).toEqual([{ name: keyName, key: expect.stringMatching(/\*\*\*/) }]);
}

/** An LRO started by a writer's SignalR regenerateKey: its rewritten, bound links. */
async function startRegenerate(name: string) {
  const token = await writer();
  const response = await gateway(
    `${RG}/providers/Microsoft.SignalRService/SignalR/${name}/regenerateKey?api-version=2023-02-01`,
    {
      method: 'POST',
      token,
      body: JSON.stringify({ type: 'Primary' }),
      headers: { 'content-type': 'application/json' },
    },
  );
  const text = await response.text();
  return {
    response,
    text,
    token,
    location: response.headers.get('location'),
    asyncOperation: response.headers.get('azure-asyncoperation'),
  };
}

describe('follow-ups inherit the obligations of the call that started them', () => {
  it('a. regenerateKey: 202 without a body, links rewritten to the gateway and bound, audited as completed', async () => {
    const name = 'sigfollow-a';
    const started = await startRegenerate(name);
    expect(started.response.status).toBe(202);
    expect(started.text).toBe('');
    for (const link of [started.location, started.asyncOperation]) {
      const path = gatewayPath(link);
      expect(path).toContain(`/arm/subscriptions/${SUB}/providers/Microsoft.SignalRService/locations/westeurope/`);
      expect(bindingOf(path)).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    }
    expect(gatewayPath(started.location)).toContain('/operationResults/');
    expect(gatewayPath(started.asyncOperation)).toContain('/operationStatuses/');
    // No header carries the upstream's own address.
    for (const value of started.response.headers.values()) expect(value).not.toContain(env.UPSTREAM_ARM);
    await expectNoSecret(started.text + [...started.response.headers.values()].join('\n'), await signalrKeys(name));

    const id = requestIdOf(started.response);
    expect(await receivedFor(id)).toHaveLength(1);
    const row = await auditRow(id);
    expect(row).toMatchObject({
      decision: 'allow',
      outcome: 'completed',
      status: 202,
      operation: 'Microsoft.SignalRService/SignalR/regenerateKey/action',
    });
    expect(JSON.parse(String(row?.rule_ids))).toContain('list-keys-masked');
  });

  it('b. the writer follows the bound Location: 200, keys masked, the binding never reaches the upstream', async () => {
    const name = 'sigfollow-b';
    const started = await startRegenerate(name);
    expect(started.response.status).toBe(202);
    const response = await gateway(gatewayPath(started.location), { token: started.token });
    const text = await response.text();
    expect(response.status).toBe(200);
    const body = JSON.parse(text) as Record<string, string>;
    for (const key of ['primaryKey', 'secondaryKey', 'primaryConnectionString', 'secondaryConnectionString']) {
      expect(body[key]).toBeDefined();
      expect(body[key]).toMatch(/^\*+$|\*\*\*/);
    }
    await expectNoSecret(text, await signalrKeys(name));

    const id = requestIdOf(response);
    const reached = await receivedFor(id);
    expect(reached).toHaveLength(1);
    expect(reached[0]?.method).toBe('GET');
    expect(reached[0]?.path).toMatch(/\/operationResults\/[^/]+$/);
    expect(reached[0]?.search).not.toContain(PARAM);
    expect(reached[0]?.search).toContain('operationKind=regenerateKey');
    const row = await auditRow(id);
    expect(row).toMatchObject({ decision: 'allow', outcome: 'completed', status: 200 });
    expect(Number(row?.masked_count)).toBeGreaterThanOrEqual(4);
    expect(String(row?.request_facts)).toContain('regenerateKey');
  });

  it('c. a reader following the writer’s bound Location is refused with 403; nothing reaches the upstream', async () => {
    const name = 'sigfollow-c';
    const started = await startRegenerate(name);
    expect(started.response.status).toBe(202);
    const response = await gateway(gatewayPath(started.location), { token: await reader() });
    const text = await response.text();
    expect(response.status).toBe(403);
    expect((JSON.parse(text) as { code: string }).code).toBe('EDGEWARD_POLICY_DENIED');
    await expectNoSecret(text, await signalrKeys(name));
    const id = requestIdOf(response);
    expect(await receivedFor(id)).toEqual([]);
    // Its decision is checked in 'audit rows of refusals after authentication' below.
    expect(await auditRow(id)).toMatchObject({ status: 403, outcome: 'refused', subject_upn: 'bob@contoso.com' });
  });

  it('c. the same human through another app cannot follow the link either (403, nothing sent)', async () => {
    const name = 'sigfollow-c2';
    const started = await startRegenerate(name);
    expect(started.response.status).toBe(202);
    const viaAgent = await mintToken({ user: 'alice@contoso.com', groups: ['writers'], app: 'agent' });
    const response = await gateway(gatewayPath(started.location), { token: viaAgent });
    const text = await response.text();
    expect(response.status).toBe(403);
    await expectNoSecret(text, await signalrKeys(name));
    expect(await receivedFor(requestIdOf(response))).toEqual([]);
  });

  it('d. a reader polling the operation result without the binding gets no secret (connection default mask)', async () => {
    const name = 'sigfollow-d';
    const started = await startRegenerate(name);
    expect(started.response.status).toBe(202);
    const response = await gateway(unbound(gatewayPath(started.location)), { token: await reader() });
    const text = await response.text();
    const id = requestIdOf(response);
    const row = await auditRow(id);
    if (response.status === 200) {
      expect(row).toMatchObject({ decision: 'allow', outcome: 'completed' });
      expect(await receivedFor(id)).toHaveLength(1);
    } else {
      expect(await receivedFor(id)).toEqual([]);
    }
    await expectNoSecret(text, await signalrKeys(name));
  });

  it('e. a tampered binding is refused with 400; nothing reaches the upstream', async () => {
    const name = 'sigfollow-e';
    const started = await startRegenerate(name);
    const path = gatewayPath(started.location);
    const forged = withParam(unbound(path), tampered(bindingOf(path)));
    const response = await gateway(forged, { token: started.token });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect((JSON.parse(text) as { code: string }).code).toBe('EDGEWARD_BAD_REQUEST');
    await expectNoSecret(text, await signalrKeys(name));
    const id = requestIdOf(response);
    expect(await receivedFor(id)).toEqual([]);
    expect(await auditRow(id)).toMatchObject({ status: 400 });
  });

  it('e. the binding sent twice (one valid, one forged) is refused with 400', async () => {
    const name = 'sigfollow-e2';
    const started = await startRegenerate(name);
    const path = gatewayPath(started.location);
    const response = await gateway(withParam(path, tampered(bindingOf(path))), { token: started.token });
    expect(response.status).toBe(400);
    expect(await receivedFor(requestIdOf(response))).toEqual([]);
  });

  it('f. a valid binding moved onto another URL is refused with 400', async () => {
    const name = 'sigfollow-f';
    const started = await startRegenerate(name);
    const binding = bindingOf(gatewayPath(started.location));
    const targets = [
      unbound(gatewayPath(started.asyncOperation)), // the operationStatuses URL of the same operation
      `${RG}?api-version=2021-04-01`, // a resource group GET
      `${unbound(gatewayPath(started.location))}&operationKind=other`, // the same path, another query
      `/arm/subscriptions/${SUB}/resourceGroups/demo-rg/providers/Microsoft.SignalRService/SignalR/${name}/listKeys?api-version=2023-02-01`,
    ];
    for (const target of targets) {
      const method = target.includes('/listKeys') ? 'POST' : 'GET';
      const response = await gateway(withParam(target, binding), { token: started.token, method });
      const text = await response.text();
      expect(response.status, target).toBe(400);
      await expectNoSecret(text, await signalrKeys(name));
      expect(await receivedFor(requestIdOf(response)), target).toEqual([]);
    }
  });

  it('g. Search paging: the nextLink is bound, the writer’s next page is masked, a reader is refused', async () => {
    const name = 'srchfollow';
    const token = await writer();
    const first = await gateway(
      `${RG}/providers/Microsoft.Search/searchServices/${name}/listQueryKeys?api-version=2023-11-01`,
      { method: 'POST', token },
    );
    const firstText = await first.text();
    expect(first.status).toBe(200);
    const page = JSON.parse(firstText) as { value: unknown; nextLink?: string };
    expectMaskedPage(page.value, 'q1');
    const next = gatewayPath(page.nextLink ?? null);
    expect(next).toContain(`/searchServices/${name}/listQueryKeys?`);
    expect(bindingOf(next)).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const derived = await searchKeys(name);
    await expectNoSecret(firstText, derived);
    expect(await auditRow(requestIdOf(first))).toMatchObject({ decision: 'allow', outcome: 'completed', status: 200 });

    const second = await gateway(next, { token });
    const secondText = await second.text();
    expect(second.status).toBe(200);
    expectMaskedPage((JSON.parse(secondText) as { value: unknown }).value, 'q2');
    await expectNoSecret(secondText, derived);
    const secondId = requestIdOf(second);
    const reached = await receivedFor(secondId);
    expect(reached).toHaveLength(1);
    expect(reached[0]?.search).toContain('$skip=1');
    expect(reached[0]?.search).not.toContain(PARAM);
    const row = await auditRow(secondId);
    expect(row).toMatchObject({ decision: 'allow', outcome: 'completed', status: 200 });
    expect(Number(row?.masked_count)).toBeGreaterThanOrEqual(1);

    const stolen = await gateway(next, { token: await reader() });
    const stolenText = await stolen.text();
    expect(stolen.status).toBe(403);
    await expectNoSecret(stolenText, derived);
    expect(await receivedFor(requestIdOf(stolen))).toEqual([]);
  });

  it('g. a reader dropping the binding from the nextLink is judged as the listQueryKeys action: 403', async () => {
    const name = 'srchfollow-unbound';
    const first = await gateway(
      `${RG}/providers/Microsoft.Search/searchServices/${name}/listQueryKeys?api-version=2023-11-01`,
      { method: 'POST', token: await writer() },
    );
    const next = gatewayPath(((await first.json()) as { nextLink?: string }).nextLink ?? null);
    const response = await gateway(unbound(next), { token: await reader() });
    const text = await response.text();
    expect(response.status).toBe(403);
    await expectNoSecret(text, await searchKeys(name));
    expect(await receivedFor(requestIdOf(response))).toEqual([]);
  });

  /** An ARM batch carrying the writer's bound Location, and the same URL without its binding. */
  async function batchOfBoundLink(name: string) {
    const started = await startRegenerate(name);
    expect(started.response.status).toBe(202);
    const bound = gatewayPath(started.location).replace(/^\/arm/, '');
    const send = async (token: string) => {
      const response = await gateway('/arm/batch?api-version=2020-06-01', {
        method: 'POST',
        token,
        body: JSON.stringify({
          requests: [
            { name: 'bound', httpMethod: 'GET', url: bound },
            { name: 'unbound', httpMethod: 'GET', url: unbound(bound) },
          ],
        }),
        headers: { 'content-type': 'application/json' },
      });
      const text = await response.text();
      return { response, text, reached: await receivedFor(requestIdOf(response)) };
    };
    return { started, send };
  }

  it('i. a bound link embedded in an ARM batch (writer or reader): no secret reaches the client', async () => {
    const name = 'sigfollow-batch';
    const { started, send } = await batchOfBoundLink(name);
    for (const token of [started.token, await reader()]) {
      const { response, text } = await send(token);
      // Judged per embedded request (both are */read); refused or masked, never a key.
      if (response.status === 200) expect(text).toContain('"primaryKey":"***"');
      await expectNoSecret(text, await signalrKeys(name));
    }
  });

  // A bound link is followed directly, where its binding is verified: inside a batch nobody would
  // check it (nor strip it before the upstream), so the batch is refused whole.
  it('i. a bound link embedded in an ARM batch refuses the batch; the binding never reaches the upstream', async () => {
    const { started, send } = await batchOfBoundLink('sigfollow-batch2');
    for (const token of [started.token, await reader()]) {
      const { response, reached } = await send(token);
      expect(response.status).toBe(403);
      expect(reached).toEqual([]);
    }
  });

  it('i. resource group paging: a nextLink bound to a reader is refused to the writer (403)', async () => {
    const created = await gateway(`/arm/subscriptions/${SUB}/resourceGroups/hostile-paging?api-version=2021-04-01`, {
      method: 'PUT',
      token: await writer(),
      body: JSON.stringify({ location: 'westeurope' }),
      headers: { 'content-type': 'application/json' },
    });
    expect([200, 201]).toContain(created.status);
    const token = await reader();
    const first = await gateway(`/arm/subscriptions/${SUB}/resourcegroups?api-version=2021-04-01&$top=1`, { token });
    expect(first.status).toBe(200);
    const page = (await first.json()) as { value: unknown[]; nextLink?: string };
    const next = gatewayPath(page.nextLink ?? null);
    expect(bindingOf(next)).not.toBe('');
    const own = await gateway(next, { token });
    expect(own.status).toBe(200);
    const other = await gateway(next, { token: await writer() });
    expect(other.status).toBe(403);
    expect(await receivedFor(requestIdOf(other))).toEqual([]);
  });

  it('h. a GET on storage listKeys is the listKeys action: readers refused, writers masked', async () => {
    const path = `${RG}/providers/Microsoft.Storage/storageAccounts/acctfollow/listKeys?api-version=2023-05-01`;
    const refused = await gateway(path, { token: await reader() });
    const refusedText = await refused.text();
    expect(refused.status).toBe(403);
    await expectNoSecret(refusedText);
    const refusedId = requestIdOf(refused);
    expect(await receivedFor(refusedId)).toEqual([]);
    expect(await auditRow(refusedId)).toMatchObject({
      decision: 'deny',
      operation: 'Microsoft.Storage/storageAccounts/listKeys/action',
    });

    const allowed = await gateway(path, { token: await writer() });
    const text = await allowed.text();
    expect(allowed.status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ keys: [{ value: '***' }, { value: '***' }] });
    await expectNoSecret(text);
    const id = requestIdOf(allowed);
    expect(await receivedFor(id)).toHaveLength(1);
    expect(await auditRow(id)).toMatchObject({
      decision: 'allow',
      outcome: 'completed',
      status: 200,
      operation: 'Microsoft.Storage/storageAccounts/listKeys/action',
      masked_count: 2,
    });
  });
});

describe('audit rows of refusals after authentication', () => {
  // Once signed in, a refusal before policy decides (continuation checks, judged bodies) is a deny.
  it('a reader refused for following another principal’s link is audited as deny', async () => {
    const started = await startRegenerate('sigfollow-audit1');
    const response = await gateway(gatewayPath(started.location), { token: await reader() });
    expect(response.status).toBe(403);
    const row = await auditRow(requestIdOf(response));
    expect(row).toMatchObject({ subject_upn: 'bob@contoso.com', status: 403, outcome: 'refused' });
    expect(row?.decision).toBe('deny');
  });

  it('a forged binding refused with 400 is not audited as unauthenticated', async () => {
    const started = await startRegenerate('sigfollow-audit2');
    const path = gatewayPath(started.location);
    const response = await gateway(withParam(unbound(path), tampered(bindingOf(path))), { token: started.token });
    expect(response.status).toBe(400);
    const row = await auditRow(requestIdOf(response));
    expect(row).toMatchObject({ subject_upn: 'alice@contoso.com', status: 400, outcome: 'refused' });
    expect(row?.decision).not.toBe('unauthenticated');
  });
});

describe('an unmaskable answer after the upstream executed says so', () => {
  it('2. storage listKeys answered in XML: 502 UNMASKABLE with upstreamExecuted, no key, audited as mask_error', async () => {
    const response = await gateway(
      `${RG}/providers/Microsoft.Storage/storageAccounts/acctxml/listKeys?api-version=2023-05-01`,
      { method: 'POST', token: await writer(), headers: { 'x-demo-response': 'xml' } },
    );
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = JSON.parse(text) as Record<string, unknown>;
    expect(problem).toMatchObject({
      code: 'EDGEWARD_UPSTREAM_UNMASKABLE',
      upstreamExecuted: true,
      upstreamStatus: 200,
    });
    expect(String(problem.detail)).toMatch(/executed/);
    expect(text).not.toContain('<key');
    await expectNoSecret(text);
    const id = requestIdOf(response);
    expect(await receivedFor(id)).toHaveLength(1);
    const row = await auditRow(id);
    expect(row).toMatchObject({ outcome: 'mask_error', status: 502 });
    expect(String(row?.detail)).toMatch(/executed/);
  });
});

describe('duplicate and case-variant JSON members', () => {
  const ACCOUNT = `${RG}/providers/Microsoft.Storage/storageAccounts/acctdup?api-version=2023-05-01`;
  const put = async (body: string) =>
    gateway(ACCOUNT, { method: 'PUT', token: await writer(), body, headers: { 'content-type': 'application/json' } });

  it.each([
    [
      'case-variant duplicate inside properties',
      '{"location":"westeurope","properties":{"publicNetworkAccess":"Disabled","PublicNetworkAccess":"Enabled"}}',
      '/properties/PublicNetworkAccess',
    ],
    [
      'case-variant duplicate of properties itself',
      '{"location":"westeurope","properties":{"publicNetworkAccess":"Disabled"},"Properties":{"publicNetworkAccess":"Enabled"}}',
      '/Properties',
    ],
    [
      'exact duplicate',
      '{"location":"westeurope","properties":{"publicNetworkAccess":"Disabled","publicNetworkAccess":"Enabled"}}',
      '/properties/publicNetworkAccess',
    ],
  ])('3. %s: 400 AMBIGUOUS_BODY with a pointer; nothing reaches the upstream', async (_, body, pointer) => {
    const response = await put(body);
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.code).toBe('EDGEWARD_AMBIGUOUS_BODY');
    expect(problem.pointer).toBe(pointer);
    const id = requestIdOf(response);
    expect(await receivedFor(id)).toEqual([]);
    const row = await auditRow(id);
    expect(row).toMatchObject({ decision: 'allow', status: 400 });
    expect(String(row?.detail)).toMatch(/body refused/);
  });

  it('3. control: case variants without a duplicate pass, and the rewrite lands as Azure binds it', async () => {
    const response = await put('{"location":"westeurope","Properties":{"PublicNetworkAccess":"Enabled"}}');
    expect(response.status).toBe(200);
    const echoed = await response.json();
    expect(memberOf(memberOf(echoed, 'properties'), 'publicNetworkAccess')).toBe('Disabled');
    const id = requestIdOf(response);
    const reached = await receivedFor(id);
    expect(reached).toHaveLength(1);
    expect(reached[0]?.body).not.toContain('Enabled');
    const row = await auditRow(id);
    expect(row).toMatchObject({ decision: 'allow', outcome: 'completed', status: 200 });
    expect(JSON.parse(String(row?.rule_ids))).toEqual(['public-network-access-forced-off']);
  });
});

describe('Unicode in ARM keyword positions', () => {
  const ASSIGNMENT = 'roleAssignments/x?api-version=2022-04-01';
  it.each([
    ['dotless ı in providers', `${RG}/prov%C4%B1ders/Microsoft.Authorization/${ASSIGNMENT}`],
    ['long s in Microsoft', `${RG}/providers/Micro%C5%BFoft.Authorization/${ASSIGNMENT}`],
  ])('4. %s: 400, nothing reaches the upstream', async (_, path) => {
    const response = await gateway(path, {
      method: 'PUT',
      token: await writer(),
      body: JSON.stringify({ properties: { roleDefinitionId: 'owner', principalId: 'p' } }),
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    });
    expect(response.status).toBe(400);
    expect((await problemOf(response)).code).toBe('EDGEWARD_BAD_REQUEST');
    const id = requestIdOf(response);
    expect(await receivedFor(id)).toEqual([]);
    expect(await auditRow(id)).toMatchObject({ status: 400 });
  });

  it('4. control: a resource group name with é is judged and forwarded for a read', async () => {
    const response = await gateway(`/arm/subscriptions/${SUB}/resourceGroups/caf%C3%A9-rg?api-version=2021-04-01`, {
      token: await reader(),
    });
    expect([200, 404]).toContain(response.status);
    const id = requestIdOf(response);
    const reached = await receivedFor(id);
    expect(reached).toHaveLength(1);
    expect(decodeURIComponent(reached[0]?.path ?? '')).toContain('café-rg');
    expect(await auditRow(id)).toMatchObject({ decision: 'allow', outcome: 'completed' });
  });
});

describe('template deployments', () => {
  const DEPLOYMENT = `${RG}/providers/Microsoft.Resources/deployments/dep-hostile?api-version=2022-09-01`;
  const template = {
    properties: {
      mode: 'Incremental',
      template: {
        resources: [
          { type: 'Microsoft.Storage/storageAccounts', name: 'evil1', apiVersion: '2023-01-01' },
          { type: 'Microsoft.Authorization/roleAssignments', name: "[guid('x')]" },
        ],
      },
    },
  };

  it('5. a deployment needs approval; the audit row lists what its template creates; nothing is sent', async () => {
    const response = await gateway(DEPLOYMENT, {
      method: 'PUT',
      token: await writer(),
      body: JSON.stringify(template),
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    });
    const text = await response.text();
    expect(response.status).toBe(202);
    expect(JSON.parse(text)).toMatchObject({ code: 'EDGEWARD_APPROVAL_PENDING' });
    const id = requestIdOf(response);
    expect(await receivedFor(id)).toEqual([]);
    const row = await auditRow(id);
    expect(row).toMatchObject({ decision: 'require_approval', operation: 'Microsoft.Resources/deployments/write' });
    expect(JSON.parse(String(row?.rule_ids))).toContain('template-deployments-need-approval');
    const facts = String(row?.request_facts);
    for (const fragment of ['Microsoft.Storage/storageAccounts', 'evil1', 'Microsoft.Authorization/roleAssignments']) {
      expect(facts).toContain(fragment);
    }
    expect(JSON.parse(facts)).toMatchObject({
      template: {
        resources: [
          { type: 'Microsoft.Storage/storageAccounts', name: 'evil1' },
          { type: 'Microsoft.Authorization/roleAssignments', name: "[guid('x')]" },
        ],
      },
    });
  });

  it.each([
    [
      'duplicate resources',
      '{"properties":{"mode":"Incremental","template":{"resources":[{"type":"Microsoft.Storage/storageAccounts","name":"ok"}],"resources":[{"type":"Microsoft.Authorization/roleAssignments","name":"[guid(\'x\')]"}]}}}',
    ],
    [
      'case-variant duplicate Resources',
      '{"properties":{"mode":"Incremental","template":{"resources":[{"type":"Microsoft.Storage/storageAccounts","name":"ok"}],"Resources":[{"type":"Microsoft.Authorization/roleAssignments","name":"[guid(\'x\')]"}]}}}',
    ],
  ])('5. %s: 400 AMBIGUOUS_BODY, nothing sent', async (_, body) => {
    const response = await gateway(DEPLOYMENT, {
      method: 'PUT',
      token: await writer(),
      body,
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    });
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.code).toBe('EDGEWARD_AMBIGUOUS_BODY');
    expect(String(problem.pointer)).toContain('template');
    const id = requestIdOf(response);
    expect(await receivedFor(id)).toEqual([]);
    expect(await auditRow(id)).toMatchObject({ status: 400 });
  });
});

describe('follow-up links inside a batch response', () => {
  it('an LRO started inside a batch hands back a bound gateway link: the reader is refused, the writer sees it masked', async () => {
    const name = 'sigfollow-inbatch';
    const token = await writer();
    const response = await gateway('/arm/batch?api-version=2020-06-01', {
      method: 'POST',
      token,
      body: JSON.stringify({
        requests: [
          {
            name: 'rotate',
            httpMethod: 'POST',
            url: `${RG.replace(/^\/arm/, '')}/providers/Microsoft.SignalRService/SignalR/${name}/regenerateKey?api-version=2023-02-01`,
          },
        ],
      }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    // No link in the batch answer points past the gateway.
    expect(text).not.toContain(env.UPSTREAM_ARM);
    const entry = (JSON.parse(text) as { responses: { headers: Record<string, string> }[] }).responses[0];
    const location = gatewayPath(String(memberOf(entry?.headers, 'location')));
    expect(bindingOf(location)).not.toBe('');
    expect(gatewayPath(String(memberOf(entry?.headers, 'azure-asyncoperation')))).toContain(PARAM);

    const other = await gateway(location, { token: await reader() });
    expect(other.status).toBe(403);
    expect(await receivedFor(requestIdOf(other))).toEqual([]);

    const own = await gateway(location, { token });
    expect(own.status).toBe(200);
    const result = await own.text();
    expect(result).toContain('"primaryKey":"***"');
    await expectNoSecret(result, await signalrKeys(name));
  });

  it('refuses embedded URLs whose dots are encoded or that hold control characters the URL parser would strip', async () => {
    const token = await writer();
    const sub = `/subscriptions/${SUB}`;
    for (const url of [
      `${sub}/resourceGroups/x/%2e%2e/%2e%2e/resourceGroups/demo-rg?api-version=2021-04-01`,
      `${sub}/resourceGroups/demo\t-rg?api-version=2021-04-01`,
      `${sub}/resourceGroups/demo\n-rg?api-version=2021-04-01`,
    ]) {
      const response = await gateway('/arm/batch?api-version=2020-06-01', {
        method: 'POST',
        token,
        body: JSON.stringify({ requests: [{ name: 'a', httpMethod: 'DELETE', url }] }),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status, JSON.stringify(url)).toBe(400);
      expect(await receivedFor(requestIdOf(response))).toEqual([]);
    }
  });
});
