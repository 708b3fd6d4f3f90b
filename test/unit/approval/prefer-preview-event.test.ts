import { describe, expect, it } from 'vitest';
import { parsePrefer } from '../../../src/approval/prefer.ts';
import { bodyPreview } from '../../../src/approval/preview.ts';
import { openRound } from '../../../src/approval/state-machine.ts';
import { approvalEvent, parseWebhookTargets, slackMessage, teamsMessage } from '../../../src/approval/webhook-event.ts';

describe('Prefer (RFC 7240)', () => {
  it.each([
    [null, { respondAsync: false }],
    ['wait=10', { respondAsync: false, wait: 10 }],
    ['respond-async, wait=5', { respondAsync: true, wait: 5 }],
    ['Wait="7"', { respondAsync: false, wait: 7 }],
    ['wait=3, wait=9', { respondAsync: false, wait: 3 }],
    ['wait=-1', { respondAsync: false }],
    ['wait=abc;x=1', { respondAsync: false }],
    ['return=minimal', { respondAsync: false }],
  ])('%s', (header, expected) => {
    expect(parsePrefer(header)).toEqual(expected);
  });
});

const bytes = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;

describe('bodyPreview', () => {
  it('masks rule keys and credential-looking members, never shows non-JSON', () => {
    const preview = bodyPreview(bytes('{"location":"x","adminPassword":"hunter2","tags":{"owner":"me","value":"s"}}'), [
      'value',
    ]);
    expect(preview).toBe('{"location":"x","adminPassword":"***","tags":{"owner":"me","value":"***"}}');
    expect(bodyPreview(bytes('<xml>secret</xml>'), [])).toBe('(17 bytes, not JSON: not shown)');
    expect(bodyPreview(new ArrayBuffer(0), [])).toBeUndefined();
  });

  it('masks what approvers must not see: objects under credential names, secrets in values', () => {
    const body = {
      parameters: { adminPassword: { value: 'P@ssw0rd' } },
      properties: { administratorLoginPassword: 'Hunter2-Pa55', sharedKey: 'vpn-psk' },
      note: 'Server=x;Database=y;User Id=u;Password=hunter2;',
    };
    const preview = bodyPreview(bytes(JSON.stringify(body)), []) ?? '';
    for (const secret of ['P@ssw0rd', 'Hunter2-Pa55', 'vpn-psk', 'hunter2']) expect(preview).not.toContain(secret);
    expect(preview).toContain('"parameters":{"adminPassword":"***"}');
  });

  it('caps the preview', () => {
    expect(bodyPreview(bytes(JSON.stringify({ a: 'x'.repeat(5000) })), [])?.length).toBe(2000);
  });
});

describe('webhook events and adapters', () => {
  const { state } = openRound(
    undefined,
    {
      id: 'a'.repeat(32),
      link: 'https://gw.example/_gateway/approvals/aaaa',
      request: {
        connection: 'arm',
        method: 'DELETE',
        path: '/subscriptions/s/resourceGroups/prod-db',
        query: 'api-version=1',
        ruleId: 'rg-delete',
        requesterOid: 'oid-a',
        requesterAppId: 'app',
        requesterName: 'Alice',
      },
      policy: { groups: ['g'], users: [], count: 2, ttlSeconds: 600 },
    },
    Date.parse('2026-01-01T00:00:00Z'),
  );
  const event = approvalEvent(state, {
    round: 1,
    event: 'created',
    status: 'pending',
    at: state.createdAt,
    by: 'oid-a',
    reason: '',
  });

  it('carries the facts and links', () => {
    expect(event).toMatchObject({
      type: 'approval.created',
      data: {
        approvalId: 'a'.repeat(32),
        request: { method: 'DELETE', path: '/subscriptions/s/resourceGroups/prod-db' },
        subject: { objectId: 'oid-a', name: 'Alice' },
        rule: 'rg-delete',
        quorum: { count: 2, approvals: 0 },
        expiresAt: '2026-01-01T00:10:00.000Z',
        links: { page: 'https://gw.example/_gateway/approvals/aaaa' },
      },
    });
  });

  it('renders Slack Block Kit and a Teams Adaptive Card linking to the page', () => {
    const slack = JSON.stringify(slackMessage(event));
    expect(slack).toContain('"type":"actions"');
    expect(slack).toContain('https://gw.example/_gateway/approvals/aaaa');
    const teams = teamsMessage(event) as { attachments: { content: { type: string; actions: { url: string }[] } }[] };
    expect(teams.attachments[0]?.content.type).toBe('AdaptiveCard');
    expect(teams.attachments[0]?.content.actions[0]?.url).toBe('https://gw.example/_gateway/approvals/aaaa');
  });

  it('parses webhook targets, dropping anything that is not a URL', () => {
    expect(
      parseWebhookTargets('https://a.example/h, slack:https://hooks.slack.com/x,teams:https://t.example/w,nope'),
    ).toEqual([
      { kind: 'standard', url: 'https://a.example/h' },
      { kind: 'slack', url: 'https://hooks.slack.com/x' },
      { kind: 'teams', url: 'https://t.example/w' },
    ]);
  });
});
