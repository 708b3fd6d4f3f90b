import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/principal.ts';
import { type CompiledPolicy, compilePolicy } from '../../../src/policy/compile.ts';
import { evaluatePolicy } from '../../../src/policy/evaluate.ts';
import { principalFromTest } from '../../../src/policy/policy-tests.ts';

const HEAD = `version: 1
connections:
  - { name: arm, kind: azure_resource_manager, upstream: "https://management.azure.com" }
  - { name: k8s, kind: kubernetes, upstream: "https://aks.example" }
  - { name: api, upstream: "https://api.example" }
rules:
`;

async function policy(rules: string): Promise<CompiledPolicy> {
  const result = await compilePolicy(HEAD + rules);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.policy;
}

const human = (extra: Partial<Parameters<typeof principalFromTest>[0]> = {}): Principal =>
  principalFromTest({
    subject: 'u1',
    app: 'cli',
    tenant: 't1',
    groups: ['g1'],
    groups_resolved: true,
    roles: [],
    scopes: [],
    ...extra,
  });
const RG = '/subscriptions/s1/resourceGroups/rg';
const arm = (method: string, path: string, query = '') => ({ connection: 'arm', method, path, query, now: 0 });

describe('RBAC-style operation matching', () => {
  it('matches wildcards case-insensitively and honours not_operations', async () => {
    const p = await policy(`
  - id: compute-deletes
    match: { operations: ["Microsoft.Compute/*/delete"] }
    effect: allow
  - id: all-but-reads
    match: { connections: [arm], operations: ["*"], not_operations: ["*/read", "microsoft.storage/*"] }
    effect: require_approval
    approval: { groups: [approvers] }
`);
    const del = evaluatePolicy(p, arm('DELETE', `${RG}/providers/Microsoft.Compute/virtualMachines/vm`), human());
    expect(del.matchedRuleIds).toEqual(['compute-deletes', 'all-but-reads']);
    expect(del.effect).toBe('require_approval');
    expect(
      evaluatePolicy(p, arm('GET', `${RG}/providers/Microsoft.Compute/virtualMachines/vm`), human()).matchedRuleIds,
    ).toEqual([]);
    expect(
      evaluatePolicy(p, arm('PUT', `${RG}/providers/Microsoft.Storage/storageAccounts/a`), human()).matchedRuleIds,
    ).toEqual([]);
  });

  it('matches subscription, resource group, provider, resource type and api-version', async () => {
    const p = await policy(`
  - id: narrow
    match:
      subscriptions: [s1]
      resource_groups: ["prod-*"]
      providers: [Microsoft.Storage]
      resource_types: ["Microsoft.Storage/storageAccounts"]
      api_versions: ["2023-*"]
    effect: allow
`);
    const path = '/subscriptions/s1/resourceGroups/prod-eu/providers/Microsoft.Storage/storageAccounts/a';
    expect(evaluatePolicy(p, arm('GET', path, '?api-version=2023-05-01'), human()).effect).toBe('allow');
    expect(evaluatePolicy(p, arm('GET', path, '?api-version=2021-01-01'), human()).effect).toBe('deny');
    expect(
      evaluatePolicy(p, arm('GET', path.replace('prod-eu', 'dev'), '?api-version=2023-05-01'), human()).effect,
    ).toBe('deny');
  });

  it('never matches ARM attributes on a plain connection', async () => {
    const p = await policy(`
  - id: reads
    match: { operations: ["*/read"] }
    effect: allow
`);
    expect(evaluatePolicy(p, { connection: 'api', method: 'GET', path: '/x' }, human()).effect).toBe('deny');
  });
});

describe('Kubernetes matching', () => {
  it('matches verb, group, resource, namespace and name like Kubernetes RBAC', async () => {
    const p = await policy(`
  - id: read-pods-in-dev
    match: { connections: [k8s], kubernetes: { verbs: [get, list, watch], api_groups: [""], resources: [pods, pods/log], namespaces: [dev] } }
    effect: allow
  - id: no-exec
    match: { kubernetes: { resources: [pods/exec] } }
    effect: deny
    message: no exec
`);
    const k8s = (method: string, path: string) => ({ connection: 'k8s', method, path });
    expect(evaluatePolicy(p, k8s('GET', '/api/v1/namespaces/dev/pods'), human()).effect).toBe('allow');
    expect(evaluatePolicy(p, k8s('GET', '/api/v1/namespaces/dev/pods/p/log'), human()).effect).toBe('allow');
    expect(evaluatePolicy(p, k8s('GET', '/api/v1/namespaces/prod/pods'), human()).effect).toBe('deny');
    expect(evaluatePolicy(p, k8s('DELETE', '/api/v1/namespaces/dev/pods/p'), human()).matchedRuleIds).toEqual([]);
    const exec = evaluatePolicy(p, k8s('POST', '/api/v1/namespaces/dev/pods/p/exec'), human());
    expect(exec).toMatchObject({ effect: 'deny', message: 'no exec', operation: 'k8s:create pods/exec' });
  });
});

describe('principals', () => {
  const rules = `
  - id: by-tenant-app-role-scope
    match: { connections: [api] }
    principals: { tenants: [t1], apps: [cli], roles: [Admin], scopes: [user_impersonation] }
    effect: allow
  - id: humans-only
    match: { connections: [api], methods: [DELETE] }
    principals: { app_only: false, subjects: [u1] }
    effect: allow
  - id: group-deny
    match: { connections: [api], methods: [PUT] }
    principals: { groups: [blocked] }
    effect: deny
  - id: group-allow
    match: { connections: [api], methods: [PUT] }
    principals: { groups: [g1] }
    effect: allow
`;
  const api = (method: string) => ({ connection: 'api', method, path: '/x' });

  it('requires every listed dimension to match', async () => {
    const p = await policy(rules);
    expect(evaluatePolicy(p, api('GET'), human({ roles: ['Admin'], scopes: ['user_impersonation'] })).effect).toBe(
      'allow',
    );
    expect(
      evaluatePolicy(p, api('GET'), human({ roles: ['Admin'], scopes: ['user_impersonation'], tenant: 't2' })).effect,
    ).toBe('deny');
    expect(evaluatePolicy(p, api('GET'), human({ roles: ['Reader'], scopes: ['user_impersonation'] })).effect).toBe(
      'deny',
    );
  });

  it('tells an app with no verified human from a person', async () => {
    const p = await policy(rules);
    expect(evaluatePolicy(p, api('DELETE'), human()).effect).toBe('allow');
    expect(evaluatePolicy(p, api('DELETE'), human({ subject: null })).effect).toBe('deny');
  });

  it('treats unresolved groups as unknown: no allow, but restrictions still apply', async () => {
    const p = await policy(rules);
    expect(evaluatePolicy(p, api('PUT'), human()).effect).toBe('allow');
    const unresolved = evaluatePolicy(p, api('PUT'), human({ groups: ['g1'], groups_resolved: false }));
    expect(unresolved).toMatchObject({ effect: 'deny', matchedRuleIds: ['group-deny'] });
  });
});

describe('CEL conditions', () => {
  it('sees path captures, query, principal, resource and now', async () => {
    const p = await policy(`
  - id: own-rg
    match: { connections: [arm], paths: ["/subscriptions/{sub}/resourceGroups/{rg}/**"] }
    when: >
      request.params.rg.startsWith("team-") && resource.subscription == request.params.sub &&
      "g1" in principal.groups && request.query["api-version"] == "2021-04-01" && now.getHours() >= 7
    effect: allow
`);
    const path = '/subscriptions/s1/resourceGroups/team-a/providers/Microsoft.Web/sites/x';
    const at = (iso: string) => ({ ...arm('GET', path, 'api-version=2021-04-01'), now: Date.parse(iso) });
    expect(evaluatePolicy(p, at('2026-01-05T08:00:00Z'), human()).effect).toBe('allow');
    expect(evaluatePolicy(p, at('2026-01-05T06:00:00Z'), human()).effect).toBe('deny');
    expect(
      evaluatePolicy(p, { ...at('2026-01-05T08:00:00Z'), path: path.replace('team-a', 'ops') }, human()).effect,
    ).toBe('deny');
  });

  it('turns a runtime error into a deny for that request, with the reason recorded', async () => {
    const p = await policy(`
  - id: reads
    match: { connections: [api] }
    effect: allow
  - id: needs-header-param
    match: { connections: [api] }
    when: request.query.tier == "gold"
    effect: allow
`);
    const ok = evaluatePolicy(p, { connection: 'api', method: 'GET', path: '/x', query: 'tier=gold' }, human());
    expect(ok).toMatchObject({ effect: 'allow', matchedRuleIds: ['reads', 'needs-header-param'], errors: [] });
    const broken = evaluatePolicy(p, { connection: 'api', method: 'GET', path: '/x' }, human());
    expect(broken.effect).toBe('deny');
    expect(broken.decidingRuleId).toBe('needs-header-param');
    expect(broken.errors).toEqual([{ ruleId: 'needs-header-param', reason: expect.stringContaining('tier') }]);
    expect(broken.matches[1]?.why).toContain('treated as deny');
  });
});

describe('obligations accumulate from every matching rule', () => {
  it('unions mask keys, paths and detectors and keeps the strongest style', async () => {
    const p = await policy(`
  - id: a
    match: { connections: [api] }
    effect: allow
    mask: { keys: [value], style: last4, detectors: [jwt] }
  - id: b
    match: { connections: [api] }
    effect: deny
    mask: { keys: [value, secret], paths: ["$.x"], style: hmac }
  - id: c
    match: { connections: [api], methods: [POST] }
    effect: allow
    mask: { style: redact }
`);
    const get = evaluatePolicy(p, { connection: 'api', method: 'GET', path: '/' }, human());
    expect(get.mask).toEqual({ keys: ['value', 'secret'], paths: ['$.x'], detectors: ['jwt'], style: 'hmac' });
    expect(evaluatePolicy(p, { connection: 'api', method: 'POST', path: '/' }, human()).mask.style).toBe('redact');
  });

  it('merges rewrites in rule order', async () => {
    const p = await policy(`
  - id: a
    match: { connections: [api] }
    effect: allow
    rewrite: { set_headers: { X-Team: one }, remove_query: [debug], json_patch: [{ op: add, path: /a, value: 1 }] }
  - id: b
    match: { connections: [api] }
    effect: allow
    rewrite: { set_headers: { x-team: two }, set_query: { tier: basic }, json_patch: [{ op: remove, path: /b }] }
`);
    expect(evaluatePolicy(p, { connection: 'api', method: 'PUT', path: '/' }, human()).rewrite).toEqual({
      setHeaders: { 'x-team': 'two' },
      removeHeaders: [],
      setQuery: { tier: 'basic' },
      removeQuery: ['debug'],
      jsonPatch: [
        { op: 'add', path: '/a', value: 1 },
        { op: 'remove', path: '/b' },
      ],
    });
  });
});

describe('the match index', () => {
  it('returns the same decisions as examining every rule', async () => {
    const providers = ['Microsoft.Storage', 'Microsoft.Compute', 'Microsoft.Web', 'Microsoft.KeyVault'];
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) {
      const provider = providers[i % providers.length];
      const kind = i % 5;
      if (kind === 0) lines.push(`  - { id: r${i}, match: { operations: ["${provider}/*/delete"] }, effect: deny }`);
      else if (kind === 1)
        lines.push(
          `  - { id: r${i}, match: { connections: [arm], operations: ["*/read"] }, principals: { groups: [g${i % 3}] }, effect: allow }`,
        );
      else if (kind === 2)
        lines.push(`  - { id: r${i}, match: { providers: [${provider}], methods: [PUT] }, effect: allow }`);
      else if (kind === 3)
        lines.push(`  - { id: r${i}, match: { connections: [api], paths: ["/v${i % 4}/**"] }, effect: allow }`);
      else
        lines.push(
          `  - { id: r${i}, match: { paths: ["/subscriptions/**"] }, when: 'request.method != "PATCH"', effect: allow }`,
        );
    }
    const p = await policy(lines.join('\n'));
    expect(p.index.keys.size).toBeGreaterThan(4);
    const everyRule = { ...p, index: { keys: new Set<string>(), candidates: () => p.rules } };
    const requests = [
      arm('DELETE', `${RG}/providers/Microsoft.Storage/storageAccounts/a`),
      arm('PUT', `${RG}/providers/Microsoft.Web/sites/a`),
      arm('GET', `${RG}/providers/Microsoft.KeyVault/vaults/v`),
      arm('PATCH', `${RG}/providers/Microsoft.Network/virtualNetworks/v`),
      arm('GET', '/subscriptions'),
      { connection: 'api', method: 'GET', path: '/v1/x' },
      { connection: 'api', method: 'GET', path: '/v9/x' },
      { connection: 'api', method: 'BREW', path: '/v2' },
    ];
    for (const request of requests) {
      for (const who of [human({ groups: ['g0'] }), human({ groups: ['g1'] }), human({ subject: null })]) {
        expect(evaluatePolicy(p, request, who)).toEqual(evaluatePolicy(everyRule, request, who));
      }
    }
  });
});
