/**
 * Hostile requests that carry or disguise other requests (issue "Judge what Azure will execute"):
 * method overrides, methods ARM does not define, collections deleted as a whole, and ARM `/batch`
 * bodies — each against the mock ARM that executes what it is given (overrides, batches), so
 * every test proves what did or did not reach the upstream and what the audit rows say.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { auditRow, gateway, mintToken, SUB } from './helpers.ts';

const API = 'api-version=2021-04-01';
const RG_PATH = `/subscriptions/${SUB}/resourceGroups`;
const writer = () => mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
const reader = () => mintToken({ user: 'alice@contoso.com', groups: ['readers'] });

async function received(query: string): Promise<{ method: string; path: string; executedMethod?: string }[]> {
  const response = await fetch(`${env.UPSTREAM_ARM}/_received?${query}`);
  return ((await response.json()) as { requests: { method: string; path: string }[] }).requests;
}
const reachedUpstream = async (response: Response) =>
  (await received(`clientRequestId=${response.headers.get('x-edgeward-request-id')}`)).length;

async function createGroup(name: string): Promise<void> {
  const response = await gateway(`/arm${RG_PATH}/${name}?${API}`, {
    method: 'PUT',
    token: await writer(),
    body: JSON.stringify({ location: 'westeurope' }),
    headers: { 'content-type': 'application/json' },
  });
  expect(response.status).toBeLessThan(300);
}
const groupExists = async (name: string) =>
  (await gateway(`/arm${RG_PATH}/${name}?${API}`, { token: await reader() })).status === 200;

async function childRows(parent: string): Promise<Record<string, unknown>[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { results } = await env.AUDIT_DB.prepare(
      "SELECT * FROM audit_events WHERE parent_request_id = ? AND phase = 'final' ORDER BY request_id",
    )
      .bind(parent)
      .all<Record<string, unknown>>();
    if (results.length) return results;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return [];
}

const batch = (requests: unknown[], token: string, headers: Record<string, string> = {}) =>
  gateway('/arm/batch?api-version=2020-06-01', {
    method: 'POST',
    token,
    body: JSON.stringify({ requests }),
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('no request is a read unless it is a GET or HEAD', () => {
  it('refuses every method-override spelling before anything reaches the upstream (a GET that would DELETE)', async () => {
    await createGroup('override-target');
    const token = await reader();
    for (const [header, value] of [
      ['x-http-method-override', 'DELETE'],
      ['X-HTTP-Method', 'DELETE'],
      ['x-method-override', 'DELETE'],
    ] as const) {
      const response = await gateway(`/arm${RG_PATH}/override-target?${API}`, { token, headers: { [header]: value } });
      expect(response.status, header).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_METHOD_OVERRIDE_REFUSED');
      expect(await reachedUpstream(response)).toBe(0);
      const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
      expect(row).toMatchObject({ status: 400, outcome: 'refused' });
      expect(String(row?.detail)).toContain('EDGEWARD_METHOD_OVERRIDE_REFUSED');
    }
    for (const query of [
      '_method=DELETE',
      'X-HTTP-Method=DELETE',
      '%5Fmethod=DELETE',
      'x-http-method-override=DELETE',
    ]) {
      const response = await gateway(`/arm${RG_PATH}/override-target?${API}&${query}`, { token });
      expect(response.status, query).toBe(400);
      expect(await reachedUpstream(response)).toBe(0);
    }
    // A writer's PUT overridden to DELETE (which policy holds for approval) is refused too.
    const put = await gateway(`/arm${RG_PATH}/override-target?${API}`, {
      method: 'PUT',
      token: await writer(),
      body: '{"location":"westeurope"}',
      headers: { 'content-type': 'application/json', 'x-http-method-override': 'DELETE' },
    });
    expect(put.status).toBe(400);
    expect(await groupExists('override-target')).toBe(true);
  });

  it('refuses a method ARM does not define with 405 and Allow, and audits it', async () => {
    const response = await gateway(`/arm${RG_PATH}/demo-rg?${API}`, { method: 'MERGE', token: await writer() });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, PUT, PATCH, DELETE, POST');
    expect(await reachedUpstream(response)).toBe(0);
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ method: 'MERGE', status: 405, outcome: 'refused' });
  });

  it('a DELETE of a whole collection is a delete, not a read', async () => {
    const response = await gateway(`/arm${RG_PATH}?${API}`, { method: 'DELETE', token: await reader() });
    expect(response.status).toBe(403);
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({
      operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete',
      decision: 'deny',
    });
    expect(await reachedUpstream(response)).toBe(0);
  });
});

describe('ARM /batch: each embedded request is judged as if sent alone', () => {
  it("a reader's batch that deletes a resource group is refused whole, naming the embedded request; nothing executes", async () => {
    await createGroup('batch-victim');
    const response = await batch(
      [
        { name: 'look', httpMethod: 'GET', url: `${RG_PATH}?${API}` },
        { name: 'kill', httpMethod: 'DELETE', url: `${RG_PATH}/batch-victim?${API}` },
      ],
      await reader(),
    );
    expect(response.status).toBe(403);
    const problem = (await response.json()) as { code: string; embeddedRequest: string; detail: string };
    expect(problem.code).toBe('EDGEWARD_BATCH_REFUSED');
    expect(problem.embeddedRequest).toBe('kill');
    expect(await reachedUpstream(response)).toBe(0);
    expect(await groupExists('batch-victim')).toBe(true);
    const id = response.headers.get('x-edgeward-request-id') ?? '';
    expect(await auditRow(id)).toMatchObject({
      decision: 'deny',
      status: 403,
      operation: 'Microsoft.Resources/batch/action',
    });
    const children = await childRows(id);
    expect(children.map((c) => [c.method, c.operation, c.decision])).toEqual([
      ['GET', 'Microsoft.Resources/subscriptions/resourceGroups/read', 'allow'],
      ['DELETE', 'Microsoft.Resources/subscriptions/resourceGroups/delete', 'deny'],
    ]);
  });

  it('an embedded member spelled in another case is read as Azure reads it (HttpMethod, URL)', async () => {
    await createGroup('batch-case');
    const response = await batch(
      [{ Name: 'kill', HttpMethod: 'DELETE', URL: `${RG_PATH}/batch-case?${API}` }],
      await reader(),
    );
    expect(response.status).toBe(403);
    expect(await groupExists('batch-case')).toBe(true);
  });

  it('refuses ambiguous and unjudgeable batches with 400 and forwards nothing', async () => {
    const token = await reader();
    const get = { httpMethod: 'GET', url: `${RG_PATH}?${API}` };
    const cases: [string, string][] = [
      [
        'duplicate member',
        `{"requests":[{"name":"a","httpMethod":"GET","HttpMethod":"DELETE","url":"${RG_PATH}/demo-rg?${API}"}]}`,
      ],
      [
        'nested batch',
        JSON.stringify({ requests: [{ name: 'a', httpMethod: 'POST', url: '/batch?api-version=2020-06-01' }] }),
      ],
      [
        'foreign host',
        JSON.stringify({ requests: [{ name: 'a', httpMethod: 'GET', url: `https://evil.example${RG_PATH}` }] }),
      ],
      [
        'dot segments',
        JSON.stringify({ requests: [{ name: 'a', httpMethod: 'GET', url: `${RG_PATH}/x/../../batch` }] }),
      ],
      ['21 requests', JSON.stringify({ requests: Array.from({ length: 21 }, (_, i) => ({ name: `r${i}`, ...get })) })],
      [
        'repeated name',
        JSON.stringify({
          requests: [
            { name: 'a', ...get },
            { name: 'a', ...get },
          ],
        }),
      ],
      ['unknown member', JSON.stringify({ requests: [{ name: 'a', ...get, contentLink: 'https://x' }] })],
      ['not JSON', '{"requests":['],
    ];
    for (const [label, body] of cases) {
      const response = await gateway('/arm/batch?api-version=2020-06-01', {
        method: 'POST',
        token,
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status, label).toBe(400);
      expect(await reachedUpstream(response), label).toBe(0);
    }
  });

  it('an embedded method override or undefined method refuses the batch', async () => {
    const token = await writer();
    const override = await batch(
      [
        {
          name: 'a',
          httpMethod: 'GET',
          url: `${RG_PATH}/demo-rg?${API}`,
          requestHeaderDetails: { 'X-HTTP-Method-Override': 'DELETE' },
        },
      ],
      token,
    );
    expect(override.status).toBe(403);
    expect(((await override.json()) as { detail: string }).detail).toMatch(/method override/);
    const merge = await batch([{ name: 'a', httpMethod: 'MERGE', url: `${RG_PATH}/demo-rg?${API}` }], token);
    expect(merge.status).toBe(403);
    expect(await reachedUpstream(merge)).toBe(0);
  });

  it("an app-only agent's batch that writes is denied by the rule that stops agents without a human", async () => {
    const agent = await mintToken({ app: 'agent', appOnly: true });
    const response = await batch(
      [{ name: 'w', httpMethod: 'PUT', url: `${RG_PATH}/agent-batch?${API}`, content: { location: 'westeurope' } }],
      agent,
    );
    expect(response.status).toBe(403);
    expect(await reachedUpstream(response)).toBe(0);
  });

  it("a writer's batch holding a delete waits for one approval of the whole batch", async () => {
    await createGroup('batch-held');
    const response = await batch(
      [
        { name: 'make', httpMethod: 'PUT', url: `${RG_PATH}/batch-held-2?${API}`, content: { location: 'westeurope' } },
        { name: 'kill', httpMethod: 'DELETE', url: `${RG_PATH}/batch-held?${API}` },
      ],
      await writer(),
      { prefer: 'respond-async' },
    );
    expect(response.status).toBe(202);
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_APPROVAL_PENDING');
    expect(await reachedUpstream(response)).toBe(0);
    expect(await groupExists('batch-held')).toBe(true);
  });

  it('an allowed batch executes; each entry is masked as its own request would be, and child rows carry statuses', async () => {
    const response = await batch(
      [
        { name: 'groups', httpMethod: 'GET', url: `${RG_PATH}?${API}` },
        {
          name: 'keys',
          httpMethod: 'POST',
          url: `https://management.azure.com${RG_PATH}/demo-rg/providers/Microsoft.Storage/storageAccounts/acct/listKeys?api-version=2023-05-01`,
        },
      ],
      await writer(),
    );
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as { responses: { name: string; httpStatusCode: number; content: unknown }[] };
    // The mock answers in reverse order: entries are matched by name.
    expect(body.responses.map((r) => r.name)).toEqual(['keys', 'groups']);
    const secrets = ((await (await fetch(`${env.UPSTREAM_ARM}/_secrets`)).json()) as { secrets: string[] }).secrets;
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text).not.toContain(secret);
    const keys = body.responses.find((r) => r.name === 'keys')?.content as { keys: { value: string }[] };
    expect(keys.keys.every((k) => !secrets.includes(k.value))).toBe(true);
    const id = response.headers.get('x-edgeward-request-id') ?? '';
    const parent = await auditRow(id);
    expect(parent).toMatchObject({ decision: 'allow', status: 200, outcome: 'completed' });
    expect(Number(parent?.masked_count)).toBeGreaterThan(0);
    const children = await childRows(id);
    expect(children.map((c) => [c.request_id, c.operation, c.status, c.outcome])).toEqual([
      [`${id}.1`, 'Microsoft.Resources/subscriptions/resourceGroups/read', 200, 'completed'],
      [`${id}.2`, 'Microsoft.Storage/storageAccounts/listKeys/action', 200, 'completed'],
    ]);
    expect(children.every((c) => c.subject_oid === parent?.subject_oid)).toBe(true);
  });
});

describe('Microsoft Graph $batch: judged per embedded request too', () => {
  const graphBatch = (version: string, requests: unknown[], token: string) =>
    gateway(`/graph/${version}/$batch`, {
      method: 'POST',
      token,
      body: JSON.stringify({ requests }),
      headers: { 'content-type': 'application/json' },
    });
  const graphReceived = async (response: Response) => {
    const id = response.headers.get('x-edgeward-request-id');
    const answer = await fetch(`${env.UPSTREAM_GRAPH}/_received?clientRequestId=${id}`);
    return ((await answer.json()) as { requests: unknown[] }).requests.length;
  };

  it("a reader's $batch that deletes a user is refused whole; an agent without a human cannot write through it", async () => {
    for (const version of ['v1.0', 'beta']) {
      const response = await graphBatch(
        version,
        [
          { id: '1', method: 'GET', url: '/me' },
          { id: '2', method: 'DELETE', url: 'users/6e7b768e-07e2-4810-8459-485f84f8f204' },
        ],
        await reader(),
      );
      expect(response.status, version).toBe(403);
      expect(((await response.json()) as { embeddedRequest: string }).embeddedRequest).toBe('2');
      expect(await graphReceived(response)).toBe(0);
    }
    const agent = await mintToken({ app: 'agent', appOnly: true });
    const response = await graphBatch('v1.0', [{ id: '1', method: 'GET', url: '/users' }], agent);
    expect(response.status).toBe(403);
  });

  it("a writer's $batch that creates an app password gets it masked inside the entry", async () => {
    const response = await graphBatch(
      'v1.0',
      [{ id: 'pw', method: 'POST', url: '/applications/app-1/addPassword', body: { passwordCredential: {} } }],
      await writer(),
    );
    expect(response.status).toBe(200);
    const text = await response.text();
    const secrets = ((await (await fetch(`${env.UPSTREAM_GRAPH}/_secrets`)).json()) as { secrets: string[] }).secrets;
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).toContain('"secretText":"***"');
  });

  it("a reader's read-only $batch executes, and a secret in any entry is masked by the connection's default mask", async () => {
    const response = await graphBatch('v1.0', [{ id: 'u', method: 'GET', url: '/users' }], await reader());
    expect(response.status).toBe(200);
    const body = (await response.json()) as { responses: { id: string; status: number }[] };
    expect(body.responses).toEqual([expect.objectContaining({ id: 'u', status: 200 })]);
    const children = await childRows(response.headers.get('x-edgeward-request-id') ?? '');
    expect(children.map((c) => [c.method, c.path, c.status])).toEqual([['GET', '/v1.0/users', 200]]);
  });
});
