/**
 * The schema of one exported audit event (the NDJSON export and the JSON `events` array): the
 * stored row, column for column. Consumers and tests validate exports against it.
 */
import * as v from 'valibot';

const text = v.nullable(v.string());
const int = v.nullable(v.pipe(v.number(), v.integer()));
const jsonArray = v.pipe(
  v.string(),
  v.check((value) => {
    try {
      return Array.isArray(JSON.parse(value));
    } catch {
      return false;
    }
  }, 'must be a JSON array'),
);
const iso = v.pipe(v.string(), v.isoTimestamp());

export const AuditEventSchema = v.strictObject({
  request_id: v.string(),
  phase: v.picklist(['intent', 'final']),
  started_at: iso,
  finished_at: v.nullable(iso),
  duration_ms: int,
  tenant_id: text,
  subject_oid: text,
  subject_upn: text,
  subject_name: text,
  actor_app_id: text,
  actor_app_only: v.nullable(v.picklist([0, 1])),
  actor_credential: text,
  actor_mode: text,
  token_fingerprint: text,
  session_id: text,
  connection: text,
  method: v.string(),
  path: v.string(),
  query: text,
  operation: text,
  resource_id: text,
  decision: v.picklist(['allow', 'deny', 'require_approval', 'unauthenticated', 'error', 'control']),
  rule_ids: jsonArray,
  policy_digest: text,
  approval_id: text,
  approvers: v.nullable(jsonArray),
  status: int,
  outcome: v.picklist([
    'pending',
    'completed',
    'refused',
    'upstream_error',
    'mask_error',
    'client_aborted',
    'approval_pending',
  ]),
  detail: text,
  masked_count: v.pipe(v.number(), v.integer()),
  masked_paths: jsonArray,
  bytes_in: int,
  bytes_out: int,
  upstream_request_id: text,
  upstream_correlation_id: text,
  client_request_id: text,
  upstream_ms: int,
  client_ip: text,
  user_agent: text,
  colo: text,
  request_body: text,
  request_body_truncated: v.nullable(v.picklist([0, 1])),
  request_body_cap: int,
  parent_request_id: text,
  request_facts: text,
  row_hash: v.nullable(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
  sealed_seq: int,
});
