/**
 * Identity at the edge, in workerd against the local mock Entra authority and mock Graph: agent on
 * behalf of a human, subject-token failures, group overage resolved and unresolved, Graph tokens,
 * and that refusals carry RFC 6750 challenges and RFC 9457 bodies while the precise reason stays
 * in the audit row.
 */
import { describe, expect, it } from 'vitest';
import { auditRow, gateway, mintToken, SUB } from './helpers.ts';

const SUBJECT_HEADER = 'x-edgeward-subject-token';
const RG = `/arm/subscriptions/${SUB}/resourceGroups/agent-rg?api-version=2021-04-01`;
const ALICE_OID = 'bbbbbbbb-0000-4000-8000-00000000a11c';
const AGENT_APP_ID = '33333333-3333-4333-8333-333333333333';
const overage = {
  _claim_names: { groups: 'src1' },
  _claim_sources: { src1: { endpoint: 'https://graph.windows.net/x' } },
};

const requestId = (response: Response) => response.headers.get('x-edgeward-request-id') ?? '';

describe('identity at the edge (workerd, mock Entra, mock Graph)', () => {
  it('an agent acting for a human: both verified, the human is the subject, the agent the actor', async () => {
    const agent = await mintToken({ app: 'agent', appOnly: true });
    const human = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const response = await gateway(RG, {
      method: 'PUT',
      token: agent,
      headers: { [SUBJECT_HEADER]: human, 'content-type': 'application/json' },
      body: JSON.stringify({ location: 'westeurope' }),
    });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    const row = await auditRow(requestId(response));
    expect(row).toMatchObject({
      decision: 'allow',
      subject_oid: ALICE_OID,
      subject_upn: 'alice@contoso.com',
      actor_app_id: AGENT_APP_ID,
      actor_app_only: 1,
    });
    expect(JSON.parse(String(row?.rule_ids))).toContain('writers-may-write-resource-groups');
  });

  it('the same agent without a human is denied a write by policy', async () => {
    const agent = await mintToken({ app: 'agent', appOnly: true, groups: ['writers'] });
    const response = await gateway(RG, { method: 'PUT', token: agent, body: '{}' });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_POLICY_DENIED');
  });

  it('a tampered subject token fails the request: 401 invalid_token, EDGEWARD_SUBJECT_TOKEN_INVALID', async () => {
    const agent = await mintToken({ app: 'agent', appOnly: true });
    const human = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const tampered = `${human.slice(0, -6)}AAAAAA`;
    const response = await gateway(RG, { method: 'PUT', token: agent, headers: { [SUBJECT_HEADER]: tampered } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const text = await response.text();
    expect(JSON.parse(text).code).toBe('EDGEWARD_SUBJECT_TOKEN_INVALID');
    expect(text).not.toContain(tampered);
    expect(text).not.toContain('bad_signature');
    const row = await auditRow(requestId(response));
    expect(row).toMatchObject({ decision: 'unauthenticated', status: 401, outcome: 'refused' });
    expect(String(row?.detail)).toContain('subject token: bad_signature');
  });

  it('a subject token beside a delegated bearer token is refused, not ignored', async () => {
    const bearer = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const human = await mintToken({ user: 'bob@contoso.com' });
    const response = await gateway('/arm/subscriptions', { token: bearer, headers: { [SUBJECT_HEADER]: human } });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_SUBJECT_TOKEN_INVALID');
  });

  it('group overage: groups resolved from Microsoft Graph let the caller in', async () => {
    const token = await mintToken({ user: 'overage@contoso.com', claims: overage });
    const response = await gateway('/arm/subscriptions?api-version=2022-12-01', { token });
    expect(response.status, await response.clone().text()).toBe(200);
    const row = await auditRow(requestId(response));
    expect(JSON.parse(String(row?.rule_ids))).toEqual(['readers-may-read']);
  });

  it('group overage that Graph cannot resolve leaves groups unknown: group rules fail closed', async () => {
    const token = await mintToken({ user: 'unknown-to-graph@contoso.com', claims: { ...overage, hasgroups: true } });
    const response = await gateway('/arm/subscriptions?api-version=2022-12-01', { token });
    expect(response.status).toBe(403);
    const row = await auditRow(requestId(response));
    expect(row).toMatchObject({ decision: 'deny' });
  });

  it('a Microsoft Graph token (header nonce) is refused with an explanation', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'], header: { nonce: 'abc' } });
    const response = await gateway('/arm/subscriptions', { token });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { code: string; detail: string };
    expect(body.code).toBe('EDGEWARD_TOKEN_INVALID');
    expect(body.detail).toContain('Microsoft Graph');
    expect(String((await auditRow(requestId(response)))?.detail)).toContain('graph_nonce');
  });

  it('accepts a v1 token (App ID URI audience) and refuses one meant for Resource Manager', async () => {
    const v1 = await mintToken({ user: 'alice@contoso.com', groups: ['readers'], version: '1.0' });
    expect((await gateway('/arm/subscriptions?api-version=2022-12-01', { token: v1 })).status).toBe(200);
    const arm = await mintToken({
      user: 'alice@contoso.com',
      groups: ['readers'],
      audience: 'https://management.azure.com/',
    });
    const response = await gateway('/arm/subscriptions', { token: arm });
    expect(response.status).toBe(401);
    expect(String((await auditRow(requestId(response)))?.detail)).toContain('audience_mismatch');
  });

  it('refuses a tenant outside the allowlist and an expired token, each with its reason in audit', async () => {
    const foreign = await mintToken({ user: 'alice@contoso.com', tenantId: '44444444-4444-4444-8444-444444444444' });
    const expired = await mintToken({ user: 'alice@contoso.com', expiresIn: -3600 });
    for (const [token, reason] of [
      [foreign, 'tenant_not_allowed'],
      [expired, 'expired'],
    ] as const) {
      const response = await gateway('/arm/subscriptions', { token });
      expect(response.status).toBe(401);
      expect(String((await auditRow(requestId(response)))?.detail)).toContain(reason);
    }
  });

  it('serves a repeated token from the verified-token cache with the same result', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await gateway('/arm/subscriptions?api-version=2022-12-01', { token })).status);
    expect(statuses).toEqual([200, 200, 200]);
  });
});
