/**
 * Adapter: the digest signer from the Worker's environment. Uses the secret `AUDIT_SIGNING_KEY`;
 * without it, only development and test fall back to the published dev key — any other
 * environment refuses to seal (the cron logs the error), because a digest signed with a public key
 * proves nothing.
 */
import { latestByKey } from '../util/latest-by-key.ts';
import { type AuditSigner, DEV_AUDIT_SIGNING_JWK, loadSigningKey } from './signing-key.ts';

const signerFor = latestByKey<AuditSigner>();

export function auditSigner(env: Env): Promise<AuditSigner> {
  const configured = (env as { AUDIT_SIGNING_KEY?: string }).AUDIT_SIGNING_KEY;
  if (!configured && env.ENVIRONMENT !== 'development' && env.ENVIRONMENT !== 'test') {
    return Promise.reject(new Error('AUDIT_SIGNING_KEY is not set: refusing to sign audit digests with the dev key'));
  }
  const key = configured || JSON.stringify(DEV_AUDIT_SIGNING_JWK);
  return signerFor(key, () => loadSigningKey(key));
}
