/**
 * The policy source format (YAML or JSON), as a valibot schema; the TypeScript type is inferred.
 *
 * Contract: anything that passes `PolicySourceSchema` can be compiled; anything else is rejected
 * with issues that name the path of the offending field.
 */
import * as v from 'valibot';

const NonEmpty = v.pipe(v.string(), v.minLength(1));
const Id = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]*$/, 'ids are lowercase letters, digits and dashes'));
const Method = v.picklist(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']);
const PathPattern = v.pipe(v.string(), v.startsWith('/', 'path patterns start with /'));

const SecretName = v.pipe(v.string(), v.regex(/^[A-Z][A-Z0-9_]*$/, 'a Worker secret name in capitals'));
/** Upstream credential modes (issue 8): a bare mode name, or an object carrying its parameters. */
const CredentialSchema = v.union([
  v.picklist(['none', 'passthrough']),
  v.strictObject({ mode: v.literal('passthrough') }),
  /** Exchange the caller's token (audience: the gateway) for one to `scope`, e.g. https://management.azure.com/.default. */
  v.strictObject({ mode: v.literal('on_behalf_of'), scope: NonEmpty }),
  /** The gateway's own app-only token for `scope`. */
  v.strictObject({ mode: v.literal('client_credentials'), scope: NonEmpty }),
  /** A fixed header whose value is the Worker secret `secret` (never the value itself). */
  v.strictObject({ mode: v.literal('static'), header: NonEmpty, secret: SecretName }),
]);

export const ConnectionSchema = v.strictObject({
  name: Id,
  kind: v.optional(v.picklist(['azure_resource_manager', 'kubernetes', 'microsoft_graph', 'http']), 'http'),
  upstream: v.pipe(v.string(), v.url()),
  /** Accepted token audiences; defaults to the gateway's GATEWAY_AUDIENCES. */
  audiences: v.optional(v.array(NonEmpty)),
  /** Extra host names that route here without a path prefix (issue 8); `Host` must match exactly. */
  hosts: v.optional(v.array(v.pipe(v.string(), v.regex(/^[a-z0-9.-]+(:\d+)?$/, 'a lowercase host name')))),
  /** What the upstream receives as credentials (docs/connections.md). */
  credential: v.optional(CredentialSchema, 'none'),
  description: v.optional(v.string()),
});

export const PrincipalMatchSchema = v.strictObject({
  groups: v.optional(v.array(NonEmpty)),
  subjects: v.optional(v.array(NonEmpty)),
  apps: v.optional(v.array(NonEmpty)),
  roles: v.optional(v.array(NonEmpty)),
  scopes: v.optional(v.array(NonEmpty)),
  /** true: only app-only callers with no human subject; false: only callers with a human. */
  app_only: v.optional(v.boolean()),
});

export const MaskSchema = v.strictObject({
  /** JSON member names whose values are masked at any depth (case-insensitive). */
  keys: v.optional(v.array(NonEmpty), []),
});

export const ApprovalSchema = v.strictObject({
  groups: v.optional(v.array(NonEmpty), []),
  users: v.optional(v.array(NonEmpty), []),
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10)), 1),
  ttl_seconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(7 * 24 * 3600)), 3600),
});

export const RuleSchema = v.pipe(
  v.strictObject({
    id: Id,
    description: v.optional(v.string()),
    match: v.strictObject({
      connections: v.optional(v.array(Id)),
      methods: v.optional(v.array(Method)),
      paths: v.optional(v.array(PathPattern)),
    }),
    principals: v.optional(PrincipalMatchSchema),
    effect: v.picklist(['allow', 'deny', 'require_approval']),
    message: v.optional(v.string()),
    approval: v.optional(ApprovalSchema),
    mask: v.optional(MaskSchema),
  }),
  v.check(
    (rule) => rule.effect !== 'require_approval' || rule.approval !== undefined,
    'require_approval needs approval',
  ),
);

export const PolicySourceSchema = v.strictObject({
  version: v.literal(1),
  connections: v.pipe(v.array(ConnectionSchema), v.minLength(1)),
  /** Who may read the audit trail through the control plane. */
  auditors: v.optional(PrincipalMatchSchema),
  rules: v.array(RuleSchema),
});

export type PolicySource = v.InferOutput<typeof PolicySourceSchema>;
export type ConnectionSource = v.InferOutput<typeof ConnectionSchema>;
export type CredentialSource = v.InferOutput<typeof CredentialSchema>;
export type RuleSource = v.InferOutput<typeof RuleSchema>;
export type PrincipalMatch = v.InferOutput<typeof PrincipalMatchSchema>;
export type ApprovalSpec = v.InferOutput<typeof ApprovalSchema>;
