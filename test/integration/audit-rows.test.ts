// Row content for allowed, denied, approved, upstream-failed, client-aborted and masked requests,
// through the real Worker in workerd with real local D1.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { rowHash, type StoredRow } from '../../src/audit/index.ts';
import { loadGateway } from '../../src/gateway.ts';
import { proxyRequest } from '../../src/pipeline.ts';
import { auditRow, gateway, mintToken, SUB } from './helpers.ts';

const ALICE = 'bbbbbbbb-0000-4000-8000-00000000a11c';
const BOB = 'bbbbbbbb-0000-4000-8000-000000000b0b';
const RG = `/subscriptions/${SUB}/resourceGroups`;

async function finalRow(response: Response): Promise<StoredRow> {
  const id = response.headers.get('x-edgeward-request-id') ?? '';
  const row = await auditRow(id);
  if (!row) throw new Error(`no final audit row for ${id}`);
  return row as StoredRow;
}

describe('audit rows', () => {
  it('records an allowed read with identity, operation, correlation ids, timings and a valid row hash', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const response = await gateway(`/arm${RG}/demo-rg?api-version=2021-04-01&sig=s3cr3t`, {
      token,
      headers: { 'x-ms-correlation-request-id': 'session-42', 'user-agent': 'az-cli/2.60' },
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const row = await finalRow(response);
    expect(row).toMatchObject({
      phase: 'final',
      decision: 'allow',
      outcome: 'completed',
      status: 200,
      method: 'GET',
      subject_oid: ALICE,
      subject_upn: 'alice@contoso.com',
      actor_mode: 'delegated',
      actor_app_only: 0,
      session_id: 'session-42',
      user_agent: 'az-cli/2.60',
      operation: 'Microsoft.Resources/subscriptions/resourceGroups/read',
      resource_id: `${RG}/demo-rg`,
      client_request_id: row.request_id,
      upstream_correlation_id: 'session-42',
      request_body: null,
      sealed_seq: null,
    });
    expect(row.query).toBe('api-version=2021-04-01&sig=REDACTED');
    expect(String(row.upstream_request_id)).toMatch(/^[0-9a-f-]{36}$/);
    expect(String(row.policy_digest)).toMatch(/^[0-9a-f]{64}$/);
    expect(row.bytes_out).toBeGreaterThan(0);
    expect(typeof row.upstream_ms).toBe('number');
    expect(typeof row.duration_ms).toBe('number');
    expect(row.row_hash).toBe(await rowHash(row));
  });

  it('records a denial with the rule outcome and the reason only the audit row sees', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const response = await gateway(`/arm${RG}/demo-rg?api-version=2021-04-01`, { token, method: 'DELETE' });
    expect(response.status).toBe(403);
    const row = await finalRow(response);
    expect(row).toMatchObject({
      decision: 'deny',
      status: 403,
      outcome: 'refused',
      operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete',
      upstream_request_id: null,
      upstream_ms: null,
    });
    expect(String(row.detail)).toContain('EDGEWARD_POLICY_DENIED');
  });

  it('records who approved a held delete, on the row of the request that went through', async () => {
    const writer = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const approver = await mintToken({ user: 'bob@contoso.com', groups: ['approvers'] });
    await gateway(`/arm${RG}/audit-approved-rg?api-version=2021-04-01`, {
      token: writer,
      method: 'PUT',
      body: '{"location":"westeurope"}',
    }).then((r) => r.arrayBuffer());
    const path = `/arm${RG}/audit-approved-rg?api-version=2021-04-01`;
    const first = await gateway(path, { token: writer, method: 'DELETE', headers: { prefer: 'respond-async' } });
    const { approvalId } = (await first.json()) as { approvalId: string };
    expect(await finalRow(first)).toMatchObject({ outcome: 'approval_pending', status: 202, approval_id: approvalId });
    const decided = await gateway(`/_gateway/approvals/${approvalId}/decision`, {
      token: approver,
      method: 'POST',
      body: JSON.stringify({ decision: 'approve', reason: 'cleanup' }),
    });
    expect(decided.status).toBe(200);
    const retry = await gateway(path, { token: writer, method: 'DELETE' });
    expect(retry.status).toBe(202);
    const row = await finalRow(retry);
    expect(row).toMatchObject({
      decision: 'require_approval',
      approval_id: approvalId,
      outcome: 'completed',
      subject_oid: ALICE,
      operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete',
      resource_id: `${RG}/audit-approved-rg`,
      bytes_in: 0,
    });
    expect(JSON.parse(String(row.approvers))).toEqual([BOB]);
  });

  it('records an upstream failure with the precise reason', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    // The real pipeline with an upstream nobody listens on (port 9 on loopback: discard, closed).
    const broken = { ...env, UPSTREAM_ARM: 'http://127.0.0.1:9' } as Env;
    const waits: Promise<unknown>[] = [];
    const response = await proxyRequest(
      new Request(`https://edgeward.test/arm${RG}?api-version=2021-04-01`, {
        headers: { authorization: `Bearer ${token}` },
      }),
      loadGateway(broken),
      { env: broken, waitUntil: (p) => waits.push(p), now: Date.now },
    );
    expect(response.status).toBe(502);
    await Promise.all(waits);
    const row = await finalRow(response);
    expect(row).toMatchObject({ decision: 'allow', status: 502, outcome: 'upstream_error' });
    expect(String(row.detail)).toContain('EDGEWARD_UPSTREAM_UNREACHABLE');
  });

  it('records a client that went away before the body was read', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const response = await gateway(`/arm${RG}?api-version=2021-04-01`, { token });
    expect(response.status).toBe(200);
    await response.body?.cancel('client went away');
    const row = await finalRow(response);
    expect(row).toMatchObject({ outcome: 'client_aborted', status: 200, bytes_out: 0 });
  });

  it('keeps masked response paths and a masked, capped request body for mutations', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const listKeys = await gateway(
      `/arm${RG}/demo-rg/providers/Microsoft.Storage/storageAccounts/demo/listKeys?api-version=2023-05-01`,
      { token, method: 'POST' },
    );
    await listKeys.arrayBuffer();
    const masked = await finalRow(listKeys);
    expect(masked).toMatchObject({
      masked_count: 2,
      operation: 'Microsoft.Storage/storageAccounts/listKeys/action',
      resource_id: `${RG}/demo-rg/providers/Microsoft.Storage/storageAccounts/demo`,
    });
    expect(JSON.parse(String(masked.masked_paths))).toEqual(['$.keys[0].value', '$.keys[1].value']);

    const body = JSON.stringify({
      location: 'northeurope',
      tags: { owner: 'alice' },
      properties: { adminPassword: 'hunter2' },
    });
    const put = await gateway(`/arm${RG}/audit-body-rg?api-version=2021-04-01`, { token, method: 'PUT', body });
    expect(put.status).toBe(201);
    await put.arrayBuffer();
    const row = await finalRow(put);
    expect(row.bytes_in).toBe(new TextEncoder().encode(body).byteLength);
    expect(row.request_body_truncated).toBe(0);
    expect(row.request_body_cap).toBe(8192);
    expect(String(row.request_body)).not.toContain('hunter2');
    expect(JSON.parse(String(row.request_body))).toEqual({
      location: 'northeurope',
      tags: { owner: 'alice' },
      properties: { adminPassword: '***' },
    });

    const big = JSON.stringify({ location: 'westeurope', tags: { note: 'x'.repeat(20_000) } });
    const large = await gateway(`/arm${RG}/audit-big-rg?api-version=2021-04-01`, { token, method: 'PUT', body: big });
    expect(large.status).toBe(201);
    await large.arrayBuffer();
    const capped = await finalRow(large);
    expect(capped.bytes_in).toBe(big.length);
    expect(capped.request_body_truncated).toBe(1);
    expect(String(capped.request_body).length).toBeLessThanOrEqual(8192);
    // The cut falls inside the long string: with value detectors on, a string the masker has not
    // finished examining is never released, so the kept prefix stops before it.
    expect(String(capped.request_body)).toMatch(/^\{"location":"westeurope","tags":\{"note":$/);
  });
});
