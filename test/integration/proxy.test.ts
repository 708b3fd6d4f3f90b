// The proxy stage inside workerd: upstream credentials (on-behalf-of against the local mock Entra
// token endpoint), Azure link rewriting, metadata endpoints, transport limits and Kubernetes
// streams — each checked with the audit row it leaves.
import { describe, expect, it } from 'vitest';
import { auditRow, auditRowNow, gateway, mintToken, SUB } from './helpers.ts';

const GATEWAY_APP = '22222222-2222-4222-8222-222222222222';
const ALICE_OID = 'bbbbbbbb-0000-4000-8000-00000000a11c';
const reader = () => mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
const writer = () => mintToken({ user: 'alice@contoso.com', groups: ['readers', 'writers'] });
const requestId = (response: Response) => response.headers.get('x-edgeward-request-id') ?? '';

describe('proxy: upstream credentials', () => {
  it('exchanges the caller token on behalf of the user: the upstream sees the human via the gateway app', async () => {
    const response = await gateway('/azure/subscriptions?api-version=2022-12-01', { token: await reader() });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('x-demo-caller')).toBe(
      `aud=https://management.azure.com oid=${ALICE_OID} appid=${GATEWAY_APP}`,
    );
    const row = await auditRow(requestId(response));
    expect(row).toMatchObject({
      connection: 'azure',
      status: 200,
      outcome: 'completed',
      subject_upn: 'alice@contoso.com',
    });
  });

  it('passes a Conditional Access claims challenge back as 401 with WWW-Authenticate', async () => {
    // Another user than above: exchanged tokens are cached per subject + scope.
    const token = await mintToken({ user: 'bob@contoso.com', groups: ['readers'], claims: { mock_ca: 'policy-1' } });
    const response = await gateway('/azure/subscriptions?api-version=2022-12-01', { token });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="insufficient_claims"');
    const claims = /claims="([^"]+)"/.exec(challenge)?.[1] ?? '';
    expect(JSON.parse(atob(claims))).toEqual({ access_token: { capolids: { essential: true, values: ['policy-1'] } } });
    const body = (await response.json()) as { code: string };
    expect(body.code).toBe('EDGEWARD_UPSTREAM_CLAIMS_CHALLENGE');
    const row = await auditRow(requestId(response));
    expect(row).toMatchObject({ status: 401, connection: 'azure' });
    expect(String(row?.detail)).toContain('50076');
  });

  it('never forwards the caller token, the subject-token header or internal headers on a non-passthrough connection', async () => {
    // An agent acting for a human: the agent's app-only token, the human's token beside it.
    const agent = await mintToken({ appOnly: true, app: 'agent' });
    const response = await gateway('/arm/_echo', {
      token: agent,
      headers: {
        'x-edgeward-subject-token': await reader(),
        'x-edgeward-internal': '1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        connection: 'keep-alive, x-hop',
        'x-hop': 'drop me',
      },
    });
    expect(response.status).toBe(200);
    const { headers } = (await response.json()) as { headers: Record<string, string> };
    expect(headers.authorization).toBeUndefined();
    expect(Object.keys(headers).filter((name) => name.startsWith('x-edgeward-'))).toEqual([]);
    expect(headers['x-hop']).toBeUndefined();
    expect(headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(headers['x-ms-client-request-id']).toBe(requestId(response));
    expect(headers['x-forwarded-proto']).toBe('https');
  });
});

describe('proxy: Azure-aware rewriting', () => {
  it('rewrites nextLink so the next page goes through the gateway, and records upstream ids', async () => {
    const writer = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const created = await gateway(`/arm/subscriptions/${SUB}/resourceGroups/paging-rg?api-version=2021-04-01`, {
      token: writer,
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ location: 'westeurope' }),
    });
    expect([200, 201]).toContain(created.status);
    const token = await reader();
    const first = await gateway(`/arm/subscriptions/${SUB}/resourcegroups?api-version=2021-04-01&$top=1`, { token });
    expect(first.status).toBe(200);
    const page = (await first.json()) as { value: unknown[]; nextLink: string };
    expect(page.value).toHaveLength(1);
    expect(page.nextLink.startsWith(`https://edgeward.test/arm/subscriptions/${SUB}/resourcegroups?`)).toBe(true);
    const second = await gateway(page.nextLink.slice('https://edgeward.test'.length), { token });
    expect(second.status).toBe(200);
    expect(((await second.json()) as { value: unknown[] }).value).toHaveLength(1);
    const row = await auditRow(requestId(second));
    expect(row).toMatchObject({ path: `/subscriptions/${SUB}/resourcegroups`, outcome: 'completed' });
    expect(String(row?.upstream_request_id)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the metadata endpoints document az cloud register reads, without a token', async () => {
    for (const path of [
      '/arm/metadata/endpoints?api-version=2015-01-01',
      '/arm//metadata/endpoints?api-version=2015-01-01',
    ]) {
      const response = await gateway(path);
      expect(response.status).toBe(200);
      const doc = (await response.json()) as {
        resourceManager: string;
        authentication: { audiences: string[]; loginEndpoint: string };
      };
      expect(doc.resourceManager).toBe('https://edgeward.test/arm/');
      expect(doc.authentication.audiences[0]).toBe('api://edgeward-dev');
      expect(doc.authentication.loginEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    }
    expect((await gateway('/k8s/metadata/endpoints')).status).toBe(401);
  });
});

describe('proxy: transport', () => {
  it('refuses a declared body over the limit with 413 before going upstream', async () => {
    const writer = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const response = await gateway(`/arm/subscriptions/${SUB}/resourceGroups/big?api-version=2021-04-01`, {
      token: writer,
      method: 'PUT',
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_BODY_TOO_LARGE');
    expect(await auditRow(requestId(response))).toMatchObject({ status: 413 });
  });

  it('refuses a streamed (chunked) body once it passes the limit', async () => {
    const writer = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 2 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const response = await gateway(`/arm/subscriptions/${SUB}/resourceGroups/streamed?api-version=2021-04-01`, {
      token: writer,
      method: 'PUT',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await auditRow(requestId(response))).toMatchObject({ status: 413 });
  });

  it('answers 504 when the upstream sends no response head in time', async () => {
    const response = await gateway('/arm/_slow?ms=5000', { token: await reader() });
    expect(response.status).toBe(504);
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_UPSTREAM_TIMEOUT');
    const row = await auditRow(requestId(response));
    expect(row).toMatchObject({ status: 504, outcome: 'upstream_error' });
    expect(String(row?.detail)).toContain('attempts: 2');
  });
});

describe('proxy: Kubernetes', () => {
  it('streams a watch (never-ending JSON events) through to the client', async () => {
    const response = await gateway('/k8s/api/v1/namespaces/default/pods?watch=1', { token: await reader() });
    expect(response.status).toBe(200);
    const reader_ = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text.split('\n').length < 3) {
      const { value, done } = await reader_.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const events = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; object: { metadata: { name: string } } });
    expect(events.slice(0, 2).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED web-0',
      'ADDED web-1',
    ]);
    await reader_.cancel();
    expect(await auditRow(requestId(response))).toMatchObject({ outcome: 'client_aborted', connection: 'k8s' });
  });

  it('relays a WebSocket session (exec) when policy allows, and records its counts', async () => {
    const response = await gateway('/k8s/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&stdout=true', {
      token: await writer(),
      headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'v5.channel.k8s.io' },
    });
    expect(response.status).toBe(101);
    expect(response.headers.get('sec-websocket-protocol')).toBe('v5.channel.k8s.io');
    const socket = response.webSocket as WebSocket;
    socket.binaryType = 'arraybuffer';
    socket.accept();
    const echoed = new Promise<Uint8Array>((resolve) =>
      socket.addEventListener('message', (event) => resolve(new Uint8Array(event.data as ArrayBuffer)), {
        once: true,
      }),
    );
    // Kubernetes channel framing: the first byte names the stream (0 stdin, 1 stdout).
    socket.send(new Uint8Array([0, ...new TextEncoder().encode('ls /')]));
    const stdout = await echoed;
    expect(stdout[0]).toBe(1);
    expect(new TextDecoder().decode(stdout.subarray(1))).toBe('echo:ls /');
    // Written ahead: while the session is open its row is already durable, as intent.
    expect(await auditRowNow(requestId(response))).toMatchObject({ phase: 'intent', outcome: 'pending' });
    const closed = new Promise((resolve) => socket.addEventListener('close', resolve, { once: true }));
    socket.close(1000, 'done');
    await closed;
    const row = await auditRow(requestId(response));
    expect(row).toMatchObject({
      status: 101,
      outcome: 'completed',
      connection: 'k8s',
      operation: 'k8s:create pods/exec',
      rule_ids: '["k8s-writers-may-exec"]',
    });
    expect(String(row?.detail)).toContain('messages in 1, out 1');
  });

  it('refuses a WebSocket exec to a reader: it opens with a GET, but it is create pods/exec', async () => {
    const response = await gateway('/k8s/api/v1/namespaces/default/pods/web-0/exec?command=sh', {
      token: await reader(),
      headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'v5.channel.k8s.io' },
    });
    expect(response.status).toBe(403);
    expect(response.webSocket).toBeFalsy();
    expect(await auditRow(requestId(response))).toMatchObject({
      status: 403,
      decision: 'deny',
      operation: 'k8s:create pods/exec',
    });
  });

  it('sees through a percent-encoded spelling: %65xec is exec, %73ecrets is secrets', async () => {
    const token = await reader();
    const exec = await gateway('/k8s/api/v1/namespaces/default/pods/web-0/%65xec?command=sh', {
      token,
      headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'v5.channel.k8s.io' },
    });
    expect(exec.status).toBe(403);
    expect(await auditRow(requestId(exec))).toMatchObject({ operation: 'k8s:create pods/exec', decision: 'deny' });
    const secret = await gateway('/k8s/api/v1/namespaces/default/%73ecrets/db-credentials', { token });
    expect(secret.status).toBe(200);
    expect(((await secret.json()) as { data: unknown }).data).toBe('***');
  });

  it('refuses a WebSocket upgrade where policy requires masking (frames cannot be masked)', async () => {
    // Secrets are masked by the starter policy; a watch over WebSocket would bypass the masker.
    const response = await gateway('/k8s/api/v1/namespaces/default/secrets?watch=1', {
      token: await reader(),
      headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'v4.channel.k8s.io' },
    });
    expect(response.status).toBe(502);
    expect(response.webSocket).toBeFalsy();
    expect(await auditRow(requestId(response))).toMatchObject({
      status: 502,
      outcome: 'mask_error',
      connection: 'k8s',
    });
  });

  it('refuses other protocol upgrades (SPDY) explicitly instead of forwarding them as plain requests', async () => {
    const response = await gateway('/k8s/api/v1/namespaces/default/pods/web-0/exec?command=sh', {
      token: await writer(),
      headers: { upgrade: 'SPDY/3.1', connection: 'Upgrade' },
    });
    expect(response.status).toBe(501);
    expect(((await response.json()) as { kind: string; message: string }).message).toContain('upgrades');
    expect(await auditRow(requestId(response))).toMatchObject({ status: 501, connection: 'k8s' });
  });

  it('masks Secret data and denies deletes with the policy message', async () => {
    const token = await reader();
    const secret = await gateway('/k8s/api/v1/namespaces/default/secrets/db-credentials', { token });
    expect(secret.status).toBe(200);
    expect(((await secret.json()) as { data: unknown }).data).toBe('***');
    const denied = await gateway('/k8s/api/v1/namespaces/default/pods/web-0', { token, method: 'DELETE' });
    expect(denied.status).toBe(403);
    // Kubernetes clients get a v1 Status, so kubectl prints the policy's message.
    const status = (await denied.json()) as { kind: string; reason: string; message: string };
    expect(status).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    expect(status.message).toContain('not allowed');
  });
});
