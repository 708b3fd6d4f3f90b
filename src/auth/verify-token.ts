/**
 * Entra ID access-token verification (the trust boundary).
 *
 * Contract: returns `{ ok: true, principal }` only when every check passes — compact JWS with three
 * segments under the size cap; header `alg` exactly RS256, no `jku`/`x5u`/`jwk`/`x5c`/`crit` and no
 * Graph `nonce`; `tid` a GUID in the allowlist; the signing key found by `kid` in that tenant's
 * JWKS; `iss` equal to the discovered issuer for that tenant and version (and to the key's own
 * `issuer`, when it has one); `aud` one of the accepted audiences (trailing slash ignored); `exp`
 * present and numeric, `nbf` honoured, with the configured clock tolerance. Any other input gives
 * `{ ok: false, reason }`; the reason is for the audit row, never for the caller.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { sha256Hex } from '../util/sha256.ts';
import { type EntraKeySource, KeysUnavailableError } from './entra-keys.ts';
import { type Principal, principalFromClaims } from './principal.ts';

export const MAX_TOKEN_BYTES = 16 * 1024;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FORBIDDEN_HEADER_PARAMS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

export type TokenFailure =
  | 'malformed'
  | 'too_large'
  | 'alg_not_allowed'
  | 'forbidden_header'
  | 'graph_nonce'
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

export type VerifyResult = { ok: true; principal: Principal } | { ok: false; reason: TokenFailure; detail: string };

export interface VerifyOptions {
  tenantAllowlist: readonly string[];
  audiences: readonly string[];
  clockToleranceSeconds: number;
  now: Date;
}

const fail = (reason: TokenFailure, detail: string): VerifyResult => ({ ok: false, reason, detail });
const normaliseAudience = (aud: string) => aud.replace(/\/$/, '').toLowerCase();

export async function verifyAccessToken(
  token: string,
  keys: EntraKeySource,
  options: VerifyOptions,
): Promise<VerifyResult> {
  if (token.length > MAX_TOKEN_BYTES) return fail('too_large', `token is ${token.length} bytes`);
  const segments = token.split('.');
  if (segments.length !== 3 || segments.some((s) => !/^[A-Za-z0-9_-]+$/.test(s))) {
    return fail('malformed', 'not a compact JWS with three base64url segments');
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
  if (header.alg !== 'RS256') return fail('alg_not_allowed', `alg ${String(header.alg)} is not RS256`);
  for (const param of FORBIDDEN_HEADER_PARAMS) {
    if (header[param] !== undefined) return fail('forbidden_header', `header parameter ${param} is not accepted`);
  }
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 128) {
    return fail('unknown_kid', 'header kid missing or unreasonable');
  }
  const tid = unverified.tid;
  if (typeof tid !== 'string' || !GUID.test(tid)) return fail('tenant_invalid', 'tid is not a lowercase GUID');
  if (!options.tenantAllowlist.includes(tid)) return fail('tenant_not_allowed', `tenant ${tid} is not allowed`);
  const version = unverified.ver === '2.0' ? '2.0' : '1.0';

  let resolved: Awaited<ReturnType<EntraKeySource['resolve']>>;
  try {
    resolved = await keys.resolve(tid, version, header.kid);
  } catch (error) {
    if (error instanceof KeysUnavailableError) return fail('keys_unavailable', error.message);
    throw error;
  }
  if (!resolved.key) return fail('unknown_kid', `kid not in tenant ${tid} JWKS`);

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
  if (resolved.key.issuer !== undefined && resolved.key.issuer.replace('{tenantid}', tid) !== payload.iss) {
    return fail('issuer_mismatch', 'iss does not match the signing key issuer');
  }
  const audiences = new Set(options.audiences.map(normaliseAudience));
  const tokenAudiences =
    typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
  if (!tokenAudiences.some((aud) => typeof aud === 'string' && audiences.has(normaliseAudience(aud)))) {
    return fail('audience_mismatch', `aud ${JSON.stringify(payload.aud)} not accepted`);
  }
  return { ok: true, principal: principalFromClaims(payload, await fingerprint(segments[2] ?? '')) };
}

function classifyJoseError(error: unknown): VerifyResult {
  if (error instanceof joseErrors.JWTExpired) return fail('expired', 'exp is in the past');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'exp') return fail(error.reason === 'missing' ? 'missing_exp' : 'claim_invalid', error.message);
    if (error.claim === 'nbf') return fail('not_yet_valid', error.message);
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

/** A safe handle on a token for logs and audit: a hash of its signature, never the token. */
export async function fingerprint(signatureSegment: string): Promise<string> {
  return (await sha256Hex(signatureSegment)).slice(0, 16);
}
