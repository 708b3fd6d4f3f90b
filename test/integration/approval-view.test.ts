/**
 * Approvers see exactly what will execute: the whole request on the page and in the API, in
 * workerd with real D1 and Durable Objects. Hostile input first: a padded body whose decisive
 * member comes after the old 2,000-character preview, a body over the cap, credentials in
 * headers, secrets in the body, markup in embedded requests and template resources.
 */
import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  APPROVAL_BODY_LIMIT,
  type ApprovalObject,
  type ApprovalState,
  approvalGate,
  type RequestView,
  readApprovalBody,
} from '../../src/approval/index.ts';
import type { AuditRecord } from '../../src/audit/index.ts';
import { principalFromClaims } from '../../src/auth/principal.ts';
import { eventually, received, stubFor, tokens } from './approval-helpers.ts';
import { gateway, SUB } from './helpers.ts';

const OWNER = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`;
const APPROVERS = 'aaaaaaaa-0000-4000-8000-000000000003';
const ALICE = 'bbbbbbbb-0000-4000-8000-00000000a11c';
/** 64 bytes, base64: the shape of a storage account key. */
const STORAGE_KEY = btoa(String.fromCharCode(...Array.from({ length: 64 }, (_, i) => (i * 53 + 7) % 256)));
const FAKE_JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdWJqZWN0In0.c3ViamVjdC10b2tlbi1zaWduYXR1cmU';

const assignmentPath = (id: string) =>
  `/arm/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/${id}?api-version=2022-04-01`;

/** The approver's page, signed in with a session cookie as the page's sign-in sets it. */
function page(id: string, token: string): Promise<Response> {
  return gateway(`/_gateway/approvals/${id}`, {
    headers: { accept: 'text/html', cookie: `edgeward_session=${token}` },
  });
}

async function apiState(id: string, token: string): Promise<ApprovalState> {
  const response = await gateway(`/_gateway/approvals/${id}`, { token });
  expect(response.status).toBe(200);
  return (await response.json()) as ApprovalState;
}

describe('approval view: a padded body is shown whole', () => {
  it('shows the decisive member after 2,000+ characters, on the page and in the API, with secrets masked and no credential', async () => {
    const t = await tokens();
    const assignment = crypto.randomUUID();
    const body = JSON.stringify({
      properties: {
        description: `${'x'.repeat(2500)}-end-of-padding`,
        principalId: 'cccccccc-0000-4000-8000-000000000001',
        roleDefinitionId: OWNER,
        condition: { password: 'hunter2-xyz', storage: STORAGE_KEY },
      },
    });
    const first = await gateway(assignmentPath(assignment), {
      token: t.alice,
      method: 'PUT',
      body,
      headers: {
        'content-type': 'application/json',
        prefer: 'wait=0',
        cookie: 'sid=cookie-secret-123',
        'x-api-key': 'key-secret-456',
        'x-ms-authorization-auxiliary': `Bearer ${FAKE_JWT}`,
        'x-visible-header': 'visible-1',
      },
    });
    expect(first.status).toBe(403);
    const { code, approvalId } = (await first.json()) as { code: string; approvalId: string };
    expect(code).toBe('EDGEWARD_APPROVAL_PENDING');
    const forbidden = ['hunter2-xyz', STORAGE_KEY, 'cookie-secret-123', 'key-secret-456', FAKE_JWT, t.alice, t.bob];

    // The API: the whole request.
    const state = await apiState(approvalId, t.bob);
    const view = state.request.view as RequestView;
    expect(view).toMatchObject({
      method: 'PUT',
      connection: 'arm',
      path: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/${assignment}`,
      query: 'api-version=2022-04-01',
    });
    expect(view.body).toMatchObject({ kind: 'json', bytes: body.length });
    const text = view.body?.kind === 'json' ? view.body.text : '';
    expect(text).toContain(`"roleDefinitionId": "${OWNER}"`);
    expect(text).toContain('-end-of-padding');
    expect(text).toContain('"password": "***"');
    expect(text).toContain('"storage": "***"');
    expect(view.headers).toContainEqual({ name: 'x-visible-header', value: 'visible-1' });
    const names = view.headers.map((h) => h.name);
    for (const name of ['authorization', 'cookie', 'x-api-key', 'x-ms-authorization-auxiliary', 'host'])
      expect(names).not.toContain(name);
    const apiText = JSON.stringify(state);
    for (const secret of forbidden) expect(apiText).not.toContain(secret);

    // The page: the same, escaped.
    const html = await (await page(approvalId, t.bob)).text();
    expect(html).toContain(OWNER);
    expect(html).toContain('-end-of-padding');
    expect(html).toContain('x'.repeat(2500));
    expect(html).toContain('visible-1');
    expect(html).toContain('id="approve"');
    for (const secret of forbidden) expect(html).not.toContain(secret);

    // Stored: the Durable Object's state and outbox, and the D1 mirror, hold no secret and no token.
    const stored = await runInDurableObject(stubFor(approvalId), (_i: ApprovalObject, ctx) =>
      JSON.stringify([ctx.storage.kv.get('state'), ctx.storage.kv.get('outbox')]),
    );
    expect(stored).toContain(OWNER);
    for (const secret of forbidden) expect(stored).not.toContain(secret);
    const row = await eventually(
      () =>
        env.AUDIT_DB.prepare('SELECT * FROM approvals WHERE approval_id = ?')
          .bind(approvalId)
          .first<Record<string, unknown>>()
          .then((r) => r ?? undefined),
      'mirror row',
    );
    for (const secret of forbidden) expect(JSON.stringify(row)).not.toContain(secret);

    // Webhooks and chat: no prefix of the body, a pointer to the whole request.
    const events = await eventually(async () => {
      const all = [...(await received('/hook')), ...(await received('/slack')), ...(await received('/teams'))].filter(
        (r) => r.body.includes(approvalId),
      );
      return all.length >= 3 ? all : undefined;
    }, 'webhook, slack and teams deliveries');
    for (const event of events) {
      expect(event.body).not.toContain('xxxxxxxxxx');
      expect(event.body).toContain(`/_gateway/approvals/${approvalId}`);
      for (const secret of forbidden) expect(event.body).not.toContain(secret);
    }
    const standard = JSON.parse(events.find((e) => e.body.includes('"approval.created"'))?.body ?? '{}');
    expect(standard.data.request).toMatchObject({ bodyPreview: null, bodyBytes: body.length });
  });
});

describe('approval view: the size cap', () => {
  async function refusedBeforeAnyApproval(body: string): Promise<{ status: number; problem: Record<string, unknown> }> {
    const t = await tokens();
    const assignment = crypto.randomUUID();
    const objects = (await listDurableObjectIds(env.APPROVALS)).length;
    const response = await gateway(assignmentPath(assignment), {
      token: t.alice,
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/json', prefer: 'wait=0' },
    });
    const problem = (await response.json()) as Record<string, unknown>;
    // No Durable Object, no mirror row, no webhook.
    expect((await listDurableObjectIds(env.APPROVALS)).length).toBe(objects);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const rows = await env.AUDIT_DB.prepare('SELECT approval_id FROM approvals WHERE path LIKE ?')
      .bind(`%${assignment}`)
      .all();
    expect(rows.results).toEqual([]);
    expect((await received('/hook')).some((r) => r.body.includes(assignment))).toBe(false);
    expect(problem.approvalId).toBeUndefined();
    return { status: response.status, problem };
  }

  it(`refuses a body over ${APPROVAL_BODY_LIMIT} bytes with 413 before any approval exists`, async () => {
    const body = JSON.stringify({
      properties: { description: 'y'.repeat(APPROVAL_BODY_LIMIT), roleDefinitionId: OWNER, principalId: 'p' },
    });
    const { status, problem } = await refusedBeforeAnyApproval(body);
    expect(status).toBe(413);
    expect(problem).toMatchObject({ code: 'EDGEWARD_BODY_TOO_LARGE' });
    expect(String(problem.detail)).toContain(String(APPROVAL_BODY_LIMIT));
  });

  it('refuses a body under the cap that is over it once shown (indentation) with 413, naming why', async () => {
    const body = JSON.stringify({
      properties: { roleDefinitionId: OWNER, nested: Array.from({ length: 9000 }, () => [0]) },
    });
    expect(body.length).toBeLessThan(APPROVAL_BODY_LIMIT);
    const { status, problem } = await refusedBeforeAnyApproval(body);
    expect(status).toBe(413);
    expect(problem).toMatchObject({ code: 'EDGEWARD_BODY_TOO_LARGE', title: 'Request too large to approve' });
    expect(String(problem.detail)).toContain('approvers must see a request whole');
  });
});

describe('approval view: the gate’s extra inputs', () => {
  it('lists embedded requests and template resources, HTML-escaped, and never shows the subject token', async () => {
    const t = await tokens();
    const path = `/subscriptions/${SUB}/resourceGroups/view-batch/providers/Microsoft.Resources/deployments/d1`;
    const request = new Request(`https://edgeward.test/arm${path}?api-version=2022-09-01`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${t.alice}`,
        cookie: 'edgeward_session=session-secret',
        'x-edgeward-subject-token': FAKE_JWT,
        'content-type': 'application/json',
        prefer: 'wait=0',
      },
      body: JSON.stringify({
        properties: { mode: 'Incremental', templateLink: { uri: 'https://st/t.json?sig=abcdefghijklmnop' } },
      }),
    });
    // Alice, signed in through the Azure CLI (a delegated v2 token), as src/auth would see her.
    const principal = principalFromClaims(
      {
        ver: '2.0',
        tid: 't',
        oid: ALICE,
        name: 'Alice',
        azp: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
        azpacr: '0',
        scp: 'user_impersonation',
        exp: Math.floor(Date.now() / 1000) + 3600,
      },
      'fp',
    );
    const record = {
      requestId: crypto.randomUUID(),
      phase: 'intent',
      startedAt: new Date().toISOString(),
      method: 'PUT',
      path,
      query: 'api-version=2022-09-01',
      decision: 'require_approval',
      ruleIds: [],
      outcome: 'pending',
      maskedCount: 0,
      maskedPaths: [],
    } satisfies AuditRecord as AuditRecord;
    await expect(
      approvalGate(
        {
          request,
          body: await readApprovalBody(request.body, request.headers.get('content-length')),
          connection: 'arm',
          path,
          search: '?api-version=2022-09-01',
          principal,
          approval: { groups: [APPROVERS], users: [], count: 1, ttl_seconds: 600, reason_required: false },
          ruleId: `view-test-${crypto.randomUUID()}`,
          maskKeys: [],
          record,
          embedded: [
            {
              name: '<script>alert(1)</script>',
              method: 'DELETE',
              url: `/subscriptions/${SUB}/resourceGroups/rg1?api-version=2021-04-01&sig=abcdefghijkl`,
              operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete',
              resourceId: `/subscriptions/${SUB}/resourceGroups/rg1`,
              decision: 'require_approval',
              ruleIds: ['resource-group-delete-needs-approval'],
            },
          ],
          templateResources: {
            resources: [{ type: 'Microsoft.Storage/storageAccounts', name: '<img src=x onerror=alert(2)>' }],
            truncated: false,
            linked: 'https://st/t.json?sig=abcdefghijklmnop',
          },
        },
        { env, now: () => Date.now() },
      ),
    ).rejects.toMatchObject({ code: 'EDGEWARD_APPROVAL_PENDING' });
    const id = record.approvalId ?? '';
    expect(id).toMatch(/^[0-9a-f]{32}$/);

    const response = await page(id, t.bob);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('id="embedded"');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('&#60;img src=x onerror=alert(2)&#62;');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('id="template-linked"');
    expect(html).toContain('sig=REDACTED');
    for (const secret of [FAKE_JWT, t.alice, 'session-secret', 'abcdefghijkl']) expect(html).not.toContain(secret);

    const state = await apiState(id, t.bob);
    const view = state.request.view as RequestView;
    expect(view.embedded?.[0]?.name).toBe('<script>alert(1)</script>');
    expect(view.templateResources?.linked).toBe('https://st/t.json?sig=REDACTED');
    const names = view.headers.map((h) => h.name);
    for (const name of ['authorization', 'cookie', 'x-edgeward-subject-token']) expect(names).not.toContain(name);
    for (const secret of [FAKE_JWT, t.alice, 'session-secret', 'abcdefghijkl'])
      expect(JSON.stringify(state)).not.toContain(secret);
  });
});
