/**
 * Entra ID access-token verification (the trust boundary).
 *
 * Contract: returns `{ ok: true, principal, audiences }` only when every check passes, in this
 * order (cheap structural checks before any key lookup or signature work):
 * 1. at most `MAX_TOKEN_CHARS`; exactly three non-empty base64url segments; header and payload
 *    decode to JSON objects;
 * 2. header: no `nonce` (a Microsoft Graph token: only Graph can verify it); `alg` exactly RS256
 *    (Entra keys carry no `alg`; `none`, HS*, ES*, PS* are all refused); none of
 *    `jku`/`x5u`/`jwk`/`x5c`/`crit`/`zip`/`enc` (keys come only from the tenant's JWKS); a sane `kid`;
 * 3. `ver` is "1.0" or "2.0"; `tid` a lowercase GUID in the allowlist;
 * 4. the key for `kid` in that tenant's JWKS (`keys_unavailable` when none can be had: the caller
 *    answers 503, never accepts);
 * 5. RS256 signature; `iss` equal to the discovered issuer for that tenant and version, and to the
 *    key's own `issuer` when it has one; `exp` present and numeric; `nbf` honoured; both with the
 *    configured clock tolerance;
 * 6. `aud` one of the accepted audiences (case-insensitive, trailing slash ignored: a GUID client
 *    id or an App ID URI).
 * Any other input gives `{ ok: false, reason, detail }`; reason and detail are for the audit row,
 * never for the caller, and never contain the token.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { type EntraKeySource, KeysUnavailableError, type ResolveContext } from './entra-keys.ts';
import { type Principal, principalFromClaims } from './principal.ts';
import { tokenFingerprint } from './token-digest.ts';

/** Entra tokens with hundreds of claims stay well under this; anything bigger is refused unparsed. */
export const MAX_TOKEN_CHARS = 16 * 1024;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const KID = /^[A-Za-z0-9_\-=+/.]{1,128}$/;
const FORBIDDEN_HEADER_PARAMS = ['jku', 'x5u', 'jwk', 'x5c', 'crit', 'zip', 'enc'] as const;

export type TokenFailure =
  | 'malformed'
  | 'too_large'
  | 'alg_not_allowed'
  | 'forbidden_header'
  | 'graph_nonce'
  | 'version_invalid'
  | 'tenant_invalid'
  | 'tenant_not_allowed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_exp'
  | 'claim_invalid'
  | 'keys_unavailable';

/** What a successful verification yields (and what the verified-token cache holds). */
export interface VerifiedToken {
  principal: Principal;
  /** The token's audiences, normalised, so a cache hit can be checked against another connection. */
  audiences: readonly string[];
}

export type VerifyResult = ({ ok: true } & VerifiedToken) | { ok: false; reason: TokenFailure; detail: string };

export interface VerifyOptions extends ResolveContext {
  tenantAllowlist: readonly string[];
  audiences: readonly string[];
  clockToleranceSeconds: number;
  now: Date;
}

const fail = (reason: TokenFailure, detail: string): VerifyResult => ({ ok: false, reason, detail });

/** Audience comparison form: case-insensitive, one trailing slash ignored (v1 App ID URIs vary). */
export const normaliseAudience = (aud: string) => aud.replace(/\/$/, '').toLowerCase();

export async function verifyAccessToken(
  token: string,
  keys: EntraKeySource,
  options: VerifyOptions,
): Promise<VerifyResult> {
  if (token.length > MAX_TOKEN_CHARS) return fail('too_large', `token is ${token.length} chars`);
  const segments = token.split('.');
  if (segments.length !== 3 || !segments.every((s) => SEGMENT.test(s))) {
    return fail('malformed', `not a compact JWS with three base64url segments (${segments.length} segments)`);
  }
  let header: Record<string, unknown>;
  let unverified: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    unverified = decodeJwt(token) as Record<string, unknown>;
  } catch {
    return fail('malformed', 'header or payload is not base64url JSON');
  }
  if (header.nonce !== undefined) {
    return fail('graph_nonce', 'header carries nonce: a Microsoft Graph token, not verifiable by a third party');
  }
  if (header.alg !== 'RS256') return fail('alg_not_allowed', `alg ${describe(header.alg)} is not RS256`);
  for (const param of FORBIDDEN_HEADER_PARAMS) {
    if (header[param] !== undefined) return fail('forbidden_header', `header parameter ${param} is not accepted`);
  }
  if (typeof header.kid !== 'string' || !KID.test(header.kid)) {
    return fail('unknown_kid', 'header kid missing or not a plausible key id');
  }
  const version = unverified.ver;
  if (version !== '1.0' && version !== '2.0') return fail('version_invalid', `ver ${describe(version)}`);
  const tid = unverified.tid;
  if (typeof tid !== 'string' || !GUID.test(tid)) return fail('tenant_invalid', 'tid is not a lowercase GUID');
  if (!options.tenantAllowlist.includes(tid)) return fail('tenant_not_allowed', `tenant ${tid} is not allowed`);

  let resolved: Awaited<ReturnType<EntraKeySource['resolve']>>;
  try {
    resolved = await keys.resolve(tid, version, header.kid, options);
  } catch (error) {
    if (error instanceof KeysUnavailableError) return fail('keys_unavailable', error.message);
    throw error;
  }
  if (!resolved.key) return fail('unknown_kid', `kid ${header.kid} not in tenant ${tid} v${version} JWKS`);

  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, resolved.key.key, {
      algorithms: ['RS256'],
      issuer: resolved.issuer,
      requiredClaims: ['exp'],
      clockTolerance: options.clockToleranceSeconds,
      currentDate: options.now,
    });
    payload = verified.payload as Record<string, unknown>;
  } catch (error) {
    return classifyJoseError(error);
  }
  // A key that names its own issuer may sign only for that issuer (templated: after substitution).
  if (resolved.key.issuer !== undefined && resolved.key.issuer.replace('{tenantid}', tid) !== payload.iss) {
    return fail('issuer_mismatch', 'iss does not match the signing key issuer');
  }
  const tokenAudiences = (
    typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : []
  )
    .filter((aud): aud is string => typeof aud === 'string')
    .map(normaliseAudience);
  if (!audienceAccepted(tokenAudiences, options.audiences)) {
    return fail('audience_mismatch', `aud ${describe(payload.aud)} not accepted`);
  }
  return { ok: true, principal: principalFromClaims(payload, tokenFingerprint(token)), audiences: tokenAudiences };
}

/** True when one of the token's (normalised) audiences is accepted. */
export function audienceAccepted(tokenAudiences: readonly string[], accepted: readonly string[]): boolean {
  return accepted.some((aud) => tokenAudiences.includes(normaliseAudience(aud)));
}

/** A short, safe rendering of an attacker-controlled value for the audit detail. */
const describe = (value: unknown) => JSON.stringify(value)?.slice(0, 80) ?? 'undefined';

function classifyJoseError(error: unknown): VerifyResult {
  if (error instanceof joseErrors.JWTExpired) return fail('expired', 'exp is in the past');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'exp') return fail(error.reason === 'missing' ? 'missing_exp' : 'claim_invalid', error.message);
    if (error.claim === 'nbf') {
      return fail(error.reason === 'check_failed' ? 'not_yet_valid' : 'claim_invalid', error.message);
    }
    if (error.claim === 'iss') return fail('issuer_mismatch', 'iss does not match the discovered issuer');
    return fail('claim_invalid', `${error.claim}: ${error.message}`);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return fail('bad_signature', 'signature invalid');
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return fail('alg_not_allowed', 'alg not allowed');
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) {
    return fail('malformed', error.message);
  }
  return fail('malformed', error instanceof Error ? error.name : 'unknown verification failure');
}
