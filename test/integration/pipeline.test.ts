import { describe, expect, it } from 'vitest';
import { auditRow, gateway, mintToken, SUB } from './helpers.ts';

describe('the pipeline in workerd with real D1 and Durable Objects', () => {
  it('serves health without auth and reports the policy digest', async () => {
    const response = await gateway('/_gateway/health');
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as { status: string; policy: { digest: string } };
    expect(body.status).toBe('ok');
    expect(body.policy.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('proxies an allowed read and writes its audit row', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const response = await gateway('/arm/subscriptions?api-version=2022-12-01', { token });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { value: { subscriptionId: string }[] };
    expect(body.value[0]?.subscriptionId).toBe(SUB);
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({
      decision: 'allow',
      status: 200,
      outcome: 'completed',
      subject_upn: 'alice@contoso.com',
      connection: 'arm',
      method: 'GET',
      path: '/subscriptions',
    });
    expect(JSON.parse(String(row?.rule_ids))).toEqual(['readers-may-read']);
  });

  it('masks storage keys in listKeys', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const response = await gateway(
      `/arm/subscriptions/${SUB}/resourceGroups/demo-rg/providers/Microsoft.Storage/storageAccounts/demo/listKeys?api-version=2023-05-01`,
      { token, method: 'POST' },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { keys: { keyName: string; value: string }[] };
    expect(body.keys.map((k) => k.value)).toEqual(['***', '***']);
    expect(body.keys[0]?.keyName).toBe('key1');
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row?.masked_count).toBe(2);
    expect(JSON.parse(String(row?.masked_paths))).toEqual(['$.keys[0].value', '$.keys[1].value']);
  });

  it('refuses a request without a token with 401 problem+json and audits it', async () => {
    const response = await gateway('/arm/subscriptions');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const body = (await response.json()) as { code: string };
    expect(body.code).toBe('EDGEWARD_TOKEN_MISSING');
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'unauthenticated', status: 401, outcome: 'refused' });
  });

  it('refuses a tampered token with invalid_token and records the precise reason only in audit', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${p}.${s?.slice(0, -4)}AAAA`;
    const response = await gateway('/arm/subscriptions', { token: tampered });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const text = await response.text();
    expect(text).not.toContain('bad_signature');
    expect(text).not.toContain(tampered);
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(String(row?.detail)).toContain('bad_signature');
  });

  it('denies by default and says so in a 403 problem', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: [] });
    const response = await gateway('/arm/subscriptions', { token });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_POLICY_DENIED');
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'deny', status: 403 });
  });

  it('writes the intent row before a mutation and completes it after', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const response = await gateway(`/arm/subscriptions/${SUB}/resourceGroups/it-rg?api-version=2021-04-01`, {
      token,
      method: 'PUT',
      body: JSON.stringify({ location: 'northeurope' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(201);
    await response.arrayBuffer();
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'allow', status: 201, outcome: 'completed', phase: 'final' });
  });

  it('holds a resource-group delete for approval, then lets it through once approved', async () => {
    const writer = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const approver = await mintToken({ user: 'bob@contoso.com', groups: ['approvers'] });
    const path = `/arm/subscriptions/${SUB}/resourceGroups/demo-rg?api-version=2021-04-01`;

    const first = await gateway(path, { token: writer, method: 'DELETE', headers: { prefer: 'respond-async' } });
    expect(first.status).toBe(202);
    const pending = (await first.json()) as { code: string; approvalId: string; statusUrl: string };
    expect(pending.code).toBe('EDGEWARD_APPROVAL_PENDING');

    const self = await gateway(`/_gateway/approvals/${pending.approvalId}/decision`, {
      token: writer,
      method: 'POST',
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(self.status).toBe(403);

    const approve = await gateway(`/_gateway/approvals/${pending.approvalId}/decision`, {
      token: approver,
      method: 'POST',
      body: JSON.stringify({ decision: 'approve', reason: 'planned cleanup' }),
    });
    expect(approve.status).toBe(200);
    expect(((await approve.json()) as { status: string }).status).toBe('approved');

    const retry = await gateway(path, { token: writer, method: 'DELETE' });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('location')).toContain('/operationresults/');
    const row = await auditRow(retry.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'require_approval', approval_id: pending.approvalId, status: 202 });

    const status = await gateway(pending.statusUrl, { token: writer });
    expect(((await status.json()) as { status: string }).status).toBe('consumed');
  });

  it('never proxies /_gateway/ paths', async () => {
    const response = await gateway('/_gateway/arm/subscriptions');
    expect(response.status).toBe(404);
  });
});
