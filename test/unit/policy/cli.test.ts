// The policy CLI (scripts/policy.mjs) on Node 24, as CI runs it: exit codes and error locations.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const node = join('node_modules', '.bin', 'node');
const run = (...args: string[]) => spawnSync(node, ['scripts/policy.mjs', ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'edgeward-policy-cli-'));

describe('npm run policy', () => {
  it('compile lists every error with file, line and column, and fails', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'version: 1\nconnections:\n  - { name: arm, upstream: "not a url" }\nrules:\n  - id: r\n    when: "1 +"\n    effect: perhaps\n',
    );
    const result = run('compile', file, '--out', join(dir, 'out.json'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bad\.yaml:3:\d+: connections\.0\.upstream: /);
    expect(result.stderr).toMatch(/bad\.yaml:7:13: rules\.0\.effect: /);
    expect(result.stderr).toMatch(/bad\.yaml:6:11: rules\.0\.when: CEL: /);
  });

  it('compile writes a bundle whose digest the output names', () => {
    const out = join(dir, 'bundle.json');
    const result = run('compile', 'policies/default.yaml', '--out', out);
    expect(result.status, result.stderr).toBe(0);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as { format: string; digest: string };
    expect(bundle.format).toBe('edgeward-policy-bundle/1');
    expect(result.stdout).toContain(`digest sha256:${bundle.digest}`);
  });

  it('test fails when a case fails', () => {
    const tests = join(dir, 'x.test.yaml');
    writeFileSync(
      tests,
      `policy: ${join(process.cwd(), 'policies/default.yaml')}\ncases:\n  - name: wrong on purpose\n    request: { connection: arm, method: GET, path: /subscriptions }\n    principal: {}\n    expect: { effect: allow }\n`,
    );
    const result = run('test', tests);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('effect: expected "allow", got "deny"');
  });

  it('explain shows the decision and every matched rule', () => {
    const result = run(
      'explain',
      '--method',
      'DELETE',
      '--path',
      '/subscriptions/s/resourceGroups/rg',
      '--groups',
      'aaaaaaaa-0000-4000-8000-000000000002',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      effect: 'require_approval',
      operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete',
      matches: [{ ruleId: 'resource-group-delete-needs-approval' }],
    });
  });
});
