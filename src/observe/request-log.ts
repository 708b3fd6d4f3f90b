/**
 * Observability for one finished request: a structured JSON log line and a Workers Analytics
 * Engine data point.
 *
 * Contract: built only from the audit record, which holds no token and no secret value; the log
 * line carries ids, decision, status and timings — never a token, a body or a masked value.
 */
import type { AuditRecord } from '../audit/record.ts';

export interface RequestLogLine {
  msg: 'request';
  requestId: string;
  connection: string | null;
  method: string;
  path: string;
  decision: string;
  outcome: string;
  status: number | null;
  durationMs: number | null;
  upstreamMs: number | null;
  maskedCount: number;
  tenant: string | null;
  subject: string | null;
  actor: string | null;
  rules: readonly string[];
  approvalId: string | null;
}

export function requestLogLine(record: AuditRecord): RequestLogLine {
  return {
    msg: 'request',
    requestId: record.requestId,
    connection: record.connection ?? null,
    method: record.method,
    path: record.path,
    decision: record.decision,
    outcome: record.outcome,
    status: record.status ?? null,
    durationMs: record.durationMs ?? null,
    upstreamMs: record.upstreamMs ?? null,
    maskedCount: record.maskedCount,
    tenant: record.principal?.tenantId ?? null,
    subject: record.principal?.subject?.objectId ?? null,
    actor: record.principal?.actor.appId ?? null,
    rules: record.ruleIds,
    approvalId: record.approvalId ?? null,
  };
}

/**
 * One Analytics Engine data point per request. Blobs (strings): connection, decision, outcome,
 * method, tenant, actor app id. Doubles: status, duration ms, upstream ms, masked fields,
 * 1 if the request waited for an approval. Index: connection (the sampling key).
 */
export function metricsDataPoint(record: AuditRecord): AnalyticsEngineDataPoint {
  return {
    indexes: [record.connection ?? '-'],
    blobs: [
      record.connection ?? '-',
      record.decision,
      record.outcome,
      record.method,
      record.principal?.tenantId ?? '-',
      record.principal?.actor.appId ?? '-',
    ],
    doubles: [
      record.status ?? 0,
      record.durationMs ?? 0,
      record.upstreamMs ?? 0,
      record.maskedCount,
      record.approvalId ? 1 : 0,
    ],
  };
}

/**
 * Emit both; the metrics binding is optional (absent in local development and tests), and the log
 * line can be switched off (`REQUEST_LOG=off`) where the audit rows and metrics are enough.
 */
export function observeRequest(record: AuditRecord, metrics?: AnalyticsEngineDataset, log = true): void {
  if (log) console.log(JSON.stringify(requestLogLine(record)));
  try {
    metrics?.writeDataPoint(metricsDataPoint(record));
  } catch {
    // Metrics are best effort; the audit row is the record of truth.
  }
}
