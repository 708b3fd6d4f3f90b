/**
 * The audit record of one request, built up as the request moves through the pipeline.
 *
 * Contract: holds no token and no secret value — only a token fingerprint, redacted query strings
 * and the paths (never the values) of masked fields.
 */
import type { Principal } from '../auth/principal.ts';
import { DETECTOR_NAMES, DETECTORS } from '../mask/index.ts';

export type AuditDecision = 'allow' | 'deny' | 'require_approval' | 'unauthenticated' | 'error' | 'control';

export type AuditOutcome =
  | 'pending'
  | 'completed'
  | 'refused'
  | 'upstream_error'
  | 'mask_error'
  | 'client_aborted'
  | 'approval_pending';

export interface AuditRecord {
  requestId: string;
  phase: 'intent' | 'final';
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  principal?: Principal;
  connection?: string;
  method: string;
  path: string;
  query: string;
  decision: AuditDecision;
  ruleIds: readonly string[];
  approvalId?: string;
  status?: number;
  outcome: AuditOutcome;
  detail?: string;
  maskedCount: number;
  maskedPaths: readonly string[];
  bytesOut?: number;
  upstreamRequestId?: string;
  clientIp?: string;
  userAgent?: string;
  // Fields below are filled by the stages that know them; src/audit persists them (issue 6).
  /** Derived operation: ARM RBAC name (`Microsoft.Resources/subscriptions/resourceGroups/delete`) or `k8s:verb resource`. */
  operation?: string;
  /** Resource id the operation acts on (ARM resource id, or Kubernetes namespace/resource/name). */
  resourceId?: string;
  /** Object ids of the people who approved (or denied) this request. */
  approvers?: readonly string[];
  /** How the actor authenticated: `delegated`, `app_only`, or `app_with_subject_token`. */
  actorMode?: string;
  /** Client-supplied session / correlation id (`x-ms-correlation-request-id` or `traceparent`). */
  sessionId?: string;
  bytesIn?: number;
  upstreamCorrelationId?: string;
  /** `x-ms-client-request-id` the gateway sent upstream (the request id). */
  clientRequestId?: string;
  upstreamMs?: number;
  colo?: string;
  /** Mutations: the request body, masked and size-capped. */
  requestBody?: string;
  requestBodyTruncated?: boolean;
  /** The byte cap that applied when `requestBody` was captured. */
  requestBodyCap?: number;
  /** Policy bundle digest that decided this request. */
  policyDigest?: string;
  /** For a request embedded in a batch: the request id of the batch that carried it. */
  parentRequestId?: string;
  /**
   * Facts read from the request body that policy judged (bounded JSON): a batch's embedded count,
   * a template deployment's resource types and names, the origin a follow-up call was bound to.
   */
  requestFacts?: string;
}

/**
 * Query parameters whose values are credentials: SAS signatures, auth codes, and any name that
 * says secret, password, token, assertion, credential, signature or (api/subscription) key.
 */
const SECRET_PARAM = /^(sig|sv-sig|code)$|password|secret|token|assertion|credential|signature|(^|[-_])(api)?key$/i;

/** A value is redacted when its name says credential or any value detector (JWT, SAS, connection string, …) fires. */
export function redactQuery(search: string): string {
  if (search === '' || search === '?') return '';
  const params = new URLSearchParams(search);
  const redacted = new URLSearchParams();
  for (const [name, value] of params) {
    const secret = SECRET_PARAM.test(name) || DETECTOR_NAMES.some((detector) => DETECTORS[detector].test(value));
    redacted.append(name, secret ? 'REDACTED' : value);
  }
  return redacted.toString();
}

/**
 * Mutations are written ahead: anything that can change state upstream. A rule (or any later
 * stage) may mark more requests by passing `markedByRule`.
 */
export const isMutation = (method: string, markedByRule = false) =>
  markedByRule || !['GET', 'HEAD', 'OPTIONS'].includes(method);
