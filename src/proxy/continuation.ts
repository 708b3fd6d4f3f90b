/**
 * Follow-up calls inherit the obligations of the call that started them. When the gateway rewrites
 * a long-running operation's `Location` / `Azure-AsyncOperation` / `Operation-Location` or a
 * `nextLink` to point at itself, it binds to that link the originating operation, its mask
 * obligations and the principal, as one query parameter it adds (`edgeward-continuation`) and
 * strips before anything goes upstream.
 *
 * Contract: pure (synchronous HMAC-SHA-256 over node:crypto, so it runs inside the streaming link
 * rewriter). A binding is `base64url(payload) "." base64url(HMAC(key, payload "\n" link))`, where
 * `link` is the upstream path and query the binding was issued for (without the parameter), so a
 * binding moved onto another URL does not verify. Reading a request's query yields: `none` (no
 * parameter), `valid` (the origin), `expired` (judged as what it is: an unknown origin), or
 * `forged` (a parameter that does not verify: the caller tampered with it, refused). Whether the
 * caller is the principal the origin names is the caller's check (`sameCaller`). The payload holds
 * no secret: an operation name, ids, rule ids and a mask *spec* (which names what to hide, never a
 * value). Keys: the Worker secret CONTINUATION_KEY; development and test fall back to a published
 * dev key (config.ts refuses to start production or staging without the secret).
 */
import type { Principal } from '../auth/principal.ts';
import { hmacSha256 } from '../mask/hmac-sha256.ts';
import type { MaskSpec } from '../mask/spec.ts';

export const CONTINUATION_PARAM = 'edgeward-continuation';
/** Long-running operations can run for hours; a poll after a day is judged as an unknown origin. */
export const CONTINUATION_TTL_SECONDS = 24 * 3600;
const DEV_CONTINUATION_KEY = 'edgeward-dev-continuation-key-not-secret';

export interface ContinuationOrigin {
  /** The operation that started the chain (`Microsoft.SignalRService/SignalR/regenerateKey/action`). */
  operation: string;
  tenant: string;
  subject: string;
  app: string;
  /** Mask obligations every follow-up response inherits. */
  mask: MaskSpec;
  ruleIds: readonly string[];
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type ContinuationRead =
  | { kind: 'none'; search: string }
  | { kind: 'valid'; search: string; origin: ContinuationOrigin }
  | { kind: 'expired'; search: string; operation: string }
  | { kind: 'forged'; search: string };

const encoder = new TextEncoder();

export function continuationKey(secret: string | undefined, environment: string | undefined): Uint8Array | undefined {
  if (secret) return encoder.encode(secret);
  return environment === 'development' || environment === 'test' ? encoder.encode(DEV_CONTINUATION_KEY) : undefined;
}

export function originFor(
  principal: Principal,
  operation: string,
  mask: MaskSpec,
  ruleIds: readonly string[],
  nowMs: number,
): ContinuationOrigin {
  return {
    operation,
    tenant: principal.tenantId,
    subject: principal.subject?.objectId ?? '',
    app: principal.actor.appId,
    mask,
    ruleIds,
    exp: Math.floor(nowMs / 1000) + CONTINUATION_TTL_SECONDS,
  };
}

/** Whether this caller is the principal who started the chain. */
export const sameCaller = (origin: ContinuationOrigin, principal: Principal): boolean =>
  origin.tenant === principal.tenantId &&
  origin.subject === (principal.subject?.objectId ?? '') &&
  origin.app === principal.actor.appId;

/**
 * `search` (with or without `?`) without the continuation parameter, every other byte kept, and the
 * parameter's value if there was exactly one (two are refused as forged by `readContinuation`).
 */
export function stripContinuation(search: string): { search: string; values: string[] } {
  const raw = search.startsWith('?') ? search.slice(1) : search;
  if (!/edgeward(?:-|%2d)continuation/i.test(raw)) return { search, values: [] };
  const kept: string[] = [];
  const values: string[] = [];
  for (const part of raw.split('&')) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    let decoded = name;
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {}
    if (decoded.trim().toLowerCase() === CONTINUATION_PARAM) values.push(eq === -1 ? '' : part.slice(eq + 1));
    else kept.push(part);
  }
  return { search: kept.length ? `?${kept.join('&')}` : '', values };
}

const b64url = (bytes: Uint8Array) => {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const fromB64url = (text: string): Uint8Array => {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
};

const mac = (key: Uint8Array, payload: string, link: string) =>
  b64url(hmacSha256(key, encoder.encode(`${payload}\n${link}`)));

/**
 * `path` and `search` of the upstream link, `search` already without the parameter. The link is
 * the upstream-relative path and query (e.g. `/subscriptions/…/operationResults/x?api-version=…`).
 */
export function bindingFor(key: Uint8Array, origin: ContinuationOrigin, link: string): string {
  const payload = b64url(encoder.encode(JSON.stringify(origin)));
  return `${payload}.${mac(key, payload, link)}`;
}

/** Read and strip the continuation parameter of an incoming request (`path` as routed). */
export function readContinuation(
  key: Uint8Array | undefined,
  path: string,
  search: string,
  nowMs: number,
): ContinuationRead {
  const stripped = stripContinuation(search);
  if (stripped.values.length === 0) return { kind: 'none', search };
  const forged = { kind: 'forged', search: stripped.search } as const;
  if (!key || stripped.values.length !== 1) return forged;
  const [payload, signature] = (stripped.values[0] as string).split('.');
  if (!payload || !signature || !equalInConstantTime(mac(key, payload, `${path}${stripped.search}`), signature)) {
    return forged;
  }
  let origin: ContinuationOrigin;
  try {
    origin = JSON.parse(new TextDecoder().decode(fromB64url(payload))) as ContinuationOrigin;
  } catch {
    return forged;
  }
  if (origin.exp * 1000 < nowMs) return { kind: 'expired', search: stripped.search, operation: origin.operation };
  return { kind: 'valid', search: stripped.search, origin };
}

function equalInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
