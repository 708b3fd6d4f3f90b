/**
 * A minimal Entra ID token client for the two grants a gateway needs: on-behalf-of (RFC 7523
 * jwt-bearer with `requested_token_use=on_behalf_of`) and client credentials (RFC 6749 §4.4).
 *
 * Contract: talks only to `{authority}/{tenant}/oauth2/v2.0/token` through the injected `fetch`;
 * reads no clock except the `now` it is given; authenticates the gateway's app with a client
 * secret or a certificate assertion (RFC 7523 §2.2, `alg` PS256, header `x5t#S256`, `aud` = the
 * token endpoint, lifetime 10 minutes). Returns results, never throws for an Entra refusal: a
 * Conditional Access claims challenge is its own result so the caller can pass it to the client.
 * No token, secret or assertion appears in a result's `detail`.
 *
 * Reusable outside the proxy (e.g. a Graph group-overage lookup with client credentials).
 */
import { SignJWT } from 'jose';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export type ClientAuthentication =
  | { kind: 'secret'; clientId: string; secret: string }
  /** `privateKey`: RSA key usable for PS256; `thumbprintS256`: base64url SHA-256 of the certificate's DER. */
  | { kind: 'certificate'; clientId: string; privateKey: CryptoKey; thumbprintS256: string };

export interface IssuedToken {
  accessToken: string;
  /** Milliseconds since epoch. */
  expiresAt: number;
}

export type TokenResult =
  | { ok: true; token: IssuedToken }
  | { ok: false; reason: 'claims_challenge'; claims: string; detail: string }
  | { ok: false; reason: 'rejected' | 'unavailable'; detail: string };

export interface EntraTokenClientOptions {
  /** e.g. https://login.microsoftonline.com (no trailing slash). */
  authority: string;
  client: ClientAuthentication;
  fetch: FetchLike;
}

const TENANT = /^[0-9a-f-]{36}$|^[a-z0-9.-]+$/i;

export class EntraTokenClient {
  readonly #options: EntraTokenClientOptions;

  constructor(options: EntraTokenClientOptions) {
    if (!/^https?:\/\/[^/]+$/.test(options.authority)) throw new Error('authority must be an origin without a path');
    this.#options = options;
  }

  get clientId(): string {
    return this.#options.client.clientId;
  }

  tokenEndpoint(tenantId: string): string {
    return `${this.#options.authority}/${tenantId}/oauth2/v2.0/token`;
  }

  /** Exchange a user's token (audience: this app) for one to `scope` (Entra OBO). */
  onBehalfOf(tenantId: string, assertion: string, scope: string, nowMs: number): Promise<TokenResult> {
    return this.#request(
      tenantId,
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion,
        scope,
        requested_token_use: 'on_behalf_of',
      },
      nowMs,
    );
  }

  /** This app's own app-only token for `scope` (`{resource}/.default`). */
  clientCredentials(tenantId: string, scope: string, nowMs: number): Promise<TokenResult> {
    return this.#request(tenantId, { grant_type: 'client_credentials', scope }, nowMs);
  }

  async #request(tenantId: string, grant: Record<string, string>, nowMs: number): Promise<TokenResult> {
    if (!TENANT.test(tenantId)) return { ok: false, reason: 'rejected', detail: 'tenant id is not a GUID or domain' };
    const endpoint = this.tokenEndpoint(tenantId);
    const form = new URLSearchParams({ client_id: this.#options.client.clientId, ...grant });
    const client = this.#options.client;
    if (client.kind === 'secret') {
      form.set('client_secret', client.secret);
    } else {
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', await certificateAssertion(client, endpoint, nowMs));
    }
    let response: Response;
    try {
      response = await this.#options.fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      });
    } catch (error) {
      return { ok: false, reason: 'unavailable', detail: `token endpoint unreachable: ${String(error).slice(0, 200)}` };
    }
    let body: Record<string, unknown>;
    try {
      body = (await response.json()) as Record<string, unknown>;
    } catch {
      return { ok: false, reason: 'unavailable', detail: `token endpoint answered ${response.status} without JSON` };
    }
    if (response.ok && typeof body.access_token === 'string') {
      const lifetime = Number(body.expires_in);
      const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 300;
      return { ok: true, token: { accessToken: body.access_token, expiresAt: nowMs + seconds * 1000 } };
    }
    const error = typeof body.error === 'string' ? body.error : `http_${response.status}`;
    const codes = Array.isArray(body.error_codes) ? body.error_codes.join(',') : '';
    const detail = `${error}${codes ? ` (AADSTS ${codes})` : ''}`;
    // Conditional Access: Entra answers invalid_grant/interaction_required with a `claims`
    // member, which the client must present at its next sign-in (OBO docs, "error response").
    if (typeof body.claims === 'string' && body.claims !== '') {
      return { ok: false, reason: 'claims_challenge', claims: body.claims, detail };
    }
    return {
      ok: false,
      reason: response.status >= 500 || response.status === 429 ? 'unavailable' : 'rejected',
      detail,
    };
  }
}

/** RFC 7523 client assertion signed with the app's certificate key (Entra: PS256 + x5t#S256). */
export function certificateAssertion(
  client: Extract<ClientAuthentication, { kind: 'certificate' }>,
  audience: string,
  nowMs: number,
): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': client.thumbprintS256 })
    .setIssuer(client.clientId)
    .setSubject(client.clientId)
    .setAudience(audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 600)
    .sign(client.privateKey);
}
