import { describe, expect, it } from 'vitest';
import { canonicalJson, compilePolicy } from '../../../src/policy/compile.ts';

const HEAD = `version: 1
connections:
  - name: arm
    kind: azure_resource_manager
    upstream: "https://management.azure.com"
  - name: api
    upstream: "https://api.example"
rules:
`;

async function errors(source: string): Promise<string[]> {
  const result = await compilePolicy(source, { file: 'p.yaml' });
  return result.ok ? [] : result.errors;
}

describe('compile errors name file, line and column', () => {
  it('points at the offending field and lists every error', async () => {
    const found = await errors(`${HEAD}  - id: Bad_Id
    effect: allow
  - id: ok
    effect: maybe
`);
    expect(found).toEqual([
      expect.stringMatching(/^p\.yaml:9:9: rules\.0\.id: ids are lowercase/),
      expect.stringMatching(/^p\.yaml:12:13: rules\.1\.effect: /),
    ]);
  });

  it('refuses a `*` inside a Kubernetes name (it would compare literally and never match)', async () => {
    const found = await errors(`${HEAD}  - id: no-scale
    match: { kubernetes: { resources: ["*/scale"], namespaces: ["kube-*"] } }
    effect: deny
`);
    expect(found).toEqual([
      expect.stringMatching(/rules\.0\.match\.kubernetes\.resources\.0: use `\*` alone/),
      expect.stringMatching(/rules\.0\.match\.kubernetes\.namespaces\.0: use `\*` alone/),
    ]);
  });

  it('refuses a mask path that cannot be parsed (it would fail only after the upstream call)', async () => {
    const found = await errors(`${HEAD}  - id: masked
    effect: allow
    mask: { paths: ["keys[*].value"] }
`);
    expect(found).toEqual([expect.stringMatching(/rules\.0\.mask\.paths\.0: path must start with \$/)]);
  });

  it('refuses a passthrough connection that does not say which audiences it accepts', async () => {
    const found = await errors(`version: 1
connections:
  - { name: arm, kind: azure_resource_manager, upstream: "https://management.azure.com", credential: passthrough }
rules: []
`);
    expect(found).toEqual([expect.stringMatching(/connections\.0\.audiences: a passthrough connection must list/)]);
  });

  it('reports YAML syntax errors with a position', async () => {
    expect(await errors('version: [1')).toEqual([expect.stringMatching(/^p\.yaml:\d+:\d+: /)]);
  });

  it('type-checks CEL at compile time', async () => {
    const found = await errors(`${HEAD}  - id: r
    when: '1 + "a"'
    effect: allow
  - id: s
    when: 'request.method +'
    effect: allow
  - id: t
    when: '"not a bool"'
    effect: allow
`);
    expect(found).toHaveLength(3);
    expect(found[0]).toMatch(/^p\.yaml:10:11: rules\.0\.when: CEL: no such overload/);
    expect(found[1]).toMatch(/rules\.1\.when: CEL: /);
    expect(found[2]).toMatch(/rules\.2\.when: CEL: the condition has type string/);
  });

  it.each([
    ['unknown connection', 'match: { connections: [nope] }\n    effect: allow', /unknown connection nope/],
    [
      'ARM attributes on a plain connection',
      'match: { connections: [api], operations: ["*/read"] }\n    effect: allow',
      /need an azure_resource_manager/,
    ],
    ['a malformed operation', 'match: { operations: [read] }\n    effect: allow', /is not an operation/],
    ['a bad path template', 'match: { paths: ["/a/b*c"] }\n    effect: allow', /mixes literal text/],
    ['a repeated capture', 'match: { paths: ["/{x}/{x}"] }\n    effect: allow', /appears twice/],
    [
      'rewriting authorization',
      'effect: allow\n    rewrite: { set_headers: { Authorization: x } }',
      /cannot be rewritten/,
    ],
    ['approval without approvers', 'effect: require_approval\n    approval: { count: 1 }', /at least one approver/],
    ['approval without spec', 'effect: require_approval', /require_approval needs approval/],
    ['an unknown detector', 'effect: allow\n    mask: { detectors: [telepathy] }', /detectors/],
    ['a bad JSON Pointer', 'effect: allow\n    rewrite: { json_patch: [{ op: remove, path: "a/b" }] }', /JSON Pointer/],
  ])('rejects %s', async (_name, body, message) => {
    const found = await errors(`${HEAD}  - id: r\n    ${body}\n`);
    expect(found.join('\n')).toMatch(message);
  });

  it('rejects duplicate ids and names', async () => {
    const found = await errors(`${HEAD}  - { id: r, effect: allow }\n  - { id: r, effect: deny }\n`);
    expect(found).toEqual([expect.stringMatching(/^p\.yaml:10:\d+: rules\.1\.id: duplicate rule id r/)]);
  });
});

describe('the digest', () => {
  it('covers content, not formatting: YAML and JSON of the same policy agree', async () => {
    const yaml = await compilePolicy(`${HEAD}  - { id: r, effect: allow } # comment\n`);
    const json = await compilePolicy(
      JSON.stringify({
        rules: [{ effect: 'allow', id: 'r' }],
        version: 1,
        connections: [
          { name: 'arm', kind: 'azure_resource_manager', upstream: 'https://management.azure.com' },
          { name: 'api', upstream: 'https://api.example' },
        ],
      }),
    );
    const changed = await compilePolicy(`${HEAD}  - { id: r, effect: deny }\n`);
    if (!yaml.ok || !json.ok || !changed.ok) throw new Error('should compile');
    expect(yaml.policy.digest).toBe(json.policy.digest);
    expect(changed.policy.digest).not.toBe(yaml.policy.digest);
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});
