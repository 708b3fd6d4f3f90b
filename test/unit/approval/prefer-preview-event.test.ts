import { describe, expect, it } from 'vitest';
import { parsePrefer } from '../../../src/approval/prefer.ts';
import { requestView, type ViewInput } from '../../../src/approval/request-view.ts';
import { type ApprovalState, openRound } from '../../../src/approval/state-machine.ts';
import { approvalEvent, parseWebhookTargets, slackMessage, teamsMessage } from '../../../src/approval/webhook-event.ts';

/** The `approval.created` event of a freshly opened round. */
const createdEvent = (state: ApprovalState) =>
  approvalEvent(state, { round: 1, event: 'created', status: 'pending', at: state.createdAt, by: 'oid-a', reason: '' });

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
  const event = createdEvent(state);

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

describe('webhook events: the whole body or none of it, and always the link to the full view', () => {
  const enc = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;
  const LINK = 'https://gw.example/_gateway/approvals/bbbb';
  const OWNER = '/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635';

  function eventFor(raw: string, extra: Partial<ViewInput> = {}) {
    const built = requestView({
      method: 'PUT',
      connection: 'arm',
      path: '/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r1',
      search: '',
      headers: new Headers({ 'content-type': 'application/json' }),
      body: enc(raw),
      bodySha256: '0'.repeat(64),
      maskKeys: [],
      ...extra,
    });
    if (!built.ok) throw new Error(built.detail);
    const { state } = openRound(
      undefined,
      {
        id: 'b'.repeat(32),
        link: LINK,
        request: {
          connection: 'arm',
          method: 'PUT',
          path: built.view.path,
          query: '',
          ruleId: 'role-assignments',
          requesterOid: 'oid-a',
          requesterAppId: 'app',
          ...(built.preview !== undefined ? { bodyPreview: built.preview } : {}),
          view: built.view,
        },
        policy: { groups: ['g'], users: [], count: 1, ttlSeconds: 600 },
      },
      Date.parse('2026-01-01T00:00:00Z'),
    );
    return createdEvent(state);
  }

  it('leaves out a padded body entirely (no prefix showing the harmless part) and points to the page', () => {
    const raw = JSON.stringify({ properties: { description: 'x'.repeat(2500), roleDefinitionId: OWNER } });
    const event = eventFor(raw);
    expect(event.data.request).toMatchObject({ bodyPreview: null, bodyBytes: raw.length });
    expect(event.data.request.bodyNote).toContain(`${raw.length} bytes`);
    for (const message of [
      JSON.stringify(event),
      JSON.stringify(slackMessage(event)),
      JSON.stringify(teamsMessage(event)),
    ]) {
      expect(message).not.toContain('xxxxxxxxxx');
      expect(message).not.toContain('"view"');
      expect(message).toContain(LINK);
    }
    expect(JSON.stringify(slackMessage(event))).toContain(`<${LINK}|Open the full request>`);
    expect(JSON.stringify(teamsMessage(event))).toContain(`[Open the full request](${LINK})`);
  });

  it('carries a short body whole, masked', () => {
    const event = eventFor('{"properties":{"roleDefinitionId":"r","password":"hunter2-xyz"}}');
    expect(event.data.request.bodyPreview).toBe('{"properties":{"roleDefinitionId":"r","password":"***"}}');
    expect(event.data.request.bodyNote).toBeNull();
    expect(JSON.stringify(slackMessage(event))).not.toContain('hunter2');
  });

  it('never carries a text body (masked best effort): the page shows it', () => {
    const event = eventFor('note: hello-from-text\n', { headers: new Headers({ 'content-type': 'text/plain' }) });
    expect(event.data.request.bodyPreview).toBeNull();
    expect(event.data.request.bodyNote).toContain('not JSON');
    expect(JSON.stringify(slackMessage(event))).not.toContain('hello-from-text');
  });

  it('counts embedded requests and template resources, and warns about a linked template', () => {
    const event = eventFor('{}', {
      embedded: [
        { name: '1', method: 'DELETE', url: '/x', operation: 'op', resourceId: '/x', decision: 'allow', ruleIds: [] },
      ],
      templateResources: { resources: [], truncated: false, linked: 'https://t.example/t.json' },
    });
    expect(event.data.request).toMatchObject({ embeddedRequests: 1, templateResources: 0, templateLinked: true });
    const teams = JSON.stringify(teamsMessage(event));
    expect(teams).toContain('Embedded requests');
    expect(teams).toContain('not inspected');
  });

  it('never forwards a preview from before whole-request views (it may be a cut prefix)', () => {
    const { state } = openRound(
      undefined,
      {
        id: 'c'.repeat(32),
        link: LINK,
        request: {
          connection: 'arm',
          method: 'PUT',
          path: '/x',
          query: '',
          ruleId: 'r',
          requesterOid: 'oid-a',
          requesterAppId: 'app',
          bodyPreview: '{"properties":{"roleDefinitionId":"Reader"…',
        },
        policy: { groups: ['g'], users: [], count: 1, ttlSeconds: 600 },
      },
      0,
    );
    const event = approvalEvent(state, { round: 1, event: 'created', status: 'pending', at: '', by: null, reason: '' });
    expect(event.data.request.bodyPreview).toBeNull();
    expect(JSON.stringify(slackMessage(event))).not.toContain('Reader');
  });
});
