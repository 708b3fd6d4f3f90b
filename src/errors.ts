/**
 * Typed gateway errors with stable codes.
 *
 * Contract: every refusal the gateway makes is one of these; callers switch on `code`, never on a
 * message. `publicDetail` is safe to show a caller; `auditDetail` (the precise reason, e.g. why a
 * token failed) goes only to the audit row. Neither may ever contain a token or a secret value.
 */

export type ErrorCode =
  | 'EDGEWARD_TOKEN_MISSING'
  | 'EDGEWARD_TOKEN_INVALID'
  | 'EDGEWARD_INSUFFICIENT_SCOPE'
  | 'EDGEWARD_KEYS_UNAVAILABLE'
  | 'EDGEWARD_NO_ROUTE'
  | 'EDGEWARD_POLICY_DENIED'
  | 'EDGEWARD_POLICY_ERROR'
  | 'EDGEWARD_APPROVAL_PENDING'
  | 'EDGEWARD_APPROVAL_DENIED'
  | 'EDGEWARD_APPROVAL_NOT_FOUND'
  | 'EDGEWARD_AUDIT_UNAVAILABLE'
  | 'EDGEWARD_UPSTREAM_UNREACHABLE'
  | 'EDGEWARD_UPSTREAM_UNMASKABLE'
  | 'EDGEWARD_SUBJECT_TOKEN_INVALID'
  | 'EDGEWARD_GROUPS_UNRESOLVED'
  | 'EDGEWARD_BODY_TOO_LARGE'
  | 'EDGEWARD_UPSTREAM_TIMEOUT'
  | 'EDGEWARD_UPSTREAM_CLAIMS_CHALLENGE'
  | 'EDGEWARD_CREDENTIAL_UNAVAILABLE'
  | 'EDGEWARD_BUNDLE_REJECTED'
  | 'EDGEWARD_WEBHOOK_SIGNATURE_INVALID'
  | 'EDGEWARD_BAD_REQUEST'
  | 'EDGEWARD_METHOD_NOT_ALLOWED'
  | 'EDGEWARD_METHOD_OVERRIDE_REFUSED'
  | 'EDGEWARD_AMBIGUOUS_BODY'
  | 'EDGEWARD_BATCH_REFUSED'
  | 'EDGEWARD_MISCONFIGURED'
  | 'EDGEWARD_INTERNAL';

export interface ErrorOptions {
  /** Safe, human-readable explanation for the caller. */
  publicDetail?: string;
  /** Precise reason for the audit row only (never a token or secret). */
  auditDetail?: string;
  /** Extra problem members (RFC 9457 §3.2 extensions), safe for the caller. */
  extensions?: Record<string, unknown>;
  /** Extra response headers (e.g. Location for a pending approval). */
  headers?: Record<string, string>;
}

export class EdgewardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly publicDetail: string | undefined;
  readonly auditDetail: string | undefined;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, status: number, title: string, options: ErrorOptions = {}) {
    super(`${code}: ${options.auditDetail ?? options.publicDetail ?? title}`);
    this.name = 'EdgewardError';
    this.code = code;
    this.status = status;
    this.title = title;
    this.publicDetail = options.publicDetail;
    this.auditDetail = options.auditDetail;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

export const tokenMissing = (auditDetail = 'no bearer token') =>
  new EdgewardError('EDGEWARD_TOKEN_MISSING', 401, 'Authentication required', {
    publicDetail: 'Send an Entra ID access token as `Authorization: Bearer <token>`.',
    auditDetail,
  });

export const tokenInvalid = (auditDetail: string, publicDetail?: string) =>
  new EdgewardError('EDGEWARD_TOKEN_INVALID', 401, 'Invalid access token', {
    publicDetail: publicDetail ?? 'The access token could not be verified.',
    auditDetail,
  });

export const keysUnavailable = (auditDetail: string) =>
  new EdgewardError('EDGEWARD_KEYS_UNAVAILABLE', 503, 'Signing keys unavailable', {
    publicDetail: 'The gateway cannot obtain the identity provider signing keys; try again later.',
    auditDetail,
    headers: { 'retry-after': '30' },
  });

export const noRoute = (path: string) =>
  new EdgewardError('EDGEWARD_NO_ROUTE', 404, 'No such connection', {
    publicDetail: 'The first path segment must name a configured connection.',
    auditDetail: `no connection for ${path}`,
  });

export const policyDenied = (message: string, ruleIds: readonly string[]) =>
  new EdgewardError('EDGEWARD_POLICY_DENIED', 403, 'Denied by policy', {
    publicDetail: message,
    auditDetail: ruleIds.length ? `rules: ${ruleIds.join(',')}` : 'default deny',
  });

export const auditUnavailable = (auditDetail: string) =>
  new EdgewardError('EDGEWARD_AUDIT_UNAVAILABLE', 503, 'Audit log unavailable', {
    publicDetail: 'The request was not sent: its audit record could not be written first.',
    auditDetail,
    headers: { 'retry-after': '5' },
  });

export const upstreamUnreachable = (auditDetail: string) =>
  new EdgewardError('EDGEWARD_UPSTREAM_UNREACHABLE', 502, 'Upstream unreachable', {
    publicDetail: 'The upstream service could not be reached.',
    auditDetail,
  });

/**
 * A response policy requires masked is not JSON the gateway can mask. When the upstream already
 * executed a mutation (`executedStatus`), the caller and the audit row are told so — and keep the
 * follow-up links (`headers`) — because the change happened even though its answer is withheld.
 */
export const upstreamUnmaskable = (
  auditDetail: string,
  executed?: { status: number; headers?: Record<string, string> },
) =>
  new EdgewardError('EDGEWARD_UPSTREAM_UNMASKABLE', 502, 'Upstream response cannot be masked', {
    publicDetail: executed
      ? `The upstream executed this request (status ${executed.status}), but its response is not JSON the gateway can mask, so it is withheld. Do not retry blindly: the change has happened.`
      : 'Policy requires masking this response, but it is not JSON the gateway can mask.',
    auditDetail: executed
      ? `upstream executed (status ${executed.status}); response withheld: ${auditDetail}`
      : auditDetail,
    ...(executed ? { extensions: { upstreamExecuted: true, upstreamStatus: executed.status } } : {}),
    ...(executed?.headers ? { headers: executed.headers } : {}),
  });

/** A body the gateway must judge holds duplicate member names (exactly or case-insensitively) or is not JSON. */
export const ambiguousBody = (detail: string, pointer: string) =>
  new EdgewardError('EDGEWARD_AMBIGUOUS_BODY', 400, 'Request body is ambiguous', {
    publicDetail: `${detail}. Azure binds JSON member names case-insensitively and the last duplicate wins, so the gateway cannot judge what would execute; send each member once.`,
    auditDetail: `body refused at ${pointer || '(root)'}: ${detail}`.slice(0, 500),
    extensions: { pointer },
  });

/** A batch whose embedded requests cannot all be judged, or one of which policy refuses. */
export const batchRefused = (status: 400 | 403, message: string, ruleIds: readonly string[], embedded?: string) =>
  new EdgewardError(
    'EDGEWARD_BATCH_REFUSED',
    status,
    status === 400 ? 'Batch cannot be judged' : 'Batch denied by policy',
    {
      publicDetail: message,
      auditDetail: `${message}${ruleIds.length ? ` (rules: ${ruleIds.join(',')})` : ''}`.slice(0, 1000),
      extensions: { ...(embedded !== undefined ? { embeddedRequest: embedded } : {}), ruleIds },
    },
  );

/** A method the connection's API does not define (RFC 9110 §15.5.6: 405 lists what is allowed). */
export const methodNotAllowed = (method: string, allowed: readonly string[]) =>
  new EdgewardError('EDGEWARD_METHOD_NOT_ALLOWED', 405, 'Method not allowed', {
    publicDetail: `This API does not define the method ${method.slice(0, 32)}; it was not sent.`,
    auditDetail: `method ${method.slice(0, 32)} is not defined for this connection`,
    headers: { allow: allowed.join(', ') },
  });

/** A method override would make the upstream run another method than the one policy judged. */
export const methodOverrideRefused = (where: 'header' | 'query', name: string) =>
  new EdgewardError('EDGEWARD_METHOD_OVERRIDE_REFUSED', 400, 'Method override refused', {
    publicDetail: `The ${where === 'header' ? 'header' : 'query parameter'} ${name.slice(0, 64)} asks the upstream to run another method than the one sent; send the real method instead.`,
    auditDetail: `method override in ${where} ${name.slice(0, 64)}`,
  });

export const badRequest = (publicDetail: string) =>
  new EdgewardError('EDGEWARD_BAD_REQUEST', 400, 'Bad request', { publicDetail, auditDetail: publicDetail });

export const misconfigured = (auditDetail: string) =>
  new EdgewardError('EDGEWARD_MISCONFIGURED', 500, 'Gateway misconfigured', {
    publicDetail: 'The gateway refuses to serve with its current configuration.',
    auditDetail,
  });

export const approvalPending = (approvalId: string, expiresAt: string) =>
  new EdgewardError('EDGEWARD_APPROVAL_PENDING', 202, 'Approval pending', {
    publicDetail:
      'Policy requires an approval for this exact request. Send the same request again once it is approved.',
    auditDetail: `approval ${approvalId} pending`,
    extensions: { approvalId, statusUrl: `/_gateway/approvals/${approvalId}`, expiresAt },
    headers: { 'retry-after': '10' },
  });

export const approvalDenied = (approvalId: string, reason: string) =>
  new EdgewardError('EDGEWARD_APPROVAL_DENIED', 403, 'Approval denied', {
    publicDetail: reason ? `An approver denied this request: ${reason}` : 'An approver denied this request.',
    auditDetail: `approval ${approvalId} denied`,
    extensions: { approvalId },
  });

export const bodyTooLarge = (limit: number) =>
  new EdgewardError('EDGEWARD_BODY_TOO_LARGE', 413, 'Request body too large', {
    publicDetail: `Request bodies held for approval are limited to ${limit} bytes.`,
    auditDetail: `body over ${limit} bytes`,
  });

/** A rewrite obligation could not be applied (the request is refused, never sent unrewritten). */
export const rewriteRefused = (status: 413 | 415 | 422, auditDetail: string) =>
  new EdgewardError('EDGEWARD_BAD_REQUEST', status, 'Request cannot be rewritten as policy requires', {
    publicDetail:
      status === 413
        ? 'Policy must rewrite this request body, and it is too large to rewrite.'
        : status === 415
          ? 'Policy must rewrite this request body, and only JSON bodies can be rewritten.'
          : `Policy must rewrite this request body, and the rewrite does not apply: ${auditDetail}`,
    auditDetail: `rewrite: ${auditDetail}`,
  });

/** A policy bundle was refused for runtime activation; the active bundle stays as it was. */
export const bundleRejected = (reason: string, auditDetail: string, status = 422) =>
  new EdgewardError('EDGEWARD_BUNDLE_REJECTED', status, 'Policy bundle rejected', {
    publicDetail: `The bundle was not activated (${reason}); the active policy is unchanged.`,
    auditDetail,
    extensions: { reason },
  });

/** A deny caused by a policy condition that could not be evaluated: the reasons go to audit. */
export const policyConditionFailed = (message: string, ruleIds: readonly string[], reasons: readonly string[]) =>
  new EdgewardError('EDGEWARD_POLICY_DENIED', 403, 'Denied by policy', {
    publicDetail: message,
    auditDetail: `rules: ${ruleIds.join(',')}; condition errors: ${reasons.join('; ')}`.slice(0, 1000),
  });
