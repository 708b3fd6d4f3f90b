/**
 * The Worker's string vars and secrets, and a key that changes when any of them does — computed
 * once per `env` object (not per caller), so per-isolate caches (gateway state, proxy runtime) can
 * tell cheaply whether their configuration is still current.
 */
export interface EnvVars {
  vars: Readonly<Record<string, string>>;
  key: string;
}

const memo = new WeakMap<object, EnvVars>();

export function envVars(env: object): EnvVars {
  let found = memo.get(env);
  if (!found) {
    const vars = Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    found = { vars, key: JSON.stringify(vars) };
    memo.set(env, found);
  }
  return found;
}
