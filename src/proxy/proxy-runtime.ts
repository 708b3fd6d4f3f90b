/**
 * Per-isolate proxy state: transport limits from Worker vars, the gateway app's Entra client
 * (from Worker secrets) and the upstream token cache. Built once per isolate and rebuilt only if
 * the vars or secrets change.
 *
 * Vars:    REQUEST_BODY_LIMIT_BYTES (default 10 MiB), PROXY_UPSTREAM_TIMEOUT_MS (time to response
 *          headers, default 30000), PROXY_UPSTREAM_RETRIES (idempotent requests, default 1),
 *          ENTRA_CLIENT_ID (the gateway's app), ENTRA_CLIENT_CERTIFICATE_THUMBPRINT (x5t#S256).
 * Secrets: ENTRA_CLIENT_SECRET, or ENTRA_CLIENT_CERTIFICATE_KEY (PKCS#8 PEM of the certificate's
 *          RSA key); plus any secret a `static` connection names.
 *
 * Contract: a bad value is an error naming the variable; secrets are never logged or returned.
 */
import * as v from 'valibot';
import { envVars } from '../env-vars.ts';
import { misconfigured } from '../errors.ts';
import { latestByKey } from '../util/latest-by-key.ts';
import { type ClientAuthentication, EntraTokenClient, TokenCache } from './credentials/index.ts';

const Int = (fallback: string, min: number, max: number) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.transform(Number),
    v.number(),
    v.integer(),
    v.minValue(min),
    v.maxValue(max),
  );

const ProxyVarsSchema = v.object({
  REQUEST_BODY_LIMIT_BYTES: Int(String(10 * 1024 * 1024), 0, 100 * 1024 * 1024),
  PROXY_UPSTREAM_TIMEOUT_MS: Int('30000', 100, 600_000),
  PROXY_UPSTREAM_RETRIES: Int('1', 0, 3),
  ENTRA_CLIENT_ID: v.optional(v.string(), ''),
  ENTRA_CLIENT_CERTIFICATE_THUMBPRINT: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]*$/, 'base64url')), ''),
});

export interface ProxyRuntime {
  bodyLimit: number;
  timeoutMs: number;
  retries: number;
  tokens: EntraTokenClient | undefined;
  tokenClientProblem: string | undefined;
  cache: TokenCache;
  secret(name: string): string | undefined;
}

const runtimeFor = latestByKey<ProxyRuntime>();

export function loadProxyRuntime(env: Env, authority: string): Promise<ProxyRuntime> {
  const { vars: strings, key } = envVars(env);
  return runtimeFor(`${authority}\n${key}`, () => buildRuntime(strings, authority));
}

async function buildRuntime(vars: Readonly<Record<string, string>>, authority: string): Promise<ProxyRuntime> {
  const parsed = v.safeParse(ProxyVarsSchema, vars);
  if (!parsed.success) {
    throw misconfigured(parsed.issues.map((i) => `${v.getDotPath(i) ?? 'proxy'}: ${i.message}`).join('; '));
  }
  const raw = parsed.output;
  let client: ClientAuthentication | undefined;
  let problem: string | undefined;
  if (!raw.ENTRA_CLIENT_ID) {
    problem = 'ENTRA_CLIENT_ID is not set';
  } else if (vars.ENTRA_CLIENT_CERTIFICATE_KEY) {
    if (!raw.ENTRA_CLIENT_CERTIFICATE_THUMBPRINT) {
      problem = 'ENTRA_CLIENT_CERTIFICATE_THUMBPRINT is required with ENTRA_CLIENT_CERTIFICATE_KEY';
    } else {
      try {
        const privateKey = await importPkcs8(vars.ENTRA_CLIENT_CERTIFICATE_KEY);
        client = {
          kind: 'certificate',
          clientId: raw.ENTRA_CLIENT_ID,
          privateKey,
          thumbprintS256: raw.ENTRA_CLIENT_CERTIFICATE_THUMBPRINT,
        };
      } catch {
        problem = 'ENTRA_CLIENT_CERTIFICATE_KEY is not a PKCS#8 PEM RSA key';
      }
    }
  } else if (vars.ENTRA_CLIENT_SECRET) {
    client = { kind: 'secret', clientId: raw.ENTRA_CLIENT_ID, secret: vars.ENTRA_CLIENT_SECRET };
  } else {
    problem = 'neither ENTRA_CLIENT_SECRET nor ENTRA_CLIENT_CERTIFICATE_KEY is set';
  }
  return {
    bodyLimit: raw.REQUEST_BODY_LIMIT_BYTES,
    timeoutMs: raw.PROXY_UPSTREAM_TIMEOUT_MS,
    retries: raw.PROXY_UPSTREAM_RETRIES,
    tokens: client
      ? new EntraTokenClient({ authority, client, fetch: (input, init) => fetch(input, init) })
      : undefined,
    tokenClientProblem: problem,
    cache: new TokenCache(),
    secret: (name) => (typeof vars[name] === 'string' && vars[name] !== '' ? vars[name] : undefined),
  };
}

function importPkcs8(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  return crypto.subtle.importKey('pkcs8', der, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['sign']);
}
