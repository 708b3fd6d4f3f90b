/**
 * Per-isolate gateway state: validated configuration, the compiled policy and the authenticator
 * (with its Entra key, verified-token and group caches). Built once per isolate (and rebuilt only
 * if the Worker's vars change), so no request pays for parsing config, compiling policy or
 * importing keys.
 *
 * Contract: `loadGateway` throws a misconfiguration error naming every unsafe or invalid setting;
 * the gateway never serves with a configuration it could not validate.
 */
import policySource from '../policies/default.yaml';
import { type Authenticator, createWorkerAuthenticator } from './auth/index.ts';
import { type GatewayConfig, parseConfig } from './config.ts';
import { EdgewardError } from './errors.ts';
import { type CompiledPolicy, compilePolicy } from './policy/index.ts';

export interface Gateway {
  config: GatewayConfig;
  policy: CompiledPolicy;
  /** Token verification with its key, verified-token and group caches (src/auth). */
  auth: Authenticator;
}

let cached: { key: string; gateway: Promise<Gateway> } | undefined;

export function loadGateway(env: Env): Promise<Gateway> {
  const vars = Object.fromEntries(Object.entries(env).filter(([, value]) => typeof value === 'string'));
  const key = JSON.stringify(vars);
  if (cached?.key !== key) {
    const gateway = buildGateway(vars);
    cached = { key, gateway };
    // A failed build is not cached: the next request tries again (and fails the same way).
    gateway.catch(() => {
      if (cached?.gateway === gateway) cached = undefined;
    });
  }
  return cached.gateway;
}

async function buildGateway(vars: Record<string, unknown>): Promise<Gateway> {
  const config = parseConfig(vars);
  if (!config.ok) throw refuseToServe(config.errors);
  const compiled = await compilePolicy(policySource);
  if (!compiled.ok) throw refuseToServe(compiled.errors.map((e) => `policy: ${e}`));
  return { config: config.value, policy: compiled.policy, auth: createWorkerAuthenticator(config.value) };
}

function refuseToServe(errors: string[]): EdgewardError {
  return new EdgewardError('EDGEWARD_MISCONFIGURED', 503, 'Gateway misconfigured', {
    publicDetail: `The gateway refuses to serve until these settings are fixed: ${errors.map((e) => e.split(':')[0]).join(', ')}`,
    auditDetail: errors.join('; '),
  });
}
