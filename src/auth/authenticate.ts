/**
 * Authenticate a request: bearer token (+ optional subject token) → verified `Principal`, or a
 * typed error.
 *
 * Contract:
 * - the `Authorization: Bearer` token is verified (via the verified-token cache) against the
 *   connection's audiences; failure → `EDGEWARD_TOKEN_MISSING` / `EDGEWARD_TOKEN_INVALID` (401) or
 *   `EDGEWARD_KEYS_UNAVAILABLE` (503), precise reason in `auditDetail` only;
 * - agent on behalf of a human: when the subject-token header is present (even empty), it must hold
 *   a human's delegated token for the same tenant and an accepted audience, and the bearer token
 *   must be app-only; both are verified, the human becomes the subject and the agent the actor.
 *   Anything else → `EDGEWARD_SUBJECT_TOKEN_INVALID` (401): a subject token is never dropped;
 * - group overage is resolved through the `GroupResolver`; when it cannot be, the principal says
 *   `groupsResolved: false` and the request goes on (policy fails closed on group conditions).
 */
import { tokenMissing } from '../errors.ts';
import { actorTokenError, subjectTokenInvalid } from './auth-errors.ts';
import { bearerToken } from './bearer.ts';
import type { EntraKeySource } from './entra-keys.ts';
import type { GroupResolver } from './group-resolver.ts';
import { type Principal, principalWithSubject } from './principal.ts';
import type { VerifiedTokenCache } from './token-cache.ts';
import { tokenDigest } from './token-digest.ts';
import { audienceAccepted, MAX_TOKEN_CHARS, type VerifyResult, verifyAccessToken } from './verify-token.ts';

export interface AuthenticatorOptions {
  keys: EntraKeySource;
  tenantAllowlist: readonly string[];
  clockToleranceSeconds: number;
  /** Header carrying the human's token when an agent acts on a human's behalf (lowercase). */
  subjectTokenHeader: string;
  tokenCache?: VerifiedTokenCache;
  groups?: GroupResolver;
}

export interface AuthenticateContext {
  /** Audiences the connection accepts (GUID client id and/or App ID URI). */
  audiences: readonly string[];
  nowMs: number;
  /** The connection forwards the caller's token upstream (only changes the wording of refusals). */
  passthrough?: boolean;
  waitUntil?: (promise: Promise<unknown>) => void;
}

export class Authenticator {
  readonly #options: AuthenticatorOptions;

  constructor(options: AuthenticatorOptions) {
    this.#options = { ...options, subjectTokenHeader: options.subjectTokenHeader.toLowerCase() };
  }

  /** Readiness of every allowed tenant's v1 and v2 signing keys (for `/_gateway/ready`). */
  async keyReadiness(): Promise<{ tenant: string; version: '1.0' | '2.0'; ok: boolean; detail: string }[]> {
    const checks = this.#options.tenantAllowlist.flatMap((tenant) =>
      (['1.0', '2.0'] as const).map(async (version) => {
        const result = await this.#options.keys.readiness(tenant, version);
        return { tenant, version, ok: result.ok, detail: result.ok ? `${result.keys} keys` : result.reason };
      }),
    );
    return Promise.all(checks);
  }

  get subjectTokenHeader(): string {
    return this.#options.subjectTokenHeader;
  }

  async authenticate(headers: Headers, context: AuthenticateContext): Promise<Principal> {
    const token = bearerToken(headers);
    if (token === undefined) {
      throw tokenMissing(
        headers.has('authorization') ? 'authorization header is not a single bearer token' : undefined,
      );
    }
    const result = await this.verify(token, context);
    if (!result.ok) throw actorTokenError(result.reason, result.detail, context.passthrough === true);
    const actor = result.principal;

    const header = this.#options.subjectTokenHeader;
    const subjectToken = headers.get(header);
    if (subjectToken === null) return this.#withGroups(actor, context.nowMs);
    if (!actor.actor.appOnly || actor.subject !== null) {
      throw subjectTokenInvalid(header, 'sent with a delegated bearer token (only app-only tokens act for a human)');
    }
    const human = await this.verify(subjectToken.trim(), context);
    if (!human.ok) {
      if (human.reason === 'keys_unavailable') throw actorTokenError(human.reason, human.detail, false);
      throw subjectTokenInvalid(header, `${human.reason}: ${human.detail}`);
    }
    if (human.principal.subject === null) throw subjectTokenInvalid(header, 'app-only token, not a human user');
    if (human.principal.tenantId !== actor.tenantId) {
      throw subjectTokenInvalid(
        header,
        `tenant ${human.principal.tenantId} differs from the actor's ${actor.tenantId}`,
      );
    }
    return principalWithSubject(actor, await this.#withGroups(human.principal, context.nowMs));
  }

  /** Verify one token, answering from the verified-token cache when possible. */
  async verify(token: string, context: AuthenticateContext): Promise<VerifyResult> {
    // Hash nothing unbounded: oversized input is refused by the verifier before any work.
    const cache = token.length <= MAX_TOKEN_CHARS ? this.#options.tokenCache : undefined;
    const digest = cache ? tokenDigest(token) : '';
    const hit = cache?.get(digest, context.nowMs);
    if (hit) {
      // The cache is shared by all connections: the audience is checked per request.
      return audienceAccepted(hit.audiences, context.audiences)
        ? { ok: true, ...hit }
        : { ok: false, reason: 'audience_mismatch', detail: `aud ${JSON.stringify(hit.audiences)} not accepted` };
    }
    const result = await verifyAccessToken(token, this.#options.keys, {
      tenantAllowlist: this.#options.tenantAllowlist,
      audiences: context.audiences,
      clockToleranceSeconds: this.#options.clockToleranceSeconds,
      now: new Date(context.nowMs),
      ...(context.waitUntil ? { waitUntil: context.waitUntil } : {}),
    });
    if (result.ok) cache?.set(digest, { principal: result.principal, audiences: result.audiences });
    return result;
  }

  /** Fill in overage groups from Graph; unknown stays unknown (`groupsResolved: false`). */
  async #withGroups(principal: Principal, nowMs: number): Promise<Principal> {
    if (principal.groupsResolved !== false || !this.#options.groups) return principal;
    const objectId = principal.subject?.objectId ?? principal.actor.objectId;
    if (!objectId) return principal;
    const groups = await this.#options.groups.resolve(
      { tenantId: principal.tenantId, objectId, kind: principal.subject ? 'user' : 'servicePrincipal' },
      nowMs,
    );
    return groups ? { ...principal, groups, groupsResolved: true } : principal;
  }
}
