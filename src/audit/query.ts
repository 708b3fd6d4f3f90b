/**
 * Querying audit rows: filters, keyset (cursor) pagination, newest first.
 *
 * Contract: every filter is a bound parameter; the cursor is opaque to callers (base64url of the
 * last row's `started_at` and `request_id`) and stable under concurrent inserts, because rows are
 * ordered by the unique pair (started_at, request_id). Returns at most `limit` rows and a cursor
 * for the next page, or null on the last page.
 */
import type { StoredRow } from './canonical.ts';

export interface AuditFilters {
  from?: string;
  to?: string;
  subject?: string;
  actor?: string;
  connection?: string;
  operation?: string;
  resource?: string;
  decision?: string;
  status?: number;
  approval?: string;
  outcome?: string;
}

export const FILTER_NAMES = [
  'from',
  'to',
  'subject',
  'actor',
  'connection',
  'operation',
  'resource',
  'decision',
  'status',
  'approval',
  'outcome',
] as const;

export interface AuditPage {
  events: StoredRow[];
  nextCursor: string | null;
}

const encodeCursor = (startedAt: string, requestId: string) =>
  btoa(JSON.stringify([startedAt, requestId]))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

export function decodeCursor(cursor: string): [string, string] | null {
  try {
    const value = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) {
      return value as [string, string];
    }
  } catch {}
  return null;
}

export async function queryAuditEvents(
  db: D1Database,
  filters: AuditFilters,
  page: { limit: number; cursor?: [string, string] | null },
): Promise<AuditPage> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, ...values: (string | number)[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (filters.from) add('started_at >= ?', filters.from);
  if (filters.to) add('started_at < ?', filters.to);
  // "subject" matches the human by object id or (display) UPN; "actor" the calling app.
  if (filters.subject) add('(subject_oid = ? OR lower(subject_upn) = lower(?))', filters.subject, filters.subject);
  if (filters.actor) add('actor_app_id = ?', filters.actor);
  if (filters.connection) add('connection = ?', filters.connection);
  if (filters.operation) add('lower(operation) = lower(?)', filters.operation);
  // ARM resource ids are case-insensitive.
  if (filters.resource) add('lower(resource_id) = lower(?)', filters.resource);
  if (filters.decision) add('decision = ?', filters.decision);
  if (filters.status !== undefined) add('status = ?', filters.status);
  if (filters.approval) add('approval_id = ?', filters.approval);
  if (filters.outcome) add('outcome = ?', filters.outcome);
  if (page.cursor)
    add('(started_at < ? OR (started_at = ? AND request_id < ?))', page.cursor[0], page.cursor[0], page.cursor[1]);
  const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY started_at DESC, request_id DESC LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...params, page.limit + 1)
    .all<StoredRow>();
  const events = results.slice(0, page.limit);
  const last = events[events.length - 1];
  return {
    events,
    nextCursor:
      results.length > page.limit && last ? encodeCursor(String(last.started_at), String(last.request_id)) : null,
  };
}
