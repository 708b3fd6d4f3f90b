/**
 * Per-isolate gateway state: validated configuration, the compiled policy and the authenticator
 * (with its Entra key, verified-token and group caches). Built once per isolate (and rebuilt only
 * if the Worker's vars change), so no request pays for parsing config, compiling policy or
 * importing keys.
 *
 * Contract: `loadGateway` throws a misconfiguration error naming every unsafe or invalid setting;
 * the gateway never serves with a configuration it could not validate.
 *
 * Policy: the bundle embedded at build time (policies/default.yaml) is compiled once per isolate.
 * A runtime-activated bundle (control plane, D1) replaces it: each isolate checks the latest
 * activation at most every `POLICY_REFRESH_MS` (so within 30 s of an activation every isolate
 * serves it), re-verifies the stored bundle's signature before using it, and keeps the policy it
 * has when D1 is unreachable or the stored bundle does not verify.
 */
import policySource from '../policies/default.yaml';
import { type Authenticator, createWorkerAuthenticator } from './auth/index.ts';
import { type GatewayConfig, parseConfig } from './config.ts';
import { envVars } from './env-vars.ts';
import { EdgewardError } from './errors.ts';
import { latestActivation, storedBundle } from './policy/bundle-store.ts';
import { type CompiledPolicy, compilePolicy, openSignedBundle } from './policy/index.ts';
import { latestByKey } from './util/latest-by-key.ts';

export interface Gateway {
  config: GatewayConfig;
  /** The policy in force: the embedded one, or the runtime-activated bundle. */
  policy: CompiledPolicy;
  /** Token verification with its key, verified-token and group caches (src/auth). */
  auth: Authenticator;
  /** The policy embedded at build time (always a valid rollback target). */
  embeddedPolicy: CompiledPolicy;
  /** When this isolate last looked for a newer activation; the last digest that failed to load. */
  policyCheck: { at: number; pending?: Promise<void> | undefined; failed?: string };
}

export const POLICY_REFRESH_MS = 15_000;

const gatewayFor = latestByKey<Gateway>();

/**
 * The isolate's gateway with its active policy. An isolate's first activation check is awaited
 * (it never serves before knowing which bundle is active); later checks run in the background
 * through `waitUntil` when one is given, so no request waits for the D1 read every 15 s.
 */
export async function loadGateway(env: Env, waitUntil?: (promise: Promise<unknown>) => void): Promise<Gateway> {
  const gateway = await loadIsolateGateway(env);
  const refresh = refreshActivePolicy(gateway, env, Date.now());
  if (waitUntil && gateway.policyCheck.at !== Number.NEGATIVE_INFINITY) waitUntil(refresh);
  else await refresh;
  return gateway;
}

/** Bring `gateway.policy` in line with the latest activation (throttled unless `force`). */
export function refreshActivePolicy(gateway: Gateway, env: Env, now: number, force = false): Promise<void> {
  if (gateway.policyCheck.pending) return gateway.policyCheck.pending;
  if (!force && now - gateway.policyCheck.at < POLICY_REFRESH_MS) return Promise.resolve();
  const pending = (async () => {
    try {
      const latest = await latestActivation(env.AUDIT_DB);
      const target = latest?.digest ?? gateway.embeddedPolicy.digest;
      // A bundle that failed to load is not fetched, verified and compiled again every check.
      if (target !== gateway.policy.digest && (force || target !== gateway.policyCheck.failed)) {
        const policy = await resolvePolicy(gateway, env, target);
        if (policy) gateway.policy = policy;
        else {
          gateway.policyCheck.failed = target;
          console.error(`policy: activated bundle ${target} cannot be loaded; keeping ${gateway.policy.digest}`);
        }
      }
    } catch (error) {
      console.error(`policy: activation check failed; keeping ${gateway.policy.digest}: ${String(error)}`);
    } finally {
      gateway.policyCheck.at = now;
      gateway.policyCheck.pending = undefined;
    }
  })();
  gateway.policyCheck.pending = pending;
  return pending;
}

/** The compiled policy for a digest: the embedded one, or a stored bundle that still verifies. */
export async function resolvePolicy(gateway: Gateway, env: Env, digest: string): Promise<CompiledPolicy | undefined> {
  if (digest === gateway.embeddedPolicy.digest) return gateway.embeddedPolicy;
  const text = await storedBundle(env.AUDIT_DB, digest);
  if (!text) return undefined;
  const opened = await openSignedBundle(JSON.parse(text), String(env.POLICY_BUNDLE_PUBLIC_KEY ?? ''));
  return opened.ok ? opened.policy : undefined;
}

function loadIsolateGateway(env: Env): Promise<Gateway> {
  const { vars, key } = envVars(env);
  return gatewayFor(key, () => buildGateway(vars));
}

async function buildGateway(vars: Record<string, unknown>): Promise<Gateway> {
  const config = parseConfig(vars);
  if (!config.ok) throw refuseToServe(config.errors);
  const compiled = await compilePolicy(policySource, { file: 'policies/default.yaml' });
  if (!compiled.ok) throw refuseToServe(compiled.errors.map((e) => `policy: ${e}`));
  return {
    config: config.value,
    policy: compiled.policy,
    embeddedPolicy: compiled.policy,
    auth: createWorkerAuthenticator(config.value),
    policyCheck: { at: Number.NEGATIVE_INFINITY },
  };
}

function refuseToServe(errors: string[]): EdgewardError {
  return new EdgewardError('EDGEWARD_MISCONFIGURED', 503, 'Gateway misconfigured', {
    publicDetail: `The gateway refuses to serve until these settings are fixed: ${errors.map((e) => e.split(':')[0]).join(', ')}`,
    auditDetail: errors.join('; '),
  });
}
