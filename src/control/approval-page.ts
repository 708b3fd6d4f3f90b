/**
 * The approver's web page and its sign-in, under `/_gateway/`:
 * - `GET /approvals/{id}` when the client accepts text/html: the WHOLE request as the upstream will
 *   receive it (method, path, redacted query, headers without credentials, the complete masked
 *   body, embedded batch requests, template resources; src/approval/request-view.ts), every value
 *   HTML-escaped, and, for an eligible approver while pending, Approve / Deny with a reason;
 *   `POST /approvals/{id}/decide` (form) records the decision;
 * - `GET /signin` → Entra authorization code flow with PKCE (S256, RFC 7636) and `state`;
 *   `GET /signin/callback` redeems the code and keeps the access token (for the gateway's own
 *   audience, verified like any bearer token) in an HttpOnly, SameSite=Lax cookie scoped to
 *   `/_gateway`; `POST /signin/dev` mints a token at the development issuer (development and
 *   test only, when DEV_TOKEN_ISSUER is on).
 * Every page call is authenticated and audited like the JSON API (audited()); form posts carry a
 * CSRF token bound to the session and the approval, and a foreign Origin is refused.
 */
import { type Context, Hono, type Next } from 'hono';
import type { ApprovalState, BodyView, RequestView } from '../approval/index.ts';
import { badRequest } from '../errors.ts';
import { loadGateway } from '../gateway.ts';
import { sha256Hex } from '../util/sha256.ts';
import { applyDecision, approvalNotFound, approvalStub, mayView, rememberGroups } from './approvals-api.ts';
import { audited, auditedRoute, type ControlEnv, forbidden } from './audited.ts';

const SESSION = 'edgeward_session';
const PKCE = 'edgeward_pkce';

const esc = (value: unknown) => String(value ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function cookies(request: Request): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) map.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return map;
}

function cookie(request: Request, name: string, value: string, path: string, maxAge: number): string {
  const secure = new URL(request.url).protocol === 'https:' ? '; Secure' : '';
  return `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
}

/** The request as if the session token had been sent as a bearer token. */
function withSession(request: Request): Request | undefined {
  const token = cookies(request).get(SESSION);
  if (!token) return undefined;
  const headers = new Headers(request.headers);
  headers.set('authorization', `Bearer ${token}`);
  return new Request(request.url, { method: request.method, headers });
}

const csrfFor = async (request: Request, id: string) =>
  (await sha256Hex(`csrf:${cookies(request).get(SESSION) ?? ''}:${id}`)).slice(0, 32);

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const safeReturn = (value: string | null | undefined) =>
  value && /^\/_gateway\/approvals\/[0-9a-f]{32}$/.test(value) ? value : '/_gateway/approvals';

function html(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Edgeward approval</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}dt{font-weight:600}
pre{background:#f4f4f4;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere}.status{font-size:1.2rem}button{margin-right:.5rem}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.note{color:#444;font-size:.9rem}.warn{background:#fff3cd;padding:.4rem}</style>
</head><body>${body}</body></html>`,
    {
      status,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy':
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'",
        'x-frame-options': 'DENY',
        ...headers,
      },
    },
  );
}

async function signInPage(env: Env, id: string): Promise<Response> {
  const gateway = await loadGateway(env);
  const back = `/_gateway/approvals/${id}`;
  const dev =
    gateway.config.devTokenIssuer &&
    gateway.config.environment !== 'production' &&
    gateway.config.environment !== 'staging';
  return html(
    `<h1>Approval ${esc(id)}</h1><p>Sign in to review this request.</p>
<p><a id="signin" href="/_gateway/signin?return=${encodeURIComponent(back)}">Sign in with Microsoft Entra ID</a></p>
${
  dev
    ? `<form id="dev-signin" method="post" action="/_gateway/signin/dev"><fieldset><legend>Development sign-in</legend>
<input type="hidden" name="return" value="${esc(back)}">
<label>User <input name="user" value="bob@contoso.com"></label>
<label>Groups <input name="groups" value="approvers"></label>
<button type="submit">Dev sign-in</button></fieldset></form>`
    : ''
}`,
    200,
  );
}

/** The whole request as the upstream will receive it (src/approval/request-view.ts), escaped. */
function requestSection(view: RequestView): string {
  const target = `${view.path}${view.query ? `?${view.query}` : ''}`;
  const headers = view.headers.length
    ? `<table id="headers"><thead><tr><th>Header</th><th>Value</th></tr></thead><tbody>${view.headers
        .map((h) => `<tr><td>${esc(h.name)}</td><td>${esc(h.value)}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p id="headers">(no client headers)</p>';
  return `<h2>Request</h2>
<pre id="request-line">${esc(view.method)} ${esc(target)}</pre>
<p class="note">Connection <strong>${esc(view.connection)}</strong>: the path and query as the upstream receives them (query values that look like credentials read REDACTED).</p>
<h3>Headers</h3>
${headers}
<p class="note">Not shown: credentials (Authorization, cookies, subject tokens and any header named like a credential) — the gateway sends its own credential — and the request id, forwarding and trace headers the gateway sets.</p>
<h3>Body</h3>
${bodySection(view.body)}
${embeddedSection(view)}
${templateSection(view)}`;
}

function bodySection(body: BodyView | null): string {
  if (!body) return '<p id="body-none">(no body)</p>';
  const facts = `${body.bytes} bytes, SHA-256 <code id="body-sha256">${esc(body.sha256)}</code>`;
  if (body.kind === 'opaque') {
    const why = {
      binary: 'binary',
      not_utf8: 'not valid UTF-8 text',
      unmaskable: 'JSON-like but malformed or nested too deeply to be masked',
      unrenderable: 'not renderable',
    }[body.reason];
    return `<p id="body-opaque" class="warn">The body is ${why} and is not shown: ${facts}. Approve only if you know what these bytes are.</p>`;
  }
  const duplicates =
    body.kind === 'json' && body.duplicateMembers.length
      ? `<p id="duplicates" class="warn">Duplicate members (each occurrence is shown; the upstream may use either): ${body.duplicateMembers
          .map((d) => `<code>${esc(d)}</code>`)
          .join(', ')}</p>`
      : '';
  const how =
    body.kind === 'json'
      ? 'JSON, complete, re-serialised with every member in order; secret values read "***"'
      : 'text, complete; lines and form fields that look like secrets read "***"';
  return `<p class="note">${how} (${facts}).</p>${duplicates}<pre id="body">${esc(body.text)}</pre>`;
}

function embeddedSection(view: RequestView): string {
  if (!view.embedded) return '';
  const rows = view.embedded
    .map(
      (e) =>
        `<tr><td>${esc(e.name)}</td><td>${esc(e.method)}</td><td>${esc(e.url)}</td><td>${esc(e.operation)}</td><td>${esc(e.resourceId)}</td><td>${esc(e.decision)}</td><td>${esc(e.ruleIds.join(', '))}</td></tr>`,
    )
    .join('');
  return `<h3>Embedded requests (${view.embedded.length})</h3>
<p class="note">This batch runs each of these requests; each was judged by policy as listed.</p>
<table id="embedded"><thead><tr><th>Name</th><th>Method</th><th>URL</th><th>Operation</th><th>Resource</th><th>Decision</th><th>Rules</th></tr></thead><tbody>${rows || '<tr><td colspan="7">(none)</td></tr>'}</tbody></table>`;
}

function templateSection(view: RequestView): string {
  const t = view.templateResources;
  if (!t) return '';
  const linked =
    t.linked !== undefined
      ? `<p id="template-linked" class="warn">The template is linked, not inline: <code>${esc(t.linked)}</code>. Its contents were not inspected and may change before the deployment runs.</p>`
      : '';
  const rows = t.resources.map((r) => `<tr><td>${esc(r.type)}</td><td>${esc(r.name)}</td></tr>`).join('');
  const table = t.resources.length
    ? `<table id="template-resources"><thead><tr><th>Type</th><th>Name</th></tr></thead><tbody>${rows}</tbody></table>`
    : '';
  const truncated = t.truncated
    ? '<p id="template-truncated" class="warn">The list of resources is incomplete: the template deploys more than are listed here (see the body).</p>'
    : '';
  return `<h3>Template deployment: resources</h3>${linked}${table}${truncated}`;
}

/** Approvals opened before whole-request views: the old preview may be a cut prefix. */
function legacySection(r: ApprovalState['request']): string {
  return `<h2>Request</h2><p id="legacy" class="warn">This approval was opened before the gateway showed whole requests: what follows may be incomplete. Deny it and have the request sent again to see all of it.</p>
<dl><dt>Query</dt><dd>${esc(r.query || '(none)')}</dd></dl>
${r.bodyPreview ? `<pre id="body">${esc(r.bodyPreview)}</pre>` : ''}`;
}

function view(state: ApprovalState, canDecide: boolean, csrf: string, flash: string, preselect: string): string {
  const r = state.request;
  const approvals = state.decisions.filter((d) => d.verdict === 'approve').length;
  return `<h1>Approval for ${esc(r.method)} ${esc(r.path)}</h1>
${flash ? `<p id="flash">${esc(flash)}</p>` : ''}
<p class="status">Status: <strong id="status">${esc(state.status)}</strong> (round ${state.round})</p>
<dl>
<dt>Requested by</dt><dd>${esc(r.requesterName ?? r.requesterOid ?? '(app only)')} via app ${esc(r.requesterAppId)}</dd>
<dt>Connection</dt><dd>${esc(r.connection)}</dd>
<dt>Operation</dt><dd>${esc(r.operation ?? `${r.method} ${r.path}`)}</dd>
<dt>Resource</dt><dd>${esc(r.resource ?? r.path)}</dd>
<dt>Rule</dt><dd>${esc(r.ruleId)}</dd>
<dt>Quorum</dt><dd>${approvals} of ${state.policy.count} approvals</dd>
<dt>Expires</dt><dd>${esc(state.expiresAt)}</dd>
</dl>
${r.view ? requestSection(r.view) : legacySection(r)}
<h2>Decisions</h2><ul>${state.decisions.map((d) => `<li>${esc(d.verdict)} by ${esc(d.approverOid)} at ${esc(d.at)}${d.reason ? `: ${esc(d.reason)}` : ''}</li>`).join('') || '<li>none yet</li>'}</ul>
${
  canDecide
    ? `<form id="decide" method="post" action="/_gateway/approvals/${esc(state.id)}/decide">
<input type="hidden" name="csrf" value="${esc(csrf)}">
<p class="note">An approval lets this request run once: the same requester sending the same method, path, query, body, content type, preconditions and impersonation headers.</p>
<label>Reason<br><textarea name="reason" rows="3" cols="60" maxlength="500"></textarea></label><br>
<button type="submit" name="decision" value="approve" id="approve"${preselect === 'approve' ? ' autofocus' : ''}>Approve</button>
<button type="submit" name="decision" value="deny" id="deny"${preselect === 'deny' ? ' autofocus' : ''}>Deny</button></form>`
    : ''
}`;
}

const wantsHtml = (c: Context<ControlEnv>) => {
  const accept = c.req.header('accept') ?? '';
  return accept.includes('text/html') && !c.req.header('authorization');
};

export const approvalPage = new Hono<ControlEnv>()
  .get('/approvals/:id', async (c, next: Next) => {
    if (!wantsHtml(c)) return next();
    const id = c.req.param('id');
    if (!/^[0-9a-f]{32}$/.test(id)) return html('<h1>No such approval</h1>', 404);
    const request = withSession(c.req.raw);
    if (!request) return signInPage(c.env, id);
    const response = await audited(request, c.env, c.executionCtx, 'approval page', async (_g, principal, audit) => {
      audit.record.approvalId = id;
      const state = await approvalStub(c.env, id).status();
      if (!state) throw approvalNotFound();
      if (!mayView(state, principal))
        throw forbidden('Only the requester and eligible approvers may see this.', 'page: not allowed');
      c.executionCtx.waitUntil(rememberGroups(c.env.AUDIT_DB, principal, Date.now()));
      const oid = principal.subject?.objectId;
      const canDecide =
        state.status === 'pending' &&
        oid !== undefined &&
        oid !== state.request.requesterOid &&
        !state.decisions.some((d) => d.approverOid === oid);
      return html(
        view(state, canDecide, await csrfFor(c.req.raw, id), c.req.query('flash') ?? '', c.req.query('decision') ?? ''),
      );
    });
    // An expired or invalid session: sign in again rather than show a JSON problem.
    if (response.status === 401) return signInPage(c.env, id);
    if (response.ok) return response;
    const problem = (await response.json().catch(() => ({}))) as { detail?: string };
    return html(
      `<h1>Not available</h1><p id="error">${esc(problem.detail ?? response.statusText)}</p>`,
      response.status,
    );
  })
  .post('/approvals/:id/decide', async (c) => {
    const id = c.req.param('id');
    const request = withSession(c.req.raw);
    if (!request) return c.redirect(`/_gateway/approvals/${id}`, 303);
    const form = await c.req.formData().catch(() => undefined);
    const response = await audited(
      request,
      c.env,
      c.executionCtx,
      'approval page decision',
      async (_g, principal, audit) => {
        audit.record.approvalId = id;
        const origin = c.req.header('origin');
        if (origin && origin !== new URL(c.req.url).origin)
          throw forbidden('Cross-site form post refused.', 'foreign origin');
        if (!form || form.get('csrf') !== (await csrfFor(c.req.raw, id)))
          throw forbidden('The form expired; reload the page.', 'csrf mismatch');
        const decision = form.get('decision');
        if (decision !== 'approve' && decision !== 'deny') throw badRequest('decision must be approve or deny');
        const reason = String(form.get('reason') ?? '').slice(0, 500);
        if (!principal.subject) throw forbidden('Approvals are decided by people, not apps.', 'app-only approver');
        await applyDecision(
          c.env,
          id,
          { objectId: principal.subject.objectId, appId: principal.actor.appId, groups: principal.groups },
          decision,
          reason,
          'page',
        );
        audit.record.approvers = [principal.subject.objectId];
        return new Response(null, {
          status: 303,
          headers: { location: `/_gateway/approvals/${id}?flash=${decision === 'approve' ? 'Approved' : 'Denied'}` },
        });
      },
    );
    if (response.status === 303) return response;
    const problem = (await response.json().catch(() => ({}))) as { detail?: string };
    return html(
      `<h1>Decision refused</h1><p id="error">${esc(problem.detail ?? response.statusText)}</p><p><a href="/_gateway/approvals/${esc(id)}">Back</a></p>`,
      response.status,
    );
  })
  .get('/signin', auditedRoute('sign-in start'), async (c) => {
    const gateway = await loadGateway(c.env);
    const clientId = c.env.APPROVAL_PAGE_CLIENT_ID;
    const tenant = gateway.config.tenantAllowlist[0];
    const audience = gateway.config.defaultAudiences[0];
    if (!clientId || !tenant || !audience) return html('<h1>Sign-in is not configured</h1>', 500);
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
    const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
    const origin = new URL(c.req.url).origin;
    const authorize = new URL(`${gateway.config.authority}/${tenant}/oauth2/v2.0/authorize`);
    authorize.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: `${origin}/_gateway/signin/callback`,
      response_mode: 'query',
      scope: `${audience.replace(/\/$/, '')}/.default openid profile`,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const back = encodeURIComponent(safeReturn(c.req.query('return')));
    return new Response(null, {
      status: 302,
      headers: {
        location: authorize.toString(),
        'set-cookie': cookie(c.req.raw, PKCE, `${state}.${verifier}.${back}`, '/_gateway/signin', 600),
      },
    });
  })
  .get('/signin/callback', auditedRoute('sign-in callback'), async (c) => {
    const [state, verifier, back] = (cookies(c.req.raw).get(PKCE) ?? '').split('.');
    if (!state || !verifier || c.req.query('state') !== state)
      return html('<h1>Sign-in failed</h1><p>State mismatch; start again.</p>', 400);
    const code = c.req.query('code');
    if (!code) return html(`<h1>Sign-in failed</h1><p>${esc(c.req.query('error_description') ?? 'no code')}</p>`, 400);
    const gateway = await loadGateway(c.env);
    const tenant = gateway.config.tenantAllowlist[0];
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: c.env.APPROVAL_PAGE_CLIENT_ID,
      code,
      redirect_uri: `${new URL(c.req.url).origin}/_gateway/signin/callback`,
      code_verifier: verifier,
    });
    if (c.env.APPROVAL_PAGE_CLIENT_SECRET) form.set('client_secret', c.env.APPROVAL_PAGE_CLIENT_SECRET);
    const redeemed = await fetch(`${gateway.config.authority}/${tenant}/oauth2/v2.0/token`, {
      method: 'POST',
      body: form,
    });
    const token = (await redeemed.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
    if (!redeemed.ok || !token.access_token)
      return html('<h1>Sign-in failed</h1><p>The code could not be redeemed.</p>', 502);
    return sessionRedirect(c.req.raw, token.access_token, token.expires_in ?? 3600, decodeURIComponent(back ?? ''));
  })
  .post('/signin/dev', auditedRoute('development sign-in'), async (c) => {
    const gateway = await loadGateway(c.env);
    const { environment, devTokenIssuer, authority } = gateway.config;
    if (!devTokenIssuer || environment === 'production' || environment === 'staging')
      return html('<h1>Not available</h1>', 404);
    const form = await c.req.formData();
    const groups = String(form.get('groups') ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    const minted = await fetch(`${authority}/_dev/token`, {
      method: 'POST',
      body: JSON.stringify({ user: String(form.get('user') ?? ''), groups }),
    });
    const token = (await minted.json().catch(() => ({}))) as { access_token?: string };
    if (!minted.ok || !token.access_token) return html('<h1>Dev sign-in failed</h1>', 502);
    return sessionRedirect(c.req.raw, token.access_token, 3600, String(form.get('return') ?? ''));
  });

function sessionRedirect(request: Request, token: string, expiresIn: number, back: string): Response {
  const headers = new Headers({ location: safeReturn(back) });
  headers.append('set-cookie', cookie(request, SESSION, token, '/_gateway', Math.max(60, Math.min(expiresIn, 3600))));
  headers.append('set-cookie', cookie(request, PKCE, '', '/_gateway/signin', 0));
  return new Response(null, { status: 303, headers });
}
