/**
 * Audit rows in D1.
 *
 * Contract: `writeAuditRecord` is an idempotent upsert keyed by request id (a retry never
 * duplicates a row, a final write completes an intent row). Every statement is prepared with bound
 * parameters. Throws when D1 fails; the caller decides whether that refuses the request.
 */
import type { AuditRecord } from './record.ts';

const COLUMNS = [
  'request_id',
  'phase',
  'started_at',
  'finished_at',
  'duration_ms',
  'tenant_id',
  'subject_oid',
  'subject_upn',
  'subject_name',
  'actor_app_id',
  'actor_app_only',
  'actor_credential',
  'token_fingerprint',
  'connection',
  'method',
  'path',
  'query',
  'decision',
  'rule_ids',
  'approval_id',
  'status',
  'outcome',
  'detail',
  'masked_count',
  'masked_paths',
  'bytes_out',
  'upstream_request_id',
  'client_ip',
  'user_agent',
] as const;

const UPSERT_SQL = `INSERT INTO audit_events (${COLUMNS.join(', ')})
VALUES (${COLUMNS.map(() => '?').join(', ')})
ON CONFLICT (request_id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'request_id' && c !== 'started_at')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ')}
WHERE audit_events.phase = 'intent'`;

function toRow(record: AuditRecord): (string | number | null)[] {
  const p = record.principal;
  return [
    record.requestId,
    record.phase,
    record.startedAt,
    record.finishedAt ?? null,
    record.durationMs ?? null,
    p?.tenantId ?? null,
    p?.subject?.objectId ?? null,
    p?.subject?.userPrincipalName ?? null,
    p?.subject?.displayName ?? null,
    p?.actor.appId ?? null,
    p ? (p.actor.appOnly ? 1 : 0) : null,
    p?.actor.credentialType ?? null,
    p?.tokenFingerprint ?? null,
    record.connection ?? null,
    record.method,
    record.path,
    record.query,
    record.decision,
    JSON.stringify(record.ruleIds),
    record.approvalId ?? null,
    record.status ?? null,
    record.outcome,
    record.detail?.slice(0, 1000) ?? null,
    record.maskedCount,
    JSON.stringify(record.maskedPaths),
    record.bytesOut ?? null,
    record.upstreamRequestId ?? null,
    record.clientIp ?? null,
    record.userAgent?.slice(0, 512) ?? null,
  ];
}

export async function writeAuditRecord(db: D1Database, record: AuditRecord): Promise<void> {
  await db
    .prepare(UPSERT_SQL)
    .bind(...toRow(record))
    .run();
}

export interface AuditQuery {
  limit: number;
  subject?: string;
  before?: string;
}

export async function listAuditEvents(db: D1Database, query: AuditQuery): Promise<Record<string, unknown>[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.subject) {
    where.push('subject_oid = ?');
    params.push(query.subject);
  }
  if (query.before) {
    where.push('started_at < ?');
    params.push(query.before);
  }
  const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY started_at DESC LIMIT ?`;
  const result = await db
    .prepare(sql)
    .bind(...params, query.limit)
    .all<Record<string, unknown>>();
  return result.results;
}
