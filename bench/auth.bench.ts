// Token verification cost (issue 3): a full verification with a warm key cache (target ≤ 100 µs)
// and a verified-token cache hit (target ≤ 5 µs), with the same core code the Worker runs.
// Keys and discovery come from an in-memory authority; nothing touches the network.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Authenticator } from '../src/auth/authenticate.ts';
import { EntraKeySource } from '../src/auth/entra-keys.ts';
import { VerifiedTokenCache } from '../src/auth/token-cache.ts';
import { verifyAccessToken } from '../src/auth/verify-token.ts';
import { measure, report } from './harness.ts';

const TID = '11111111-1111-4111-8111-111111111111';
const AUTHORITY = 'https://login.bench';
const AUDIENCES = ['api://edgeward', '22222222-2222-4222-8222-222222222222'];

const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' };
const documents: Record<string, unknown> = {
  [`${AUTHORITY}/${TID}/v2.0/.well-known/openid-configuration`]: {
    issuer: `https://login.microsoftonline.com/${TID}/v2.0`,
    jwks_uri: `${AUTHORITY}/${TID}/discovery/v2.0/keys`,
  },
  [`${AUTHORITY}/${TID}/discovery/v2.0/keys`]: { keys: [jwk] },
};
const keys = new EntraKeySource({
  authority: AUTHORITY,
  fetch: async (url) => Response.json(documents[url]),
});

const now = Math.floor(Date.now() / 1000);
// A realistically sized v2 delegated token (~1.5 KB: a few dozen groups).
const token = await new SignJWT({
  aud: '22222222-2222-4222-8222-222222222222',
  iss: `https://login.microsoftonline.com/${TID}/v2.0`,
  tid: TID,
  ver: '2.0',
  oid: 'bbbbbbbb-0000-4000-8000-00000000a11c',
  sub: 'pairwise-subject-identifier-0123456789',
  azp: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
  azpacr: '0',
  scp: 'user_impersonation',
  name: 'Alice Admin',
  preferred_username: 'alice@contoso.com',
  groups: Array.from({ length: 20 }, (_, i) => `aaaaaaaa-0000-4000-8000-${String(i).padStart(12, '0')}`),
  iat: now - 60,
  nbf: now - 60,
  exp: now + 3600,
})
  .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'k1' })
  .sign(privateKey);

const options = { tenantAllowlist: [TID], audiences: AUDIENCES, clockToleranceSeconds: 60 };
const auth = new Authenticator({
  keys,
  tenantAllowlist: [TID],
  clockToleranceSeconds: 60,
  subjectTokenHeader: 'x-edgeward-subject-token',
  tokenCache: new VerifiedTokenCache(1000),
});
const headers = new Headers({ authorization: `Bearer ${token}` });

// Warm the key cache (and prove the token verifies at all).
const first = await verifyAccessToken(token, keys, { ...options, now: new Date() });
if (!first.ok) throw new Error(`bench token does not verify: ${first.reason}`);

console.log(`token ${token.length} chars, RS256 2048-bit (Node ${process.version})`);
const full = await measure(
  'full verification, warm key cache',
  async () => {
    const result = await verifyAccessToken(token, keys, { ...options, now: new Date() });
    if (!result.ok) throw new Error(result.reason);
  },
  { batches: 100, batchSize: 50, warmup: 500 },
);
report(full);
// The floor: the RSA signature check alone, as jose does it (WebCrypto), with nothing else.
const [h, p, sig] = token.split('.') as [string, string, string];
const signedBytes = new TextEncoder().encode(`${h}.${p}`);
const signatureBytes = Uint8Array.from(atob(sig.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const floor = await measure(
  'reference: crypto.subtle.verify RS256 alone',
  () => crypto.subtle.verify('RSASSA-PKCS1-v1_5', publicKey, signatureBytes, signedBytes),
  { batches: 100, batchSize: 50, warmup: 500 },
);
report(floor);
const hit = await measure('verified-token cache hit (Authenticator.verify)', async () => {
  const result = await auth.verify(token, { audiences: AUDIENCES, nowMs: Date.now() });
  if (!result.ok) throw new Error(result.reason);
});
report(hit);
const request = await measure('authenticate(headers), cache hit', () =>
  auth.authenticate(headers, { audiences: AUDIENCES, nowMs: Date.now() }),
);
report(request);
console.log(
  `targets: full ≤ 100 µs → ${full.medianNs <= 100_000 ? 'met' : 'NOT met'}; cache hit ≤ 5 µs → ${hit.medianNs <= 5_000 ? 'met' : 'NOT met'}`,
);
