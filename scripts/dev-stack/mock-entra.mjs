// A local stand-in for the Entra ID authority, for development and tests only.
//
// Serves, per tenant, the v1 and v2 OpenID discovery documents and the JWKS exactly where Entra
// does ({authority}/{tid}/.well-known/openid-configuration, {authority}/{tid}/v2.0/...,
// {authority}/{tid}/discovery/v2.0/keys), with Entra's real issuer strings, and mints RS256
// tokens shaped like Entra's v1/v2 access tokens. It never talks to the real Entra ID.
//
// It also serves a real-shaped token endpoint, POST {authority}/{tid}/oauth2/v2.0/token, for the
// on-behalf-of (jwt-bearer) and client_credentials grants. The confidential client (the gateway's
// app, `directory.gatewayAppId`) authenticates with `directory.gatewayClientSecret` or a PS256
// client assertion whose `x5t#S256` names a key registered with `registerClientKey`; the assertion
// is validated (signature, aud = this token endpoint, iss = sub = client id, exp, jti). An OBO
// assertion whose token carries the claim `mock_ca` gets a Conditional Access claims challenge.
// The service principals of `directory.servicePrincipals` are confidential clients too: with their
// `secret` they get app-only tokens (client_credentials) carrying their `groups`.
//
// For the real Azure CLI (MSAL): the resource owner password grant (`az login -u … -p …`, the
// directory's users with `directory.userPassword`: a v1 access token with the user's groups, an
// id_token, client_info and a refresh token), the refresh_token grant, user realm discovery
// (GET {authority}/common/userrealm/{user}: "Managed") and instance discovery
// (GET {authority}/common/discovery/instance: the host is its own only alias). With
// `tls: { key, cert }` the same endpoints are also served over https (`httpsUrl`); documents then
// name https URLs on the host the client asked for, so a client tunnelled to it as
// login.microsoftonline.com stays there.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { dirname } from 'node:path';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';

export const V1_ISSUER = (tid) => `https://sts.windows.net/${tid}/`;
export const V2_ISSUER = (tid) => `https://login.microsoftonline.com/${tid}/v2.0`;

async function loadOrCreateKey(keyFile) {
  if (keyFile && existsSync(keyFile)) {
    const jwk = JSON.parse(readFileSync(keyFile, 'utf8'));
    return { privateKey: await importJWK(jwk, 'RS256'), jwk };
  }
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  jwk.kid = createHash('sha256').update(jwk.n).digest('base64url').slice(0, 27);
  if (keyFile) {
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  }
  return { privateKey, jwk };
}

/**
 * Start the mock authority. Options: { port = 0, host = '127.0.0.1', keyFile, directory,
 * tls: { key, cert } (PEM; adds an https listener on another port) }.
 * Returns { url, httpsUrl (with tls), mint(options), close(), stats, setAvailable(bool), rotateKey(), kid }.
 */
export async function startMockEntra(options = {}) {
  let signing = await loadOrCreateKey(options.keyFile);
  const retired = [];
  const stats = { discovery: 0, jwks: 0, token: 0, grants: [] };
  /** Certificate keys of confidential clients, by x5t#S256: { clientId, publicKey }. */
  const clientKeys = new Map();
  let available = true;

  const publicJwks = () => ({
    keys: [signing, ...retired].map(({ jwk }) => ({
      kty: 'RSA',
      use: 'sig',
      kid: jwk.kid,
      x5t: jwk.kid,
      n: jwk.n,
      e: jwk.e,
    })),
  });

  const handle = async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!available) return send(503, { error: 'temporarily_unavailable' });
    const parts = url.pathname.split('/').filter(Boolean);
    const tid = parts[0];
    const rest = parts.slice(1).join('/');
    const base = `${req.socket.encrypted ? 'https' : 'http'}://${req.headers.host}`;
    if (rest === '.well-known/openid-configuration' || rest === 'v2.0/.well-known/openid-configuration') {
      stats.discovery++;
      const v2 = rest.startsWith('v2.0');
      return send(200, {
        issuer: v2 ? V2_ISSUER(tid) : V1_ISSUER(tid),
        jwks_uri: `${base}/${tid}/discovery/v2.0/keys`,
        token_endpoint: `${base}/${tid}/oauth2/${v2 ? 'v2.0/' : ''}token`,
        authorization_endpoint: `${base}/${tid}/oauth2/${v2 ? 'v2.0/' : ''}authorize`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (rest === 'discovery/v2.0/keys' || rest === 'discovery/keys') {
      stats.jwks++;
      return send(200, publicJwks());
    }
    if (rest === 'oauth2/v2.0/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      // The approver page redeems PKCE codes and the Azure CLI signs users in as public clients;
      // the gateway's app (OBO, client credentials) and service principals are confidential.
      const publicGrants = { authorization_code: redeem, password: passwordGrant, refresh_token: refreshGrant };
      const publicGrant = publicGrants[form.get('grant_type')];
      const result = publicGrant
        ? await publicGrant(form, tid)
        : await tokenEndpoint(tid, form, `${base}/${tid}/oauth2/v2.0/token`);
      return send(result.status, result.body);
    }
    if (tid === 'common' && rest === 'discovery/instance') {
      // MSAL asks for the host's aliases (token cache lookups, sign-out): it is its own only alias.
      const host = new URL(base).hostname;
      return send(200, {
        tenant_discovery_endpoint: `${base}/common/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
    }
    if (tid === 'common' && parts[1] === 'userrealm' && parts.length === 3) {
      return send(200, { ver: '1.0', account_type: 'Managed', domain_name: parts[2].split('@')[1] ?? '' });
    }
    if (url.pathname === '/_dev/token' && req.method === 'POST') {
      stats.token++;
      let body = '';
      for await (const chunk of req) body += chunk;
      try {
        return send(200, { access_token: await mint(JSON.parse(body || '{}')) });
      } catch (error) {
        return send(400, { error: String(error) });
      }
    }
    if (rest === 'oauth2/v2.0/authorize' && req.method === 'GET') return authorize(url, tid, res);
    return send(404, { error: 'not_found' });
  };
  const server = createServer(handle);
  const tlsServer = options.tls ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, handle) : undefined;

  // Authorization code flow with PKCE (development only): /authorize shows a sign-in form (any
  // user of the directory or a new name, and the groups to put in the token); submitting it
  // (the same URL with `login`) redirects to redirect_uri with a one-time code; /token redeems
  // the code only with the matching redirect_uri, client_id and S256 code_verifier.
  const codes = new Map();
  function authorize(url, tid, res) {
    const p = url.searchParams;
    const html = (status, body) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>Mock Entra sign-in</title></head><body>${body}</body></html>`);
    };
    if (p.get('response_type') !== 'code' || !p.get('redirect_uri') || !p.get('client_id')) {
      return html(400, '<p>response_type=code, client_id and redirect_uri are required</p>');
    }
    if (p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge')) {
      return html(400, '<p>PKCE with S256 is required</p>');
    }
    if (!p.get('login')) {
      const hidden = [...p]
        .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
        .join('');
      return html(
        200,
        `<h1>Sign in (mock Entra)</h1><form id="login" method="get">${hidden}
<label>User <input name="login" id="login-user" value="${escapeHtml(p.get('login_hint') ?? '')}"></label>
<label>Groups <input name="login_groups" id="login-groups" value=""></label>
<button type="submit" id="login-submit">Sign in</button></form>`,
      );
    }
    const code = randomBytes(24).toString('base64url');
    codes.set(code, {
      tid,
      user: p.get('login'),
      groups: (p.get('login_groups') ?? '')
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean),
      clientId: p.get('client_id'),
      redirectUri: p.get('redirect_uri'),
      challenge: p.get('code_challenge'),
      expires: Date.now() + 300_000,
    });
    const target = new URL(p.get('redirect_uri'));
    target.searchParams.set('code', code);
    if (p.get('state')) target.searchParams.set('state', p.get('state'));
    res.writeHead(302, { location: target.toString() });
    res.end();
  }

  async function redeem(form) {
    const error = (description) => ({ status: 400, body: { error: 'invalid_grant', error_description: description } });
    if (form.get('grant_type') !== 'authorization_code')
      return { status: 400, body: { error: 'unsupported_grant_type' } };
    const entry = codes.get(form.get('code') ?? '');
    codes.delete(form.get('code') ?? '');
    if (!entry || entry.expires < Date.now()) return error('unknown or expired code');
    if (entry.clientId !== form.get('client_id') || entry.redirectUri !== form.get('redirect_uri')) {
      return error('client_id or redirect_uri mismatch');
    }
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== entry.challenge)
      return error('PKCE verification failed');
    stats.token++;
    const accessToken = await mint({
      user: entry.user,
      groups: entry.groups,
      app: entry.clientId,
      tenantId: entry.tid,
      audience: directory.gatewayAppId,
    });
    return {
      status: 200,
      body: { token_type: 'Bearer', access_token: accessToken, expires_in: 3600, scope: form.get('scope') ?? '' },
    };
  }

  const directory = options.directory ?? {};

  /** Refresh tokens handed to signed-in users: token → { tid, username, clientId }. */
  const refreshTokens = new Map();

  /** Resource owner password credentials (`az login -u … -p …`): the directory's users only. */
  async function passwordGrant(form, tid) {
    const username = form.get('username') ?? '';
    if (!directory.users?.[username] || form.get('password') !== directory.userPassword) {
      return oauthError(400, 'invalid_grant', 'AADSTS50126: Error validating credentials.', { codes: [50126] });
    }
    return userTokens({ grant: 'password', tid, username, clientId: form.get('client_id'), scope: form.get('scope') });
  }

  async function refreshGrant(form, tid) {
    const session = refreshTokens.get(form.get('refresh_token') ?? '');
    if (!session || session.clientId !== form.get('client_id') || session.tid !== tid) {
      return oauthError(400, 'invalid_grant', 'AADSTS70000: unknown refresh token', { codes: [70000] });
    }
    return userTokens({ ...session, grant: 'refresh_token', scope: form.get('scope') });
  }

  /**
   * A signed-in user's tokens for `{resource}/.default`, shaped like Entra's answer to a public
   * client: a v1 access token (the user's groups, `scp`), an id_token for the client, client_info
   * (MSAL's account key) and a refresh token.
   */
  async function userTokens({ grant, tid, username, clientId, scope }) {
    const resourceScope = (scope ?? '').split(' ').find((s) => s.endsWith('/.default'));
    if (!clientId) return oauthError(400, 'invalid_request', 'client_id is required');
    if (!resourceScope) return oauthError(400, 'invalid_scope', 'scope must include {resource}/.default');
    stats.token++;
    stats.grants.push({ grant, scope });
    const audience = resourceScope.slice(0, -'/.default'.length);
    const user = directory.users[username];
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await mint({
      user: username,
      groups: user.groups ?? [],
      app: clientId,
      version: '1.0',
      audience,
      tenantId: tid,
    });
    const idToken = await sign({
      aud: clientId,
      iss: V2_ISSUER(tid),
      iat: now,
      nbf: now,
      exp: now + 3600,
      sub: randomUUIDFor(`sub:${user.oid}:${clientId}`),
      oid: user.oid,
      tid,
      name: user.name,
      preferred_username: username,
      ver: '2.0',
    });
    const refreshToken = randomBytes(32).toString('base64url');
    refreshTokens.set(refreshToken, { tid, username, clientId });
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        scope: `${audience}/user_impersonation ${resourceScope}`,
        expires_in: 3600,
        ext_expires_in: 3600,
        access_token: accessToken,
        id_token: idToken,
        refresh_token: refreshToken,
        client_info: Buffer.from(JSON.stringify({ uid: user.oid, utid: tid })).toString('base64url'),
      },
    };
  }

  const oauthError = (status, error, description, extra = {}) => ({
    status,
    body: {
      error,
      error_description: `${description}\r\nTrace ID: mock`,
      error_codes: extra.codes ?? [],
      ...extra.body,
    },
  });

  /** A confidential client of the directory by client id: { secret, groups: [names or ids] }. */
  function confidentialClient(clientId) {
    if (clientId === directory.gatewayAppId) return { secret: directory.gatewayClientSecret, groups: [] };
    return Object.values(directory.servicePrincipals ?? {}).find((sp) => sp.appId === clientId);
  }

  /** The confidential client's authentication: secret, or a validated PS256 assertion. */
  async function authenticateClient(form, endpoint) {
    const clientId = form.get('client_id');
    const client = confidentialClient(clientId);
    if (!client) return 'unknown client_id';
    if (form.has('client_secret')) {
      return form.get('client_secret') === client.secret ? null : 'invalid client secret';
    }
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return 'no client authentication';
    }
    const assertion = form.get('client_assertion') ?? '';
    try {
      const header = decodeProtectedHeader(assertion);
      const registered = clientKeys.get(header['x5t#S256']);
      if (header.alg !== 'PS256' || !registered || registered.clientId !== clientId) return 'unknown certificate';
      const { payload } = await jwtVerify(assertion, registered.publicKey, {
        algorithms: ['PS256'],
        audience: endpoint,
        issuer: clientId,
        subject: clientId,
        requiredClaims: ['exp', 'jti'],
      });
      if (payload.exp - Math.floor(Date.now() / 1000) > 3600) return 'assertion lives too long';
      return null;
    } catch (error) {
      return `invalid client assertion: ${error.code ?? error.message}`;
    }
  }

  async function tokenEndpoint(tid, form, endpoint) {
    stats.token++;
    const clientProblem = await authenticateClient(form, endpoint);
    if (clientProblem) return oauthError(401, 'invalid_client', clientProblem, { codes: [7000215] });
    const grant = form.get('grant_type');
    const scope = form.get('scope') ?? '';
    if (!scope.endsWith('/.default')) return oauthError(400, 'invalid_scope', 'scope must be {resource}/.default');
    const audience = scope.slice(0, -'/.default'.length);
    stats.grants.push({ grant, scope });
    const now = Math.floor(Date.now() / 1000);
    const common = { aud: audience, iss: V1_ISSUER(tid), iat: now, nbf: now, exp: now + 3600, tid, ver: '1.0' };
    const clientId = form.get('client_id');
    const appid = { appid: clientId, appidacr: form.has('client_secret') ? '1' : '2' };
    if (grant === 'client_credentials') {
      const groups = confidentialClient(clientId).groups.map((g) => directory.groups?.[g] ?? g);
      const token = await sign({
        ...common,
        ...appid,
        oid: randomUUIDFor(`sp:${clientId}`),
        idtyp: 'app',
        roles: [],
        ...(groups.length ? { groups } : {}),
      });
      return {
        status: 200,
        body: { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: token },
      };
    }
    const obo =
      grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer' && form.get('requested_token_use') === 'on_behalf_of';
    if (obo && clientId === directory.gatewayAppId) {
      let user;
      try {
        const key = await importJWK({ kty: 'RSA', n: signing.jwk.n, e: signing.jwk.e }, 'RS256');
        ({ payload: user } = await jwtVerify(form.get('assertion') ?? '', key, { algorithms: ['RS256'] }));
      } catch (error) {
        return oauthError(400, 'invalid_grant', `assertion invalid: ${error.code ?? error.message}`, {
          codes: [50013],
        });
      }
      const middleTier = [directory.gatewayAppId, directory.gatewayAppIdUri];
      if (!middleTier.includes(user.aud))
        return oauthError(400, 'invalid_grant', 'assertion audience is not this app', { codes: [50013] });
      if (user.idtyp === 'app' || !user.scp)
        return oauthError(400, 'invalid_grant', 'OBO needs a user token', { codes: [50058] });
      if (user.mock_ca) {
        const claims = JSON.stringify({
          access_token: { capolids: { essential: true, values: [String(user.mock_ca)] } },
        });
        return oauthError(400, 'invalid_grant', 'AADSTS50076: multi-factor authentication required', {
          codes: [50076],
          body: { suberror: 'basic_action', claims },
        });
      }
      const token = await sign({
        ...common,
        ...appid,
        oid: user.oid,
        sub: randomUUIDFor(`sub:${user.oid}:${audience}`),
        scp: 'user_impersonation',
        ...(user.name ? { name: user.name } : {}),
        upn: user.upn ?? user.preferred_username,
      });
      return {
        status: 200,
        body: { token_type: 'Bearer', scope, expires_in: 3600, ext_expires_in: 3600, access_token: token },
      };
    }
    return oauthError(400, 'unsupported_grant_type', `grant ${grant} is not supported here`);
  }

  const sign = (claims) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signing.jwk.kid, x5t: signing.jwk.kid })
      .sign(signing.privateKey);

  /**
   * Mint an Entra-shaped access token.
   * { user, groups: [names or ids], roles, scopes, app, appOnly, version: '1.0'|'2.0', audience,
   *   tenantId, expiresIn, notBefore, claims: {extra}, header: {extra} }
   */
  async function mint(o = {}) {
    const tid = o.tenantId ?? directory.tenantId;
    const version = o.version ?? '2.0';
    const now = Math.floor(Date.now() / 1000);
    const user = o.user ? (directory.users?.[o.user] ?? { oid: randomUUIDFor(o.user), name: o.user }) : undefined;
    const appId = directory.clients?.[o.app] ?? o.app ?? directory.clients?.['azure-cli'];
    const groups = (o.groups ?? []).map((g) => directory.groups?.[g] ?? g);
    const appOnly = o.appOnly ?? !user;
    const claims = {
      aud: o.audience ?? (version === '2.0' ? directory.gatewayAppId : directory.gatewayAppIdUri),
      iss: version === '2.0' ? V2_ISSUER(tid) : V1_ISSUER(tid),
      iat: now,
      nbf: o.notBefore ?? now,
      exp: now + (o.expiresIn ?? 3600),
      tid,
      ver: version,
      oid: appOnly ? (o.servicePrincipalOid ?? randomUUIDFor(`sp:${appId}`)) : user.oid,
      sub: randomUUIDFor(`sub:${appOnly ? appId : user.oid}`),
      ...(version === '2.0'
        ? { azp: appId, azpacr: appOnly ? '1' : '0' }
        : { appid: appId, appidacr: appOnly ? '1' : '0' }),
      ...(appOnly ? { idtyp: 'app', roles: o.roles ?? [] } : { scp: (o.scopes ?? ['user_impersonation']).join(' ') }),
      ...(!appOnly && user ? { name: user.name, [version === '2.0' ? 'preferred_username' : 'upn']: o.user } : {}),
      ...(!appOnly && o.roles ? { roles: o.roles } : {}),
      ...(groups.length ? { groups } : {}),
      ...o.claims,
    };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signing.jwk.kid, x5t: signing.jwk.kid, ...o.header })
      .sign(signing.privateKey);
  }

  await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  if (tlsServer) await new Promise((resolve) => tlsServer.listen(0, options.host ?? '127.0.0.1', resolve));
  // Test runners start these in their config: unref so they never keep a finished run alive.
  if (options.unref) {
    server.unref();
    tlsServer?.unref();
  }
  const address = server.address();
  const tlsAddress = tlsServer?.address();
  const stop = (s) =>
    new Promise((resolve) => {
      s.closeAllConnections?.();
      s.close(() => resolve());
    });
  return {
    url: `http://${address.address}:${address.port}`,
    httpsUrl: tlsAddress ? `https://${tlsAddress.address}:${tlsAddress.port}` : undefined,
    mint,
    stats,
    get kid() {
      return signing.jwk.kid;
    },
    /** Register a certificate key for client assertions: { clientId, publicKey, thumbprintS256 }. */
    registerClientKey({ clientId, publicKey, thumbprintS256 }) {
      clientKeys.set(thumbprintS256, { clientId, publicKey });
    },
    setAvailable(value) {
      available = value;
    },
    async rotateKey({ keepOld = true } = {}) {
      if (keepOld) retired.push(signing);
      signing = await loadOrCreateKey(undefined);
    },
    close: () => Promise.all([server, tlsServer].filter(Boolean).map(stop)).then(() => undefined),
  };
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A stable GUID-shaped id derived from a name (for users not in the directory). */
export function randomUUIDFor(name) {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
