/**
 * Decide what credential the upstream receives for one request, per the connection's mode:
 * `none`, `passthrough` (the caller's own token), `on_behalf_of`, `client_credentials`, `static`.
 *
 * Contract: the caller's `Authorization` reaches the upstream only in `passthrough`, and only on a
 * connection that declares its own `audiences` (so the verified audience is the upstream's, never
 * the gateway's — no confused deputy). Exchanged tokens come from the cache (per tenant + subject
 * + scope). Secrets are read by name from Worker secrets only. Failures throw typed errors:
 * claims challenge → 401 with the challenge, no human for OBO → 403, anything else → 503.
 */
import type { Principal } from '../../auth/index.ts';
import { tokenDigest } from '../../auth/token-digest.ts';
import { misconfigured } from '../../errors.ts';
import type { ConnectionSource } from '../../policy/schema.ts';
import { claimsChallenge, credentialUnavailable } from '../errors.ts';
import type { EntraTokenClient, TokenResult } from './entra-token-client.ts';
import type { TokenCache } from './token-cache.ts';

export type CredentialMode = 'none' | 'passthrough' | 'on_behalf_of' | 'client_credentials' | 'static';

export interface UpstreamAuth {
  mode: CredentialMode;
  /** Keep the caller's Authorization header (passthrough only). */
  forwardCallerAuthorization: boolean;
  /** A header to set on the upstream request (replacing any caller value). */
  header?: { name: string; value: string };
}

export interface CredentialContext {
  connection: ConnectionSource;
  principal: Principal;
  /** The verified bearer token the caller presented (the OBO assertion). */
  callerToken: string | undefined;
  nowMs: number;
}

export interface CredentialDeps {
  /** Undefined when the gateway has no app credentials configured (the reason is in `tokenClientProblem`). */
  tokens: EntraTokenClient | undefined;
  tokenClientProblem?: string;
  cache: TokenCache;
  authority: string;
  secret(name: string): string | undefined;
}

export function credentialMode(connection: ConnectionSource): CredentialMode {
  const credential = connection.credential;
  return typeof credential === 'string' ? credential : credential.mode;
}

export async function upstreamCredential(context: CredentialContext, deps: CredentialDeps): Promise<UpstreamAuth> {
  const { connection, principal, nowMs } = context;
  const credential = connection.credential;
  const mode = credentialMode(connection);
  switch (mode) {
    case 'none':
      return { mode, forwardCallerAuthorization: false };
    case 'passthrough':
      if (!connection.audiences?.length) {
        throw misconfigured(`connection ${connection.name}: passthrough needs the upstream's audiences declared`);
      }
      return { mode, forwardCallerAuthorization: true };
    case 'static': {
      if (typeof credential === 'string' || credential.mode !== 'static') throw misconfigured('static without header');
      const value = deps.secret(credential.secret);
      if (!value) throw credentialUnavailable(`Worker secret ${credential.secret} is not set`);
      return { mode, forwardCallerAuthorization: false, header: { name: credential.header, value } };
    }
    case 'on_behalf_of':
    case 'client_credentials': {
      if (typeof credential === 'string' || !('scope' in credential)) throw misconfigured(`${mode} without scope`);
      const tokens = deps.tokens;
      if (!tokens) throw credentialUnavailable(deps.tokenClientProblem ?? 'no Entra client credentials configured');
      const scope = credential.scope;
      let result: TokenResult;
      if (mode === 'on_behalf_of') {
        const subject = principal.subject;
        if (!subject || principal.actor.appOnly || !context.callerToken) {
          throw credentialUnavailable(
            'on_behalf_of needs a delegated user token',
            403,
            'This connection acts on behalf of a signed-in person; app-only tokens cannot be exchanged.',
          );
        }
        const assertion = context.callerToken;
        // An exchanged token never outlives the caller's own: after that, the human must be re-verified.
        const callerExpiry = principal.expiresAt * 1000;
        // Keyed by the caller's token, not the person: an exchanged token carries the conditions of
        // the sign-in it came from (client app, MFA, answered claims), so another token of the same
        // user — another app, a weaker sign-in — must go to Entra itself (and meet its challenges).
        const key = `obo|${tokenDigest(assertion)}|${scope}`;
        result = await deps.cache.get(key, nowMs, async () => {
          const exchanged = await tokens.onBehalfOf(principal.tenantId, assertion, scope, nowMs);
          if (!exchanged.ok || exchanged.token.expiresAt <= callerExpiry) return exchanged;
          return { ok: true, token: { ...exchanged.token, expiresAt: callerExpiry } };
        });
      } else {
        result = await deps.cache.get(`app|${principal.tenantId}|${scope}`, nowMs, () =>
          tokens.clientCredentials(principal.tenantId, scope, nowMs),
        );
      }
      if (result.ok) {
        return {
          mode,
          forwardCallerAuthorization: false,
          header: { name: 'authorization', value: `Bearer ${result.token.accessToken}` },
        };
      }
      const detail = `${mode} for ${scope}: ${result.detail}`;
      if (result.reason === 'claims_challenge') throw claimsChallenge(result.claims, detail, deps.authority);
      throw credentialUnavailable(detail, result.reason === 'rejected' ? 502 : 503);
    }
  }
}
