/**
 * The policy source format (YAML or JSON), as a valibot schema; the TypeScript type is inferred.
 *
 * Contract: anything that passes `PolicySourceSchema` is structurally valid; the compiler adds the
 * semantic checks (unknown connections, duplicate ids, CEL type errors, bad wildcards). Issues name
 * the path of the offending field (the compiler turns paths into file:line:column).
 * `policies/policy.schema.json` is generated from this module (`npm run policy -- schema`).
 */
import * as v from 'valibot';
import { BUILTIN_DEFAULT_MASK_NAMES } from '../mask/azure-defaults.ts';
import { DETECTOR_NAMES } from '../mask/spec.ts';

const NonEmpty = v.pipe(v.string(), v.minLength(1));
const Id = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]*$/, 'ids are lowercase letters, digits and dashes'));
export const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const Method = v.picklist(METHODS);
const PathPattern = v.pipe(v.string(), v.startsWith('/', 'path patterns start with /'));
const Strings = v.array(NonEmpty);
const HeaderName = v.pipe(v.string(), v.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'not a valid header name'));

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

export const MaskSchema = v.strictObject({
  /** JSONPath subset (`$.keys[*].value`). */
  paths: v.optional(Strings, []),
  /** JSON member-name patterns masked at any depth (case-insensitive, `*` wildcard). */
  keys: v.optional(Strings, []),
  /** Value detectors applied to every string value. */
  detectors: v.optional(v.array(v.picklist(DETECTOR_NAMES)), []),
  /** How values are replaced; when rules disagree the strongest wins (redact > hmac > last4). */
  style: v.optional(v.picklist(['redact', 'last4', 'hmac'])),
});

/**
 * A connection's default mask: a backstop for the rule that forgot a field. Merged into the mask of
 * every decision for the connection, whatever rule allowed the request, so every JSON response of
 * the connection runs through the masker. A rule's `mask` without `style`: the strongest style the
 * matching rules name applies (`redact` when none does).
 */
const DefaultMaskSchema = v.omit(MaskSchema, ['style']);

export const ConnectionSchema = v.strictObject({
  name: Id,
  /** Decides which request facts are derived: ARM operations, Kubernetes verbs, or method + path. */
  kind: v.optional(v.picklist(['azure_resource_manager', 'kubernetes', 'microsoft_graph', 'http']), 'http'),
  /** Upstream base URL; overridable per environment with UPSTREAM_<NAME>. */
  upstream: v.pipe(v.string(), v.url()),
  /** Accepted token audiences; defaults to the gateway's GATEWAY_AUDIENCES. */
  // An empty list would mean three things (no token accepted, default audiences advertised,
  // passthrough misconfigured): refused instead.
  audiences: v.optional(
    v.pipe(v.array(NonEmpty), v.minLength(1, 'list at least one audience, or leave audiences out')),
  ),
  /** Extra host names that route here without a path prefix (issue 8); `Host` must match exactly. */
  hosts: v.optional(v.array(v.pipe(v.string(), v.regex(/^[a-z0-9.-]+(:\d+)?$/, 'a lowercase host name')))),
  /** What the upstream receives as credentials (docs/connections.md). */
  credential: v.optional(CredentialSchema, 'none'),
  /**
   * Masked in every response of this connection (docs/masking.md): a built-in set by name
   * (`azure_secrets`) or `{ keys, paths, detectors }`. A matching `allow` rule may opt out.
   */
  default_mask: v.optional(
    v.union([v.picklist(BUILTIN_DEFAULT_MASK_NAMES), DefaultMaskSchema], (issue) => {
      // An object that got past the name check says what is wrong inside it (a bad detector).
      const inner = issue.issues?.find((sub) => sub.path?.length);
      return inner
        ? `${inner.path?.map((item) => item.key).join('.')}: ${inner.message}`
        : `a built-in default mask (${BUILTIN_DEFAULT_MASK_NAMES.join(', ')}) or { keys, paths, detectors }`;
    }),
  ),
  description: v.optional(v.string()),
});

export const PrincipalMatchSchema = v.strictObject({
  /** Entra group object ids (any of). Unresolved groups (overage) never satisfy an allow. */
  groups: v.optional(Strings),
  /** Human subject object ids (`oid`, any of). */
  subjects: v.optional(Strings),
  /** Actor application ids (`azp`/`appid`, any of). */
  apps: v.optional(Strings),
  /** App roles (`roles`, any of). */
  roles: v.optional(Strings),
  /** Delegated scopes (`scp`, any of). */
  scopes: v.optional(Strings),
  /** Tenant ids (`tid`, any of). */
  tenants: v.optional(Strings),
  /** true: only an app with no verified human subject; false: only callers with a human. */
  app_only: v.optional(v.boolean()),
});

/** Kubernetes names: `*` means all, alone; a `*` inside a name would match nothing, so it is refused. */
const WHOLE_STAR = 'use `*` alone (all), not inside a name: it would match nothing';
const KubernetesNames = v.array(v.pipe(v.string(), v.regex(/^(\*|[^*]+)$/, WHOLE_STAR)));
/** API groups: as names, and `""` is the core group. */
const KubernetesGroups = v.array(v.pipe(v.string(), v.regex(/^(\*|[^*]*)$/, WHOLE_STAR)));

export const KubernetesMatchSchema = v.strictObject({
  verbs: v.optional(
    v.array(
      v.picklist(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'proxy', '*']),
    ),
  ),
  /** API groups; `""` is the core group. */
  api_groups: v.optional(KubernetesGroups),
  /** Resources, optionally with a subresource (`pods/exec`); `*` for all. */
  resources: v.optional(KubernetesNames),
  namespaces: v.optional(KubernetesNames),
  names: v.optional(KubernetesNames),
});

export const MatchSchema = v.strictObject({
  connections: v.optional(v.array(Id)),
  methods: v.optional(v.array(Method)),
  /** Path templates: `{name}` and `*` match one segment, `**` any number; captures go to `request.params`. */
  paths: v.optional(v.array(PathPattern)),
  /** ARM operations as Azure RBAC names them, with RBAC wildcards (`Microsoft.Compute/*\/delete`, `*\/read`). */
  operations: v.optional(Strings),
  /** Like RBAC `notActions`: operations excluded from `operations` (or from everything). */
  not_operations: v.optional(Strings),
  subscriptions: v.optional(Strings),
  resource_groups: v.optional(Strings),
  /** Resource provider namespaces (`Microsoft.Storage`), wildcards allowed. */
  providers: v.optional(Strings),
  /** Full resource types (`Microsoft.Storage/storageAccounts`), wildcards allowed. */
  resource_types: v.optional(Strings),
  /** `api-version` query values, wildcards allowed (`2023-*`). */
  api_versions: v.optional(Strings),
  kubernetes: v.optional(KubernetesMatchSchema),
});

const JsonPointer = v.pipe(v.string(), v.regex(/^(\/([^~/]|~[01])*)*$/, 'not a JSON Pointer (RFC 6901)'));
export const JsonPatchOpSchema = v.variant('op', [
  v.strictObject({ op: v.literal('add'), path: JsonPointer, value: v.unknown() }),
  v.strictObject({ op: v.literal('replace'), path: JsonPointer, value: v.unknown() }),
  v.strictObject({ op: v.literal('test'), path: JsonPointer, value: v.unknown() }),
  v.strictObject({ op: v.literal('remove'), path: JsonPointer }),
  v.strictObject({ op: v.literal('move'), path: JsonPointer, from: JsonPointer }),
  v.strictObject({ op: v.literal('copy'), path: JsonPointer, from: JsonPointer }),
]);

export const RewriteSchema = v.strictObject({
  set_headers: v.optional(v.record(HeaderName, v.string())),
  remove_headers: v.optional(v.array(HeaderName)),
  set_query: v.optional(v.record(NonEmpty, v.string())),
  remove_query: v.optional(Strings),
  /** RFC 6902 operations applied to a JSON request body (bounded size; other bodies are refused). */
  json_patch: v.optional(v.array(JsonPatchOpSchema)),
});

export const ApprovalSchema = v.strictObject({
  groups: v.optional(v.array(NonEmpty), []),
  users: v.optional(v.array(NonEmpty), []),
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10)), 1),
  ttl_seconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(7 * 24 * 3600)), 3600),
  reason_required: v.optional(v.boolean(), false),
});

export const RuleSchema = v.pipe(
  v.strictObject({
    id: Id,
    description: v.optional(v.string()),
    match: v.optional(MatchSchema, {}),
    principals: v.optional(PrincipalMatchSchema),
    /** CEL expression over request, principal, resource and now; must be bool. */
    when: v.optional(NonEmpty),
    effect: v.picklist(['allow', 'deny', 'require_approval']),
    /** Shown to the caller on deny. */
    message: v.optional(v.string()),
    approval: v.optional(ApprovalSchema),
    mask: v.optional(MaskSchema),
    /**
     * `false`: the connection's default mask does not apply to requests this rule matches (only
     * the rules' own masks do) — for responses that carry no secrets or cannot be masked (a
     * WebSocket session, plain-text logs). Honoured on `allow` rules only, and only when the rule
     * really allowed (a `when` that failed makes it a deny, and its opt-out is dropped): lifting a
     * protection is a grant, so only a rule that grants may do it. A `deny` or `require_approval`
     * rule restricts — its opt-out is ignored, so adding a restriction can never unmask a response
     * (approvers approve a request, not the plaintext of its answer).
     */
    default_mask: v.optional(v.literal(false)),
    rewrite: v.optional(RewriteSchema),
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
  /** Who may activate or roll back policy bundles through the control plane. */
  policy_admins: v.optional(PrincipalMatchSchema),
  rules: v.array(RuleSchema),
});

export type PolicySource = v.InferOutput<typeof PolicySourceSchema>;
export type ConnectionSource = v.InferOutput<typeof ConnectionSchema>;
export type CredentialSource = v.InferOutput<typeof CredentialSchema>;
export type RuleSource = v.InferOutput<typeof RuleSchema>;
export type MatchSource = v.InferOutput<typeof MatchSchema>;
export type PrincipalMatch = v.InferOutput<typeof PrincipalMatchSchema>;
export type ApprovalSpec = v.InferOutput<typeof ApprovalSchema>;
export type JsonPatchOp = v.InferOutput<typeof JsonPatchOpSchema>;
export type RewriteSource = v.InferOutput<typeof RewriteSchema>;
