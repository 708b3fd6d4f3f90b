/**
 * Gateway configuration, read once per isolate from Worker vars and validated with valibot.
 *
 * Contract: a bad or unsafe configuration is an error that names the field — never a silently
 * open gateway. Production refuses the development token issuer, a plain-http authority and an
 * empty tenant allowlist.
 */
import * as v from 'valibot';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A client id (GUID) or an App ID URI (`api://…`, `https://…`). */
const isAudience = (value: string) => GUID.test(value) || (URL.canParse(value) && !/\s/.test(value));

const csv = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const RawConfigSchema = v.object({
  ENVIRONMENT: v.picklist(['development', 'test', 'staging', 'production']),
  DEV_TOKEN_ISSUER: v.optional(v.picklist(['on', 'off']), 'off'),
  // One structured JSON log line per request (src/observe/request-log.ts); read by the audit sink.
  REQUEST_LOG: v.optional(v.picklist(['on', 'off']), 'on'),
  ENTRA_AUTHORITY: v.pipe(v.string(), v.url('must be a URL')),
  TENANT_ALLOWLIST: v.pipe(
    v.string(),
    v.transform(csv),
    v.array(v.pipe(v.string(), v.regex(GUID, 'each tenant must be a GUID'))),
  ),
  GATEWAY_AUDIENCES: v.pipe(
    v.optional(v.string(), ''),
    v.transform(csv),
    v.array(v.pipe(v.string(), v.check(isAudience, 'each audience must be a client id (GUID) or an App ID URI'))),
  ),
  // Identity (issue 3): the agent-on-behalf-of-a-human header, Graph for group overage.
  SUBJECT_TOKEN_HEADER: v.pipe(
    v.optional(v.string(), 'x-edgeward-subject-token'),
    v.regex(/^x-edgeward-[a-z0-9-]+$/i, 'must be an x-edgeward-* header name (those are never sent upstream)'),
    v.toLowerCase(),
  ),
  GRAPH_ENDPOINT: v.pipe(v.optional(v.string(), 'https://graph.microsoft.com'), v.url('must be a URL')),
  GROUP_CACHE_SECONDS: v.pipe(
    v.optional(v.string(), '300'),
    v.transform(Number),
    v.number(),
    v.integer(),
    v.minValue(0),
    v.maxValue(3600, 'at most 3600 seconds'),
  ),
  CLOCK_TOLERANCE_SECONDS: v.pipe(
    v.optional(v.string(), '60'),
    v.transform(Number),
    v.number(),
    v.integer(),
    v.minValue(0),
    v.maxValue(300, 'at most 300 seconds'),
  ),
});

export interface GatewayConfig {
  environment: 'development' | 'test' | 'staging' | 'production';
  devTokenIssuer: boolean;
  /** Entra authority without a trailing slash, e.g. https://login.microsoftonline.com */
  authority: string;
  tenantAllowlist: readonly string[];
  defaultAudiences: readonly string[];
  clockToleranceSeconds: number;
  /** Lowercase name of the header carrying a human's token for an agent (`x-edgeward-*`). */
  subjectTokenHeader: string;
  /** Microsoft Graph base URL (group overage), without trailing slash. */
  graphEndpoint: string;
  groupCacheSeconds: number;
  /** Upstream base URL overrides by connection name (from UPSTREAM_<NAME> vars). */
  upstreamOverrides: ReadonlyMap<string, string>;
}

export type ConfigResult = { ok: true; value: GatewayConfig } | { ok: false; errors: string[] };

export function parseConfig(vars: Record<string, unknown>): ConfigResult {
  const parsed = v.safeParse(RawConfigSchema, vars);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.issues.map((issue) => `${v.getDotPath(issue) ?? '(config)'}: ${issue.message}`),
    };
  }
  const raw = parsed.output;
  const upstreamOverrides = new Map<string, string>();
  const errors: string[] = [];
  for (const [key, value] of Object.entries(vars)) {
    if (!key.startsWith('UPSTREAM_') || typeof value !== 'string' || value === '') continue;
    if (!URL.canParse(value)) errors.push(`${key}: must be a URL`);
    else upstreamOverrides.set(key.slice('UPSTREAM_'.length).toLowerCase(), value.replace(/\/+$/, ''));
  }
  const config: GatewayConfig = {
    environment: raw.ENVIRONMENT,
    devTokenIssuer: raw.DEV_TOKEN_ISSUER === 'on',
    authority: raw.ENTRA_AUTHORITY.replace(/\/+$/, ''),
    tenantAllowlist: raw.TENANT_ALLOWLIST.map((t) => t.toLowerCase()),
    defaultAudiences: raw.GATEWAY_AUDIENCES,
    clockToleranceSeconds: raw.CLOCK_TOLERANCE_SECONDS,
    subjectTokenHeader: raw.SUBJECT_TOKEN_HEADER,
    graphEndpoint: raw.GRAPH_ENDPOINT.replace(/\/+$/, ''),
    groupCacheSeconds: raw.GROUP_CACHE_SECONDS,
    upstreamOverrides,
  };
  errors.push(...unsafeSettings(config), ...missingSecrets(config, vars));
  return errors.length ? { ok: false, errors } : { ok: true, value: config };
}

/** Settings that are acceptable on a laptop and never in front of real Azure. */
function unsafeSettings(config: GatewayConfig): string[] {
  const errors: string[] = [];
  if (config.tenantAllowlist.length === 0) errors.push('TENANT_ALLOWLIST: at least one tenant is required');
  const authorityIsHttps = config.authority.startsWith('https://');
  if (!authorityIsHttps && !config.devTokenIssuer) {
    errors.push('ENTRA_AUTHORITY: must be https unless DEV_TOKEN_ISSUER is on');
  }
  if (!config.graphEndpoint.startsWith('https://') && !config.devTokenIssuer) {
    errors.push('GRAPH_ENDPOINT: must be https unless DEV_TOKEN_ISSUER is on');
  }
  if (config.environment === 'production' || config.environment === 'staging') {
    if (config.devTokenIssuer) errors.push(`DEV_TOKEN_ISSUER: must be off in ${config.environment}`);
    if (!authorityIsHttps) errors.push(`ENTRA_AUTHORITY: must be https in ${config.environment}`);
    if (!config.graphEndpoint.startsWith('https://')) {
      errors.push(`GRAPH_ENDPOINT: must be https in ${config.environment}`);
    }
    if (config.defaultAudiences.length === 0) errors.push('GATEWAY_AUDIENCES: at least one audience is required');
  }
  return errors;
}

/**
 * Secrets whose absence would make the gateway quietly weaker: unsigned audit digests outside
 * development (the published dev key is refused there), and webhooks that receivers could not
 * authenticate. Secrets are Worker secrets, so they arrive among the vars; only their presence is read.
 */
function missingSecrets(config: GatewayConfig, vars: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const present = (name: string) => typeof vars[name] === 'string' && vars[name] !== '';
  if ((config.environment === 'production' || config.environment === 'staging') && !present('AUDIT_SIGNING_KEY')) {
    errors.push(`AUDIT_SIGNING_KEY: an Ed25519 audit signing key secret is required in ${config.environment}`);
  }
  if ((config.environment === 'production' || config.environment === 'staging') && !present('CONTINUATION_KEY')) {
    // Without it, follow-up links (LRO polls, next pages) could not carry the obligations of the call that started them.
    errors.push(`CONTINUATION_KEY: a secret for binding follow-up links is required in ${config.environment}`);
  }
  if (present('APPROVAL_WEBHOOK_URLS') && !present('APPROVAL_WEBHOOK_SECRET')) {
    errors.push('APPROVAL_WEBHOOK_SECRET: approval webhooks are configured but would be sent unsigned');
  }
  return errors;
}
