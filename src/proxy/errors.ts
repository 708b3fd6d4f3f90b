/**
 * The proxy's own refusals, as typed `EdgewardError`s with the stable codes from src/errors.ts.
 *
 * Contract: public details never quote a token, a secret or Entra's raw error text; the precise
 * reason goes to `auditDetail` only.
 */
import { EdgewardError } from '../errors.ts';

export const upstreamTimeout = (ms: number, auditDetail: string) =>
  new EdgewardError('EDGEWARD_UPSTREAM_TIMEOUT', 504, 'Upstream timeout', {
    publicDetail: `The upstream service did not answer within ${ms} ms.`,
    auditDetail,
  });

export const requestTooLarge = (limit: number) =>
  new EdgewardError('EDGEWARD_BODY_TOO_LARGE', 413, 'Request body too large', {
    publicDetail: `Request bodies are limited to ${limit} bytes on this gateway.`,
    auditDetail: `request body over ${limit} bytes`,
  });

/**
 * Entra asked for more claims (Conditional Access, e.g. MFA). The client must sign in again with
 * these claims; the header follows Entra's claims-challenge format (base64 of the claims JSON).
 */
export const claimsChallenge = (claims: string, auditDetail: string, authority: string) =>
  new EdgewardError('EDGEWARD_UPSTREAM_CLAIMS_CHALLENGE', 401, 'Additional sign-in required', {
    publicDetail:
      'Conditional Access requires more from your sign-in for this upstream. Sign in again with the claims in the WWW-Authenticate header (e.g. `az login --claims-challenge <claims>`).',
    auditDetail,
    extensions: { claims: base64(claims) },
    headers: {
      'www-authenticate': `Bearer realm="edgeward", authorization_uri="${authority}/oauth2/v2.0/authorize", error="insufficient_claims", claims="${base64(claims)}"`,
    },
  });

export const credentialUnavailable = (auditDetail: string, status = 503, publicDetail?: string) =>
  new EdgewardError('EDGEWARD_CREDENTIAL_UNAVAILABLE', status, 'Upstream credential unavailable', {
    publicDetail: publicDetail ?? 'The gateway could not obtain a credential for the upstream service.',
    auditDetail,
  });

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** WebSocket / SPDY upgrades (kubectl exec, attach, port-forward) are not proxied yet: say so. */
export const upgradeUnsupported = (protocol: string) =>
  new EdgewardError('EDGEWARD_BAD_REQUEST', 501, 'Protocol upgrade not supported', {
    publicDetail: `The gateway does not proxy ${protocol} upgrades yet (kubectl exec/attach/port-forward).`,
    auditDetail: `upgrade to ${protocol} refused`,
  });
