/**
 * Signed decision callbacks from a chat-ops bridge: hostile input first (forged, stale, future,
 * replayed, retargeted, unknown approver), then the valid cases.
 */
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { stubFor, tokens } from './approval-helpers.ts';
import { auditRow, gateway } from './helpers.ts';

const BOB = 'bbbbbbbb-0000-4000-8000-000000000b0b';
const ALICE = 'bbbbbbbb-0000-4000-8000-00000000a11c';
const APPROVERS = 'aaaaaaaa-0000-4000-8000-000000000003';
const LISTED = 'cccccccc-0000-4000-8000-000000000001';

const newId = () => crypto.randomUUID().replaceAll('-', '');

async function openApproval(id: string) {
  await stubFor(id).open(
    id,
    {
      connection: 'arm',
      method: 'DELETE',
      path: '/subscriptions/x/resourceGroups/callback',
      query: '',
      ruleId: 'test-rule',
      requesterOid: ALICE,
      requesterAppId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
    },
    { groups: [APPROVERS], users: [LISTED], count: 1, ttlSeconds: 3600 },
    `https://edgeward.test/_gateway/approvals/${id}`,
    Date.now(),
  );
}

function callback(
  id: string,
  body: Record<string, unknown>,
  options: { secret?: string; msgId?: string; at?: Date; tamper?: (b: string) => string } = {},
): Promise<Response> {
  const text = JSON.stringify(body);
  const msgId = options.msgId ?? `msg_${crypto.randomUUID()}`;
  const at = options.at ?? new Date();
  const signature = new Webhook(options.secret ?? String(env.APPROVAL_CALLBACK_SECRET)).sign(msgId, at, text);
  return gateway(`/_gateway/approvals/${id}/decision`, {
    method: 'POST',
    body: options.tamper ? options.tamper(text) : text,
    headers: {
      'content-type': 'application/json',
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    },
  });
}

const body = (id: string, objectId: string, decision = 'approve') => ({
  approvalId: id,
  approver: { objectId },
  decision,
  reason: 'from chat',
});

async function code(response: Response) {
  return ((await response.json()) as { code: string }).code;
}

describe('signed decision callbacks', () => {
  it('refuses a callback signed with another secret', async () => {
    const id = newId();
    await openApproval(id);
    const response = await callback(id, body(id, LISTED), { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx' });
    expect(response.status).toBe(401);
    expect(await code(response)).toBe('EDGEWARD_WEBHOOK_SIGNATURE_INVALID');
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(String(row?.detail)).toContain('bad_signature');
  });

  it('refuses a tampered body', async () => {
    const id = newId();
    await openApproval(id);
    const response = await callback(id, body(id, LISTED, 'deny'), { tamper: (b) => b.replace('deny', 'approve') });
    expect(response.status).toBe(401);
  });

  it('refuses a stale and a future timestamp', async () => {
    const id = newId();
    await openApproval(id);
    const stale = await callback(id, body(id, LISTED), { at: new Date(Date.now() - 10 * 60_000) });
    expect(stale.status).toBe(401);
    const future = await callback(id, body(id, LISTED), { at: new Date(Date.now() + 10 * 60_000) });
    expect(future.status).toBe(401);
    expect((await stubFor(id).status())?.status).toBe('pending');
  });

  it('accepts a webhook id once: a replay is refused', async () => {
    const id = newId();
    await openApproval(id);
    const msgId = `msg_${crypto.randomUUID()}`;
    const first = await callback(id, body(id, LISTED, 'deny'), { msgId });
    expect(first.status).toBe(200);
    const replay = await callback(id, body(id, LISTED, 'deny'), { msgId });
    expect(replay.status).toBe(401);
    const row = await auditRow(replay.headers.get('x-edgeward-request-id') ?? '');
    expect(String(row?.detail)).toContain('replayed');
  });

  it('refuses a callback whose body names another approval than the URL', async () => {
    const id = newId();
    const other = newId();
    await openApproval(id);
    const response = await callback(id, body(other, LISTED));
    expect(response.status).toBe(401);
  });

  it('still checks eligibility: an unknown object id, and the requester, are refused', async () => {
    const id = newId();
    await openApproval(id);
    const unknown = await callback(id, body(id, 'dddddddd-0000-4000-8000-000000000001'));
    expect(unknown.status).toBe(403);
    const self = await callback(id, body(id, ALICE));
    expect(self.status).toBe(403);
    expect((await stubFor(id).status())?.status).toBe('pending');
  });

  it('approves for a listed user, and for a group member whose groups were seen on their own token', async () => {
    const listedId = newId();
    await openApproval(listedId);
    const listed = await callback(listedId, body(listedId, LISTED));
    expect(listed.status).toBe(200);
    expect((await stubFor(listedId).status())?.status).toBe('approved');

    // Bob's groups are learnt when he calls the gateway with his own token (any approvals call).
    const t = await tokens();
    await gateway('/_gateway/approvals?status=pending', { token: t.bob });
    const groupId = newId();
    await openApproval(groupId);
    let response: Response | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      response = await callback(groupId, body(groupId, BOB));
      if (response.status !== 403) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(response?.status).toBe(200);
    const state = await stubFor(groupId).status();
    expect(state?.decisions[0]).toMatchObject({ approverOid: BOB, via: 'callback', reason: 'from chat' });
  });
});
