// Connection-level default masks (`default_mask:`): compile, merge into every decision of the
// connection, opt-out by allow rules only, and the built-in `azure_secrets` set against Azure's
// secret-bearing response shapes — masking the secrets and leaving the non-secrets alone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  functionHostKeysFor,
  machineLearningKeysFor,
  searchQueryKeyFor,
  signalrKeysFor,
} from '../../../scripts/dev-stack/demo-arm.mjs';
import { AZURE_MASK_DEFAULTS, AZURE_SECRETS_DEFAULT_MASK } from '../../../src/mask/azure-defaults.ts';
import { EMPTY_MASK, type MaskSpec } from '../../../src/mask/spec.ts';
import { type CompiledPolicy, compilePolicy } from '../../../src/policy/compile.ts';
import { evaluatePolicy } from '../../../src/policy/evaluate.ts';
import { principalFromTest } from '../../../src/policy/policy-tests.ts';
import { decoder, encoder, maskBytes } from '../mask/helpers.ts';

const HEAD = `version: 1
connections:
  - { name: arm, kind: azure_resource_manager, upstream: "https://management.azure.com", default_mask: azure_secrets }
  - name: api
    upstream: "https://api.example"
    default_mask: { keys: [password, "*Token"], detectors: [jwt], paths: ["$.auth.secret"] }
  - { name: plain, upstream: "https://plain.example" }
rules:
`;

async function compile(source: string) {
  return compilePolicy(source, { file: 'p.yaml' });
}

async function policy(rules: string): Promise<CompiledPolicy> {
  const result = await compile(HEAD + rules);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.policy;
}

async function errors(source: string): Promise<string[]> {
  const result = await compile(source);
  return result.ok ? [] : result.errors;
}

const human = (groups: string[] = ['g1'], groupsResolved = true) =>
  principalFromTest({
    subject: 'u1',
    app: 'cli',
    tenant: 't1',
    groups,
    groups_resolved: groupsResolved,
    roles: [],
    scopes: [],
  });
const RG = '/subscriptions/s1/resourceGroups/rg';
const request = (connection: string, method: string, path: string) => ({ connection, method, path, query: '', now: 0 });
const arm = (method: string, path: string) => request('arm', method, path);

const AZURE: MaskSpec = { ...AZURE_SECRETS_DEFAULT_MASK, style: 'redact' };

// An allow rule for every read: what a second rule adds (or lifts) is what the mask shows.
const READS = `  - id: reads
    match: { operations: ["*/read"] }
    effect: allow
`;

/** Mask a JSON document with a decision's mask; returns the parsed result. */
const maskJson = (value: unknown, spec: MaskSpec): Record<string, unknown> =>
  JSON.parse(decoder.decode(maskBytes(encoder.encode(JSON.stringify(value)), spec).bytes));
const maskWithDefault = (value: unknown) => maskJson(value, AZURE);

describe('default_mask compiles', () => {
  it('resolves the built-in short form and the object form, per connection', async () => {
    const p = await policy('  []');
    expect(p.defaultMasks.get('arm')).toEqual(AZURE);
    expect(p.defaultMasks.get('api')).toEqual({
      keys: ['password', '*Token'],
      paths: ['$.auth.secret'],
      detectors: ['jwt'],
      style: 'redact',
    });
    expect(p.defaultMasks.has('plain')).toBe(false);
    // Shared by every decision: nobody may change it through one.
    expect(Object.isFrozen(p.defaultMasks.get('arm'))).toBe(true);
    expect(Object.isFrozen(p.defaultMasks.get('arm')?.keys)).toBe(true);
  });

  it('refuses an unknown built-in name at compile time, naming the field and the choices', async () => {
    const found = await errors(`version: 1
connections:
  - { name: arm, kind: azure_resource_manager, upstream: "https://management.azure.com", default_mask: azure_secret }
rules: []
`);
    expect(found).toEqual([
      expect.stringMatching(
        /^p\.yaml:3:\d+: connections\.0\.default_mask: a built-in default mask \(azure_secrets\) or \{ keys, paths, detectors \}/,
      ),
    ]);
  });

  it('refuses a detector the masker does not know', async () => {
    const found = await errors(`version: 1
connections:
  - name: api
    upstream: "https://api.example"
    default_mask: { detectors: [jwt, aws_secret_key] }
rules: []
`);
    expect(found).toEqual([
      expect.stringMatching(
        /connections\.0\.default_mask: detectors\.1: Invalid type: .* but received "aws_secret_key"$/,
      ),
    ]);
  });

  it('refuses a default mask that masks nothing, a path that does not parse, a style, and other shapes', async () => {
    const source = (mask: string) => `version: 1
connections:
  - name: api
    upstream: "https://api.example"
    default_mask: ${mask}
rules: []
`;
    expect(await errors(source('{}'))).toEqual([
      expect.stringMatching(/connections\.0\.default_mask: a default mask names at least one key, path or detector/),
    ]);
    expect(await errors(source('{ paths: ["keys[*].value"] }'))).toEqual([
      expect.stringMatching(/connections\.0\.default_mask\.paths\.0: path must start with \$/),
    ]);
    // The style is the rules' to decide; a default mask that named one is refused, not ignored.
    expect(await errors(source('{ keys: [password], style: last4 }'))).toHaveLength(1);
    expect(await errors(source('[password]'))).toHaveLength(1);
    expect(await errors(source('true'))).toHaveLength(1);
  });

  it('accepts only `default_mask: false` on a rule', async () => {
    const found = await errors(`${HEAD}  - id: r
    effect: allow
    default_mask: true
`);
    expect(found).toEqual([expect.stringMatching(/rules\.0\.default_mask: /)]);
  });
});

describe('default_mask merges into every decision of its connection', () => {
  it('is the whole mask when no rule masks — and the same shared object every time', async () => {
    const p = await policy(READS);
    const a = evaluatePolicy(p, arm('GET', RG), human());
    expect(a.effect).toBe('allow');
    expect(a.mask).toEqual(AZURE);
    expect(evaluatePolicy(p, arm('GET', `${RG}/providers/Microsoft.Web/sites/s`), human()).mask).toBe(a.mask);
  });

  it('applies to denied and held decisions too (and the default deny)', async () => {
    const p = await policy(`  - id: no-deletes
    match: { operations: ["*/delete"] }
    effect: deny
  - id: writes-held
    match: { operations: ["*/write"] }
    effect: require_approval
    approval: { groups: [approvers] }
`);
    expect(evaluatePolicy(p, arm('DELETE', RG), human()).mask).toEqual(AZURE);
    expect(evaluatePolicy(p, arm('PUT', RG), human()).mask).toEqual(AZURE);
    const none = evaluatePolicy(p, arm('GET', RG), human());
    expect(none.matchedRuleIds).toEqual([]);
    expect(none.mask).toEqual(AZURE);
  });

  it('joins the rules’ masks as a union: rule entries first, no duplicates', async () => {
    const p = await policy(`  - id: keys
    match: { operations: ["*/listKeys/action"] }
    effect: allow
    mask: { keys: [value, primaryKey], paths: ["$.keys[*].value"], detectors: [github_token] }
`);
    const mask = evaluatePolicy(
      p,
      arm('POST', `${RG}/providers/Microsoft.Storage/storageAccounts/a/listKeys`),
      human(),
    ).mask;
    expect(mask.keys.slice(0, 2)).toEqual(['value', 'primaryKey']);
    expect(mask.keys).toEqual(['value', ...AZURE.keys]);
    expect(mask.paths).toEqual(AZURE.paths);
    expect(mask.detectors).toEqual(['github_token', ...AZURE.detectors]);
  });

  it('merges once per rule combination and connection: later decisions share the frozen result', async () => {
    const p = await policy(`  - id: tags
    effect: allow
    mask: { keys: [tags] }
`);
    const first = evaluatePolicy(p, arm('GET', RG), human()).mask;
    expect(first.keys).toEqual(['tags', ...AZURE.keys]);
    expect(Object.isFrozen(first) && Object.isFrozen(first.keys)).toBe(true);
    expect(evaluatePolicy(p, arm('GET', '/subscriptions/s1'), human()).mask).toBe(first);
    // The same rule on a connection without a default: its own mask only, not the arm merge.
    const plain = evaluatePolicy(p, request('plain', 'GET', '/x'), human()).mask;
    expect(plain).toEqual({ paths: [], keys: ['tags'], detectors: [], style: 'redact' });
    expect(evaluatePolicy(p, request('api', 'GET', '/x'), human()).mask.keys).toEqual(['tags', 'password', '*Token']);
  });

  it('names no style: the rules’ strongest style applies to the default’s entries too, redact when none', async () => {
    const p = await policy(`  - id: last4
    match: { connections: [arm], methods: [GET] }
    effect: allow
    mask: { keys: [value], style: last4 }
  - id: hmac
    match: { connections: [arm], methods: [GET], paths: ["/subscriptions/s1/**"] }
    effect: allow
    mask: { style: hmac }
`);
    expect(evaluatePolicy(p, arm('GET', '/subscriptions/s2'), human()).mask.style).toBe('last4');
    expect(evaluatePolicy(p, arm('GET', '/subscriptions/s1/resourceGroups/rg'), human()).mask.style).toBe('hmac');
  });

  it('stays on its own connection', async () => {
    const p = await policy(`  - id: all
    effect: allow
`);
    expect(evaluatePolicy(p, request('plain', 'GET', '/x'), human()).mask).toEqual(EMPTY_MASK);
    expect(evaluatePolicy(p, request('api', 'GET', '/x'), human()).mask.keys).toEqual(['password', '*Token']);
  });
});

describe('default_mask: false (opt-out)', () => {
  it('lifts the default where an allow rule that opts out matches; its own mask stays', async () => {
    const p = await policy(`${READS}  - id: health
    match: { connections: [arm], methods: [GET], paths: ["/subscriptions/{s}/resourceGroups/{rg}"] }
    effect: allow
    default_mask: false
    mask: { keys: [tags] }
`);
    const lifted = evaluatePolicy(p, arm('GET', RG), human());
    expect(lifted.matchedRuleIds).toEqual(['reads', 'health']);
    expect(lifted.mask).toEqual({ paths: [], keys: ['tags'], detectors: [], style: 'redact' });
    // Elsewhere the default holds.
    expect(evaluatePolicy(p, arm('GET', '/subscriptions/s1'), human()).mask).toEqual(AZURE);
  });

  it('is ignored on a deny rule, whatever else matched', async () => {
    const p = await policy(`${READS}  - id: hostile
    match: { connections: [arm] }
    principals: { groups: [g2] }
    effect: deny
    default_mask: false
`);
    expect(p.rules.find((r) => r.id === 'hostile')?.optsOutOfDefaultMask).toBeUndefined();
    const decision = evaluatePolicy(p, arm('GET', RG), human(['g1', 'g2']));
    expect(decision.matchedRuleIds).toEqual(['reads', 'hostile']);
    expect(decision.mask).toEqual(AZURE);
  });

  it('is ignored on a require_approval rule (approvers approve a request, not the plaintext of its answer)', async () => {
    const p = await policy(`  - id: held
    match: { operations: ["*/listKeys/action"] }
    effect: require_approval
    approval: { groups: [approvers] }
    default_mask: false
`);
    const decision = evaluatePolicy(
      p,
      arm('POST', `${RG}/providers/Microsoft.Storage/storageAccounts/a/listKeys`),
      human(),
    );
    expect(decision.effect).toBe('require_approval');
    expect(decision.mask).toEqual(AZURE);
  });

  it('is dropped when the allow rule’s condition fails at run time (it became a deny)', async () => {
    const p = await policy(`${READS}  - id: flaky
    match: { connections: [arm] }
    when: request.query["x"] == "1"
    effect: allow
    default_mask: false
`);
    const decision = evaluatePolicy(p, arm('GET', RG), human());
    expect(decision.effect).toBe('deny');
    expect(decision.errors).toHaveLength(1);
    expect(decision.mask).toEqual(AZURE);
  });

  it('does nothing when the opting-out rule does not match (condition false, other principal, unresolved groups)', async () => {
    const p = await policy(`${READS}  - id: never
    match: { connections: [arm] }
    when: request.method == "PATCH"
    effect: allow
    default_mask: false
  - id: admins-only
    match: { connections: [arm] }
    principals: { groups: [admins] }
    effect: allow
    default_mask: false
`);
    expect(evaluatePolicy(p, arm('GET', RG), human()).mask).toEqual(AZURE);
    // A token whose groups could not be resolved never satisfies an allow's groups: no opt-out either.
    const overage = evaluatePolicy(p, arm('GET', RG), human([], false));
    expect(overage.matchedRuleIds).toEqual(['reads']);
    expect(overage.mask).toEqual(AZURE);
    // The admins do get the opt-out.
    expect(evaluatePolicy(p, arm('GET', RG), human(['admins'])).mask).toEqual(EMPTY_MASK);
  });
});

describe('azure_secrets masks Azure secret shapes (by name, path and value) and leaves non-secrets alone', () => {
  it('Functions host/listkeys: masterKey, and functionKeys / systemKeys masked whole', () => {
    const keys = functionHostKeysFor('func1');
    const out = maskWithDefault(keys);
    expect(out).toEqual({ masterKey: '***', functionKeys: '***', systemKeys: '***' });
    expect(JSON.stringify(out)).not.toContain(keys.functionKeys.default);
  });

  it('Machine Learning workspaces/listKeys: storage key, notebook keys and registry passwords; not the rest', () => {
    const keys = machineLearningKeysFor('ml1');
    const out = maskWithDefault(keys);
    expect(out).toEqual({
      userStorageKey: '***',
      userStorageResourceId: keys.userStorageResourceId,
      appInsightsInstrumentationKey: keys.appInsightsInstrumentationKey,
      containerRegistryCredentials: { location: 'westeurope', username: 'reg', passwords: '***' },
      notebookAccessKeys: '***',
    });
  });

  it('SignalR listKeys / regenerateKey results', () => {
    const out = maskWithDefault(signalrKeysFor('sig1', 3));
    expect(out).toEqual({
      primaryKey: '***',
      secondaryKey: '***',
      primaryConnectionString: '***',
      secondaryConnectionString: '***',
    });
  });

  it('Search listQueryKeys: each key, not its name or the nextLink', () => {
    const key = searchQueryKeyFor('srch1', 'q1');
    const nextLink = 'https://management.azure.com/x/listQueryKeys?api-version=2023-11-01&$skip=1';
    expect(maskWithDefault({ value: [{ name: 'q1', key }], nextLink })).toEqual({
      value: [{ name: 'q1', key: '***' }],
      nextLink,
    });
  });

  it('Graph addPassword: secretText, not the metadata', () => {
    const credential = {
      customKeyIdentifier: null,
      displayName: 'ci',
      endDateTime: '2027-01-01T00:00:00Z',
      hint: 'abc',
      keyId: '0fd8b2c4-7a5e-4b7e-9d5f-7d3b5c2a1e90',
      secretText: 'abc8Q~Zk3lR9tYqW2sXvB7nM4pL6oK1jH5gF0dS',
      startDateTime: '2026-01-01T00:00:00Z',
    };
    expect(maskWithDefault(credential)).toEqual({ ...credential, secretText: '***' });
  });

  it('names by family, at any depth, case-insensitively', () => {
    const out = maskWithDefault({
      properties: {
        primaryMasterKey: 'a',
        secondaryReadonlyMasterKey: 'b',
        primarySharedKey: 'c',
        sharedKey: 'd',
        adminPassword: 'e',
        PASSWORD: 'f',
        clientSecret: 'g',
        aadClientSecret: 'h',
        accountSasToken: 'i',
        storageAccountKey: 'j',
        apiKey: 'k',
        protectedSettings: { commandToExecute: 'l' },
        kubeconfigs: [{ name: 'clusterUser', value: 'm' }],
        'restAuthCredential.password': 'n',
      },
    });
    expect(Object.values(out.properties as object).every((v) => v === '***')).toBe(true);
  });

  it('leaves non-secrets alone: publicKey, keyName, keyVaultUri, partitionKey, keySource and friends', () => {
    const resource = {
      id: '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa',
      name: 'sa',
      tags: { owner: 'payments', key: 'not-a-secret' },
      properties: {
        keySource: 'Microsoft.Keyvault',
        keyVaultProperties: { keyName: 'cmk', keyVaultUri: 'https://kv.vault.azure.net/', keyVersion: '1' },
        allowSharedKeyAccess: false,
        primaryEndpoints: { blob: 'https://sa.blob.core.windows.net/' },
        instrumentationKey: '7b1b3a5c-0000-4000-8000-000000000001',
        partitionKey: { paths: ['/tenantId'], kind: 'Hash' },
        linuxConfiguration: {
          disablePasswordAuthentication: true,
          ssh: { publicKeys: [{ path: '/home/a/.ssh/authorized_keys', keyData: 'ssh-rsa AAAAB3Nza' }] },
        },
        publicKey: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA',
        passwordCredentials: [{ keyId: 'k1', hint: 'abc', displayName: 'ci' }],
        secretName: 'tls-cert',
        continuationToken: 'eyJ0b2tlbiI6MX0',
        key: { kid: 'https://kv.vault.azure.net/keys/k/1', kty: 'RSA', n: 'AQAB', e: 'AQAB' },
      },
    };
    expect(maskWithDefault(resource)).toEqual(resource);
    // ARM lists keep their `value` array; Kubernetes ConfigMaps keep their data.
    const list = { value: [resource], nextLink: 'https://management.azure.com/next' };
    expect(maskWithDefault(list)).toEqual(list);
    const configMap = { kind: 'ConfigMap', data: { LOG_LEVEL: 'debug', FEATURE_X: 'on' } };
    expect(maskWithDefault(configMap)).toEqual(configMap);
  });

  it('passwords inside Kubernetes data are masked by name, but Secret data as such is the rule’s job', () => {
    expect(maskWithDefault({ data: { DB_PASSWORD: 'hunter2', DB_USER: 'app' } })).toEqual({
      data: { DB_PASSWORD: '***', DB_USER: 'app' },
    });
    const secret = { kind: 'Secret', data: { token: 'c2VjcmV0' } };
    expect(maskWithDefault(secret)).toEqual(secret);
  });

  it('recognises secrets by value under any name (detectors)', () => {
    const storageKey = `${'A'.repeat(86)}==`;
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl';
    const out = maskWithDefault({
      properties: {
        outputs: {
          conn: { type: 'String', value: `DefaultEndpointsProtocol=https;AccountName=sa;AccountKey=${storageKey}` },
          blob: { type: 'String', value: 'https://sa.blob.core.windows.net/c/b?sv=2022-11-02&sig=abcdEFGH1234%3D' },
          tok: { type: 'String', value: jwt },
          pem: { type: 'String', value: '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----' },
          raw: { type: 'String', value: storageKey },
          plain: { type: 'String', value: 'westeurope' },
        },
      },
    });
    const outputs = (out.properties as { outputs: Record<string, { value: string }> }).outputs;
    expect(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]))).toEqual({
      conn: '***',
      blob: '***',
      tok: '***',
      pem: '***',
      raw: '***',
      plain: 'westeurope',
    });
  });

  it('alone fully masks these recorded Azure shapes (the backstop when a rule forgot its mask)', () => {
    const covered = AZURE_MASK_DEFAULTS.filter((entry) => {
      return entry.fixtures.every((file) => {
        const text = readFileSync(join(import.meta.dirname, '../../fixtures/azure', file), 'utf8');
        const framing = file.endsWith('.ndjson') ? 'ndjson' : 'json';
        const out = decoder.decode(maskBytes(encoder.encode(text), AZURE, [], { framing }).bytes);
        return !out.includes('SECRET');
      });
    }).map((entry) => entry.id);
    expect(covered).toEqual([
      'storage-account-keys',
      'storage-sas',
      'storage-local-user-keys',
      'cosmosdb-keys',
      'cosmosdb-connection-strings',
      'messaging-authorization-rule-keys',
      'redis-keys',
      'cognitive-services-keys',
      'search-admin-keys',
      'search-query-keys',
      'container-registry-credentials',
      'app-configuration-keys',
      'batch-keys',
      'web-app-connection-strings',
      'aks-credentials',
      'logic-apps-callback-url',
      'application-insights-api-keys',
      'iot-hub-keys',
      'data-factory-ir-auth-keys',
    ]);
  });
});

describe('the starter policy', () => {
  const starter = async () => {
    const result = await compilePolicy(readFileSync('policies/default.yaml', 'utf8'));
    if (!result.ok) throw new Error(result.errors.join('\n'));
    return result.policy;
  };

  it('turns azure_secrets on for arm, azure, keyvault, graph and k8s', async () => {
    const p = await starter();
    expect([...p.defaultMasks.keys()].sort()).toEqual(['arm', 'azure', 'graph', 'k8s', 'keyvault']);
    for (const mask of p.defaultMasks.values()) expect(mask).toEqual(AZURE);
    expect(p.connections.get('graph')).toMatchObject({
      kind: 'microsoft_graph',
      upstream: 'https://graph.microsoft.com',
      credential: { mode: 'on_behalf_of', scope: 'https://graph.microsoft.com/.default' },
    });
  });

  it('masks every secret of the new list-keys operations through the whole decision (demo upstream shapes)', async () => {
    const p = await starter();
    const writer = human(['aaaaaaaa-0000-4000-8000-000000000002']);
    const host = functionHostKeysFor('func1');
    const ml = machineLearningKeysFor('ml1');
    const signalr = signalrKeysFor('sig1', 0);
    const query = searchQueryKeyFor('srch1', 'q1');
    const cases: [string, unknown, string[]][] = [
      [
        `${RG}/providers/Microsoft.Web/sites/func1/host/default/listkeys`,
        host,
        [host.masterKey, host.functionKeys.default, host.systemKeys.durabletask_extension],
      ],
      [
        `${RG}/providers/Microsoft.Web/sites/func1/functions/http1/listkeys`,
        { default: 'function-key-default', other: 'function-key-other' },
        ['function-key-default', 'function-key-other'],
      ],
      [
        `${RG}/providers/Microsoft.MachineLearningServices/workspaces/ml1/listKeys`,
        ml,
        [
          ml.userStorageKey,
          ml.containerRegistryCredentials.passwords[0]?.value ?? '',
          ml.notebookAccessKeys.primaryAccessKey,
          ml.notebookAccessKeys.secondaryAccessKey,
        ],
      ],
      [
        `${RG}/providers/Microsoft.SignalRService/SignalR/sig1/listKeys`,
        signalr,
        [signalr.primaryKey, signalr.secondaryKey],
      ],
      [
        `${RG}/providers/Microsoft.Search/searchServices/srch1/listQueryKeys`,
        { value: [{ name: 'q1', key: query }] },
        [query],
      ],
    ];
    for (const [path, body, secrets] of cases) {
      const decision = evaluatePolicy(p, arm('POST', path), writer);
      expect(decision.effect, path).toBe('allow');
      const out = JSON.stringify(maskJson(body, decision.mask));
      for (const secret of secrets) {
        expect(secret.length, path).toBeGreaterThan(8);
        expect(out, path).not.toContain(secret);
      }
    }
  });
});
