/**
 * Authenticate a request: bearer token → verified `Principal`, or a typed error.
 *
 * Contract: throws `EDGEWARD_TOKEN_MISSING` / `EDGEWARD_TOKEN_INVALID` (401) with the precise
 * reason in `auditDetail` only, or `EDGEWARD_KEYS_UNAVAILABLE` (503) when no signing keys can be
 * had — never accepts a token it could not verify.
 */
import { keysUnavailable, tokenInvalid, tokenMissing } from '../errors.ts';
import { bearerToken } from './bearer.ts';
import type { EntraKeySource } from './entra-keys.ts';
import type { Principal } from './principal.ts';
import { type VerifyOptions, verifyAccessToken } from './verify-token.ts';

export async function authenticate(headers: Headers, keys: EntraKeySource, options: VerifyOptions): Promise<Principal> {
  const token = bearerToken(headers);
  if (token === undefined) {
    throw tokenMissing(headers.has('authorization') ? 'authorization header is not a single bearer token' : undefined);
  }
  const result = await verifyAccessToken(token, keys, options);
  if (result.ok) return result.principal;
  if (result.reason === 'keys_unavailable') throw keysUnavailable(result.detail);
  if (result.reason === 'graph_nonce') {
    throw tokenInvalid(
      `${result.reason}: ${result.detail}`,
      'This is a Microsoft Graph token (its header carries a nonce); only Graph can verify it. Request a token for the gateway instead.',
    );
  }
  throw tokenInvalid(`${result.reason}: ${result.detail}`);
}
