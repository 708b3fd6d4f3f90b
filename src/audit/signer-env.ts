/**
 * Adapter: the digest signer from the Worker's environment. Uses the secret `AUDIT_SIGNING_KEY`;
 * without it, only development and test fall back to the published dev key — any other
 * environment refuses to seal (the cron logs the error), because a digest signed with a public key
 * proves nothing.
 */
import { type AuditSigner, DEV_AUDIT_SIGNING_JWK, loadSigningKey } from './signing-key.ts';

let cached: { secret: string; signer: Promise<AuditSigner> } | undefined;

export function auditSigner(env: Env): Promise<AuditSigner> {
  const configured = (env as { AUDIT_SIGNING_KEY?: string }).AUDIT_SIGNING_KEY;
  let secret = configured;
  if (!secret) {
    if (env.ENVIRONMENT !== 'development' && env.ENVIRONMENT !== 'test') {
      return Promise.reject(new Error('AUDIT_SIGNING_KEY is not set: refusing to sign audit digests with the dev key'));
    }
    secret = JSON.stringify(DEV_AUDIT_SIGNING_JWK);
  }
  if (cached?.secret !== secret) {
    const signer = loadSigningKey(secret);
    cached = { secret, signer };
    signer.catch(() => {
      if (cached?.signer === signer) cached = undefined;
    });
  }
  return cached.signer;
}
