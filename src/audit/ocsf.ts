/**
 * Export of audit rows as OCSF API Activity events (class_uid 6003, category 6 "Application
 * Activity", OCSF schema 1.1.0), e.g. for Microsoft Sentinel's ASIM/OCSF ingestion.
 *
 * Contract: pure mapping from a stored row to one OCSF event; `OcsfApiActivity` is the valibot
 * schema of the attributes OCSF marks required for this class (activity_id, actor, api,
 * category_uid, class_uid, cloud, metadata, severity_id, src_endpoint, time, type_uid) plus the
 * optional ones we fill. Gateway-specific facts (decision, rules, approval, masking, hashes) go to
 * `unmapped`, as OCSF prescribes for attributes outside the class.
 */
import * as v from 'valibot';
import type { StoredRow } from './canonical.ts';

export const OCSF_VERSION = '1.1.0';

/** OCSF API Activity activity_id: 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other. */
export function activityOf(method: string): { id: 1 | 2 | 3 | 4 | 99; name: string } {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
      return { id: 2, name: 'Read' };
    case 'PUT':
      return { id: 1, name: 'Create' };
    case 'PATCH':
      return { id: 3, name: 'Update' };
    case 'DELETE':
      return { id: 4, name: 'Delete' };
    default:
      return { id: 99, name: 'Other' };
  }
}

const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: unknown) => (typeof value === 'number' ? value : undefined);
const json = (value: unknown) => {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
};
const compact = <T extends Record<string, unknown>>(object: T): T =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;

export function toOcsfApiActivity(row: StoredRow): Record<string, unknown> {
  const activity = activityOf(String(row.method));
  const status = num(row.status);
  const success = row.outcome === 'completed' && status !== undefined && status < 400;
  const started = Date.parse(String(row.started_at));
  const finished = str(row.finished_at) ? Date.parse(String(row.finished_at)) : undefined;
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(String(row.resource_id ?? row.path ?? ''))?.[1];
  return {
    activity_id: activity.id,
    activity_name: activity.name,
    category_uid: 6,
    category_name: 'Application Activity',
    class_uid: 6003,
    class_name: 'API Activity',
    type_uid: 600300 + activity.id,
    type_name: `API Activity: ${activity.name}`,
    time: started,
    ...(finished !== undefined ? { end_time: finished } : {}),
    ...(num(row.duration_ms) !== undefined ? { duration: num(row.duration_ms) } : {}),
    severity_id: row.decision === 'deny' || row.decision === 'unauthenticated' ? 3 : 1,
    status_id: success ? 1 : 2,
    status: success ? 'Success' : 'Failure',
    ...(status !== undefined ? { status_code: String(status) } : {}),
    ...(str(row.detail) ? { status_detail: str(row.detail) } : {}),
    message: `${row.decision} ${row.method} ${row.connection ?? ''}${row.path}`,
    actor: compact({
      user: row.subject_oid
        ? compact({
            uid: str(row.subject_oid),
            name: str(row.subject_upn) ?? str(row.subject_name),
            full_name: str(row.subject_name),
            type_id: 1,
          })
        : compact({ uid: str(row.actor_app_id), type_id: 99, type: 'Application' }),
      app_uid: str(row.actor_app_id),
      session: str(row.session_id) ? { uid: str(row.session_id) } : undefined,
      authorizations: [
        {
          decision: String(row.decision),
          policy: compact({ uid: str(row.policy_digest), name: String(json(row.rule_ids) ?? []) }),
        },
      ],
    }),
    api: compact({
      operation: str(row.operation) ?? `${row.method} ${row.path}`,
      service: compact({ name: str(row.connection) ?? 'unknown' }),
      request: { uid: String(row.request_id) },
      response: compact({ code: status, error: success ? undefined : str(row.outcome) }),
    }),
    cloud: compact({
      provider: 'Azure',
      org: str(row.tenant_id) ? { uid: str(row.tenant_id) } : undefined,
      account: subscription ? { uid: subscription } : undefined,
    }),
    src_endpoint: compact({ ip: str(row.client_ip) }),
    http_request: compact({
      http_method: String(row.method),
      url: compact({ path: String(row.path), query_string: str(row.query) }),
      user_agent: str(row.user_agent),
      uid: str(row.client_request_id) ?? String(row.request_id),
    }),
    ...(status !== undefined ? { http_response: { code: status } } : {}),
    ...(str(row.resource_id) ? { resources: [{ uid: str(row.resource_id) }] } : {}),
    metadata: compact({
      version: OCSF_VERSION,
      product: { name: 'Edgeward', vendor_name: 'Edgeward' },
      uid: String(row.request_id),
      correlation_uid: str(row.upstream_correlation_id),
      log_name: 'audit_events',
    }),
    unmapped: compact({
      decision: row.decision,
      outcome: row.outcome,
      rule_ids: json(row.rule_ids),
      approval_id: str(row.approval_id),
      approvers: json(row.approvers),
      masked_count: num(row.masked_count),
      masked_paths: json(row.masked_paths),
      bytes_in: num(row.bytes_in),
      bytes_out: num(row.bytes_out),
      upstream_request_id: str(row.upstream_request_id),
      upstream_ms: num(row.upstream_ms),
      colo: str(row.colo),
      actor_mode: str(row.actor_mode),
      row_hash: str(row.row_hash),
      sealed_seq: num(row.sealed_seq),
    }),
  };
}

const Uid = v.object({ uid: v.string() });

/** The OCSF 1.1.0 API Activity attributes Edgeward emits, with OCSF's required ones required. */
export const OcsfApiActivity = v.object({
  activity_id: v.picklist([0, 1, 2, 3, 4, 99]),
  category_uid: v.literal(6),
  class_uid: v.literal(6003),
  type_uid: v.pipe(v.number(), v.integer(), v.minValue(600300), v.maxValue(600399)),
  time: v.pipe(v.number(), v.integer()),
  severity_id: v.picklist([0, 1, 2, 3, 4, 5, 6, 99]),
  status_id: v.optional(v.picklist([0, 1, 2, 99])),
  actor: v.object({
    user: v.optional(
      v.object({ uid: v.optional(v.string()), name: v.optional(v.string()), type_id: v.optional(v.number()) }),
    ),
    app_uid: v.optional(v.string()),
    session: v.optional(Uid),
  }),
  api: v.object({
    operation: v.pipe(v.string(), v.minLength(1)),
    service: v.optional(v.object({ name: v.string() })),
    request: v.optional(Uid),
    response: v.optional(v.object({ code: v.optional(v.number()), error: v.optional(v.string()) })),
  }),
  cloud: v.object({ provider: v.string(), org: v.optional(Uid), account: v.optional(Uid) }),
  src_endpoint: v.object({ ip: v.optional(v.string()) }),
  http_request: v.optional(v.object({ http_method: v.string(), url: v.object({ path: v.string() }) })),
  resources: v.optional(v.array(Uid)),
  metadata: v.object({
    version: v.string(),
    product: v.object({ name: v.string(), vendor_name: v.string() }),
    uid: v.optional(v.string()),
  }),
  unmapped: v.optional(v.record(v.string(), v.unknown())),
});
