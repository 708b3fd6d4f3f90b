/**
 * Audit rows in D1.
 *
 * Contract: a write is an idempotent upsert keyed by request id (a retry never duplicates a row, a
 * final write completes an intent row, and a final or sealed row is never overwritten — so at-least-once
 * delivery from the retry buffer is exactly-once in the table). Every row carries `row_hash`
 * (src/audit/canonical.ts) computed over exactly the values bound here. `writeAuditRecords` sends
 * many rows in one D1 `batch()` (one round trip, one transaction). Every statement is prepared with
 * bound parameters. Throws when D1 fails; the caller decides whether that refuses the request.
 */
import { rowHash, type StoredRow } from './canonical.ts';
import type { AuditRecord } from './record.ts';

/** Content columns, in insert order (`row_hash` is appended; `sealed_seq` is written only by sealing). */
export const CONTENT_COLUMNS = [
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
  'actor_mode',
  'token_fingerprint',
  'session_id',
  'connection',
  'method',
  'path',
  'query',
  'operation',
  'resource_id',
  'decision',
  'rule_ids',
  'policy_digest',
  'approval_id',
  'approvers',
  'status',
  'outcome',
  'detail',
  'masked_count',
  'masked_paths',
  'bytes_in',
  'bytes_out',
  'upstream_request_id',
  'upstream_correlation_id',
  'client_request_id',
  'upstream_ms',
  'client_ip',
  'user_agent',
  'colo',
  'request_body',
  'request_body_truncated',
  'request_body_cap',
  'parent_request_id',
  'request_facts',
] as const;

const COLUMNS = [...CONTENT_COLUMNS, 'row_hash'] as const;

const UPSERT_SQL = `INSERT INTO audit_events (${COLUMNS.join(', ')})
VALUES (${COLUMNS.map(() => '?').join(', ')})
ON CONFLICT (request_id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'request_id' && c !== 'started_at')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ')}
WHERE audit_events.phase = 'intent' AND audit_events.sealed_seq IS NULL`;

const cut = (value: string | undefined, max: number) => (value === undefined ? null : value.slice(0, max));
const int = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? null : Math.round(value));

/** The row exactly as stored (column → value), including its `row_hash`. */
export async function toStoredRow(record: AuditRecord): Promise<StoredRow> {
  const p = record.principal;
  const actorMode = record.actorMode ?? (p ? (p.actor.appOnly ? 'app_only' : 'delegated') : undefined);
  const row: StoredRow = {
    request_id: record.requestId,
    phase: record.phase,
    started_at: record.startedAt,
    finished_at: record.finishedAt ?? null,
    duration_ms: int(record.durationMs),
    tenant_id: p?.tenantId ?? null,
    subject_oid: p?.subject?.objectId ?? null,
    subject_upn: p?.subject?.userPrincipalName ?? null,
    subject_name: p?.subject?.displayName ?? null,
    actor_app_id: p?.actor.appId ?? null,
    actor_app_only: p ? (p.actor.appOnly ? 1 : 0) : null,
    actor_credential: p?.actor.credentialType ?? null,
    actor_mode: actorMode ?? null,
    token_fingerprint: p?.tokenFingerprint ?? null,
    session_id: cut(record.sessionId, 256),
    connection: record.connection ?? null,
    method: record.method,
    path: record.path,
    query: record.query,
    operation: cut(record.operation, 512),
    resource_id: cut(record.resourceId, 1024),
    decision: record.decision,
    rule_ids: JSON.stringify(record.ruleIds),
    policy_digest: record.policyDigest ?? null,
    approval_id: record.approvalId ?? null,
    approvers: record.approvers ? JSON.stringify(record.approvers) : null,
    status: int(record.status),
    outcome: record.outcome,
    detail: cut(record.detail, 1000),
    masked_count: record.maskedCount,
    masked_paths: JSON.stringify(record.maskedPaths),
    bytes_in: int(record.bytesIn),
    bytes_out: int(record.bytesOut),
    upstream_request_id: cut(record.upstreamRequestId, 128),
    upstream_correlation_id: cut(record.upstreamCorrelationId, 128),
    client_request_id: cut(record.clientRequestId, 128),
    upstream_ms: int(record.upstreamMs),
    client_ip: cut(record.clientIp, 64),
    user_agent: cut(record.userAgent, 512),
    colo: cut(record.colo, 16),
    request_body: record.requestBody ?? null,
    request_body_truncated: record.requestBodyTruncated === undefined ? null : record.requestBodyTruncated ? 1 : 0,
    request_body_cap: record.requestBody === undefined ? null : (record.requestBodyCap ?? null),
    parent_request_id: cut(record.parentRequestId, 128),
    request_facts: cut(record.requestFacts, 4000),
  };
  row.row_hash = await rowHash(row);
  return row;
}

function upsert(db: D1Database, row: StoredRow): D1PreparedStatement {
  return db.prepare(UPSERT_SQL).bind(...COLUMNS.map((c) => row[c] ?? null));
}

export async function writeAuditRecord(db: D1Database, record: AuditRecord): Promise<void> {
  await upsert(db, await toStoredRow(record)).run();
}

/** Many rows, one round trip, one transaction (all or none). */
export async function writeAuditRecords(db: D1Database, records: readonly AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  const rows = await Promise.all(records.map(toStoredRow));
  await db.batch(rows.map((row) => upsert(db, row)));
}
