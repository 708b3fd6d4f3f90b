/**
 * Refusals the auth stage makes, as typed `EdgewardError`s (one mapping from a verification
 * failure to the wire). Public details never say *why* a token failed beyond what helps an honest
 * client; the precise reason goes to `auditDetail` only. Nothing here ever contains a token.
 */
import { EdgewardError, keysUnavailable, tokenInvalid } from '../errors.ts';
import type { TokenFailure } from './verify-token.ts';

const GRAPH_TOKEN_DETAIL =
  'This is a Microsoft Graph token (its header carries a nonce): only Microsoft Graph can verify it, so the gateway cannot tell who sent it.';

/** The bearer (actor) token failed: 401 invalid_token, or 503 when no signing keys can be had. */
export function actorTokenError(reason: TokenFailure, detail: string, passthrough: boolean): EdgewardError {
  if (reason === 'keys_unavailable') return keysUnavailable(detail);
  if (reason === 'graph_nonce') {
    return tokenInvalid(
      `${reason}: ${detail}`,
      passthrough
        ? `${GRAPH_TOKEN_DETAIL} This connection forwards the caller's token, but the gateway forwards only tokens it has verified: request a token for the gateway's own app (its App ID URI) instead.`
        : `${GRAPH_TOKEN_DETAIL} Request a token for the gateway's own app (its App ID URI) instead.`,
    );
  }
  return tokenInvalid(`${reason}: ${detail}`);
}

/** The human's token in the subject-token header failed or cannot stand for a human here: 401. */
export function subjectTokenInvalid(header: string, auditDetail: string): EdgewardError {
  return new EdgewardError('EDGEWARD_SUBJECT_TOKEN_INVALID', 401, 'Invalid subject token', {
    publicDetail: `The token in the ${header} header could not be verified as a human user's token for this gateway, alongside an app-only bearer token.`,
    auditDetail: `subject token: ${auditDetail}`,
  });
}
