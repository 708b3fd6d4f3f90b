/**
 * Adapter for the cron trigger: seal unsealed rows into signed digests, then apply retention.
 * Runs every 5 minutes (wrangler.toml `[triggers]`); each run seals up to 10 entries of at most
 * 1000 rows, so a backlog drains over consecutive runs.
 */
import { pruneSealed, sealPending } from './digest.ts';
import { auditSigner } from './signer-env.ts';

export async function runAuditMaintenance(env: Env, nowMs: number): Promise<{ sealed: number; pruned: boolean }> {
  const signer = await auditSigner(env);
  const sealed = await sealPending(env.AUDIT_DB, signer, nowMs);
  const retentionDays = Number(env.AUDIT_RETENTION_DAYS ?? '0');
  const pruned = await pruneSealed(env.AUDIT_DB, signer, nowMs, Number.isFinite(retentionDays) ? retentionDays : 0);
  return { sealed: sealed.reduce((n, d) => n + d.row_count, 0), pruned: pruned !== null };
}
