/**
 * Outbound approval events and their chat adapters (pure: plain data in, JSON body out).
 *
 * Contract: every event carries the same facts — approval id and round, event type, status, the
 * request summary (connection, method, path, operation, resource, body size and the whole masked
 * body when it is short), subject and actor, the rule, quorum, expiry and links to the approver's
 * page, which shows the whole request. An event never carries part of a body: a body too long for
 * a chat message is left out and the message says so and links to the page. No token and no
 * unmasked secret is ever part of an event. Slack gets Block Kit, Teams (Workflows) an Adaptive Card.
 */
import type { ApprovalRequestSummary, ApprovalState, ApprovalTransition } from './state-machine.ts';

export type WebhookKind = 'standard' | 'slack' | 'teams';

export interface WebhookTarget {
  kind: WebhookKind;
  url: string;
}

/** `APPROVAL_WEBHOOK_URLS`: comma-separated URLs, each optionally prefixed `slack:` or `teams:`. */
export function parseWebhookTargets(value: string | undefined): WebhookTarget[] {
  const targets: WebhookTarget[] = [];
  for (const item of (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^(slack|teams|standard):(https?:\/\/.+)$/.exec(item);
    const kind = (match?.[1] ?? 'standard') as WebhookKind;
    const url = match?.[2] ?? item;
    if (URL.canParse(url)) targets.push({ kind, url });
  }
  return targets;
}

export interface ApprovalEvent {
  type: `approval.${ApprovalTransition['event']}`;
  timestamp: string;
  data: {
    approvalId: string;
    round: number;
    status: ApprovalState['status'];
    request: {
      connection: string;
      method: string;
      path: string;
      query: string;
      operation: string | null;
      resource: string | null;
      /** The whole masked body when short (CHAT_BODY_LIMIT); null otherwise — never a prefix. */
      bodyPreview: string | null;
      bodyBytes: number | null;
      /** Why the body is not in this event (too long, not text), pointing to the approver page. */
      bodyNote: string | null;
      /** How many requests a batch embeds, and how many resources a template deploys (null: n/a). */
      embeddedRequests: number | null;
      templateResources: number | null;
      /** A linked template's contents were not inspected. */
      templateLinked: boolean;
    };
    subject: { objectId: string | null; name: string | null };
    actor: { appId: string };
    rule: string;
    quorum: {
      count: number;
      denyCount: number;
      groups: readonly string[];
      users: readonly string[];
      approvals: number;
      denials: number;
    };
    expiresAt: string;
    transition: { by: string | null; reason: string; at: string };
    links: { page: string; approve: string; deny: string; decision: string; status: string };
  };
}

export function approvalEvent(state: ApprovalState, transition: ApprovalTransition): ApprovalEvent {
  const r = state.request;
  const approvals = state.decisions.filter((d) => d.verdict === 'approve').length;
  // A preview from before whole-request views (no `view`) may be a cut prefix: never forward it.
  const preview = r.view ? (r.bodyPreview ?? null) : null;
  const template = r.view?.templateResources;
  return {
    type: `approval.${transition.event}`,
    timestamp: transition.at,
    data: {
      approvalId: state.id,
      round: state.round,
      status: state.status,
      request: {
        connection: r.connection,
        method: r.method,
        path: r.path,
        query: r.query,
        operation: r.operation ?? null,
        resource: r.resource ?? null,
        bodyPreview: preview,
        bodyBytes: r.view ? (r.view.body?.bytes ?? 0) : null,
        bodyNote: preview === null ? bodyNote(r) : null,
        embeddedRequests: r.view?.embedded?.length ?? null,
        templateResources: template ? template.resources.length : null,
        templateLinked: template?.linked !== undefined,
      },
      subject: { objectId: r.requesterOid, name: r.requesterName ?? null },
      actor: { appId: r.requesterAppId },
      rule: r.ruleId,
      quorum: {
        count: state.policy.count,
        denyCount: state.policy.denyCount ?? 1,
        groups: state.policy.groups,
        users: state.policy.users,
        approvals,
        denials: state.decisions.length - approvals,
      },
      expiresAt: state.expiresAt,
      transition: { by: transition.by, reason: transition.reason, at: transition.at },
      links: {
        page: state.link,
        approve: `${state.link}?decision=approve`,
        deny: `${state.link}?decision=deny`,
        decision: `${state.link}/decision`,
        status: state.link,
      },
    },
  };
}

/** Why an event carries no body (null when there is none). */
function bodyNote(r: ApprovalRequestSummary): string | null {
  const body = r.view?.body;
  if (body === null) return null;
  if (body === undefined) return 'The body is not shown in this message.'; // from before whole-request views
  switch (body.kind) {
    case 'opaque':
      return `The body (${body.bytes} bytes) is not text: the approver page shows its size and SHA-256 only.`;
    case 'text':
      return `The body (${body.bytes} bytes) is not JSON: only the approver page shows it.`;
    case 'json':
      return `The body (${body.bytes} bytes) is too long for this message and is not shown.`;
  }
}

const headline = (e: ApprovalEvent) => {
  const d = e.data;
  const who = d.subject.name ?? d.subject.objectId ?? `app ${d.actor.appId}`;
  return `${d.status === 'pending' ? 'Approval needed' : `Approval ${d.status}`}: ${who} → ${d.request.method} ${d.request.path}`;
};

const facts = (e: ApprovalEvent): [string, string][] => {
  const d = e.data;
  const r = d.request;
  const rows: [string, string][] = [
    ['Connection', r.connection],
    ['Operation', r.operation ?? `${r.method} ${r.path}`],
    ['Resource', r.resource ?? r.path],
    ['Subject', d.subject.name ?? d.subject.objectId ?? '(none: app-only)'],
    ['Actor app', d.actor.appId],
    ['Rule', d.rule],
    ['Quorum', `${d.quorum.approvals}/${d.quorum.count} approvals`],
    ['Expires', d.expiresAt],
  ];
  if (r.embeddedRequests !== null) rows.push(['Embedded requests', String(r.embeddedRequests)]);
  if (r.templateResources !== null)
    rows.push(['Template', r.templateLinked ? 'linked template (not inspected)' : `${r.templateResources} resources`]);
  return rows;
};

/** The pointer every message carries: decide on the whole request, which only the page shows. */
const reviewLine = (e: ApprovalEvent) => {
  const r = e.data.request;
  const what = r.embeddedRequests !== null ? 'headers, body and embedded requests' : 'headers and body';
  const linked = r.templateLinked ? ' The deployment links a template whose contents were not inspected.' : '';
  return `${r.bodyNote ? `${r.bodyNote} ` : ''}Review the whole request (${what}) on the approver page before deciding.${linked}`;
};

/** Slack incoming webhook, Block Kit. */
export function slackMessage(e: ApprovalEvent): unknown {
  const preview = e.data.request.bodyPreview;
  return {
    text: headline(e),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: headline(e).slice(0, 150) } },
      {
        type: 'section',
        fields: facts(e)
          .map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` }))
          .slice(0, 10),
      },
      // The whole body or none of it: a cut body can hide what decides the outcome.
      ...(preview !== null ? [{ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${preview}\`\`\`` } }] : []),
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `${reviewLine(e)} <${e.data.links.page}|Open the full request>` },
      },
      {
        type: 'actions',
        elements: [
          { type: 'button', text: { type: 'plain_text', text: 'Review' }, url: e.data.links.page, style: 'primary' },
        ],
      },
    ],
  };
}

/** Teams Workflows webhook ("When a Teams webhook request is received"): an Adaptive Card attachment. */
export function teamsMessage(e: ApprovalEvent): unknown {
  const preview = e.data.request.bodyPreview;
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, text: headline(e) },
            { type: 'FactSet', facts: facts(e).map(([title, value]) => ({ title, value })) },
            ...(preview !== null ? [{ type: 'TextBlock', fontType: 'Monospace', wrap: true, text: preview }] : []),
            { type: 'TextBlock', wrap: true, text: `${reviewLine(e)} [Open the full request](${e.data.links.page})` },
          ],
          actions: [{ type: 'Action.OpenUrl', title: 'Review', url: e.data.links.page }],
        },
      },
    ],
  };
}

export function webhookBody(kind: WebhookKind, e: ApprovalEvent): string {
  return JSON.stringify(kind === 'slack' ? slackMessage(e) : kind === 'teams' ? teamsMessage(e) : e);
}
