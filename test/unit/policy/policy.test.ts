import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/principal.ts';
import { compilePathPattern, compilePolicy } from '../../../src/policy/compile.ts';
import { evaluatePolicy } from '../../../src/policy/evaluate.ts';

const GROUPS = {
  readers: 'aaaaaaaa-0000-4000-8000-000000000001',
  writers: 'aaaaaaaa-0000-4000-8000-000000000002',
};
const SUB = '/subscriptions/00000000-0000-4000-8000-00000000a2b1';

function principal(groups: string[], appOnly = false): Principal {
  return {
    tenantId: '11111111-1111-4111-8111-111111111111',
    subject: appOnly ? null : { objectId: 'bbbbbbbb-0000-4000-8000-00000000a11c' },
    actor: { appId: 'app', credentialType: 'public_client', appOnly },
    groups,
    roles: [],
    scopes: [],
    directoryRoles: [],
    tokenVersion: '2.0',
    tokenFingerprint: 'f',
    expiresAt: 0,
  };
}

async function starter() {
  const result = await compilePolicy(readFileSync('policies/default.yaml', 'utf8'));
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.policy;
}

describe('path patterns', () => {
  it('matches captures, * and ** per segment, case-insensitively', () => {
    const rg = compilePathPattern('/subscriptions/{sub}/resourceGroups/{rg}');
    expect(rg.test('/subscriptions/x/resourcegroups/y')).toBe(true);
    expect(rg.test('/subscriptions/x/resourceGroups/y/providers/z')).toBe(false);
    expect(rg.test('/subscriptions/x/resourceGroups')).toBe(false);
    const deep = compilePathPattern('/subscriptions/**');
    expect(deep.test('/subscriptions')).toBe(true);
    expect(deep.test('/subscriptions/a/b/c')).toBe(true);
    expect(deep.test('/tenants')).toBe(false);
    expect(compilePathPattern('/a.b').test('/aXb')).toBe(false);
  });
});

describe('the starter policy', () => {
  it('allows readers to read and nothing else', async () => {
    const policy = await starter();
    const read = evaluatePolicy(
      policy,
      { connection: 'arm', method: 'GET', path: '/subscriptions' },
      principal([GROUPS.readers]),
    );
    expect(read).toMatchObject({ effect: 'allow', matchedRuleIds: ['readers-may-read'] });
    const write = evaluatePolicy(
      policy,
      { connection: 'arm', method: 'PUT', path: `${SUB}/resourceGroups/x` },
      principal([GROUPS.readers]),
    );
    expect(write.effect).toBe('deny');
    expect(write.matchedRuleIds).toEqual([]);
  });

  it('holds resource group deletes for approval', async () => {
    const decision = evaluatePolicy(
      await starter(),
      { connection: 'arm', method: 'DELETE', path: `${SUB}/resourceGroups/prod` },
      principal([GROUPS.writers]),
    );
    expect(decision.effect).toBe('require_approval');
    expect(decision.approval?.groups).toEqual(['aaaaaaaa-0000-4000-8000-000000000003']);
  });

  it('masks listKeys values', async () => {
    const decision = evaluatePolicy(
      await starter(),
      {
        connection: 'arm',
        method: 'POST',
        path: `${SUB}/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/s/listKeys`,
      },
      principal([GROUPS.writers]),
    );
    expect(decision).toMatchObject({ effect: 'allow', mask: { keys: expect.arrayContaining(['value']) } });
  });

  it('lets deny beat allow: an app with no human may not write even in the writers group', async () => {
    const decision = evaluatePolicy(
      await starter(),
      { connection: 'arm', method: 'DELETE', path: `${SUB}/resourceGroups/prod` },
      principal([GROUPS.writers], true),
    );
    expect(decision.effect).toBe('deny');
    expect(decision.matchedRuleIds).toEqual([
      'resource-group-delete-needs-approval',
      'apps-without-a-human-may-not-write',
    ]);
  });
});

describe('compile errors', () => {
  it.each([
    ['not YAML', 'version: [1'],
    ['wrong version', 'version: 2\nconnections: [{name: a, upstream: "https://x"}]\nrules: []'],
    ['unknown field', 'version: 1\nconnections: [{name: a, upstream: "https://x", bogus: 1}]\nrules: []'],
    [
      'unknown connection in rule',
      'version: 1\nconnections: [{name: a, upstream: "https://x"}]\nrules: [{id: r, match: {connections: [b]}, effect: allow}]',
    ],
    [
      'duplicate rule id',
      'version: 1\nconnections: [{name: a, upstream: "https://x"}]\nrules: [{id: r, match: {}, effect: allow}, {id: r, match: {}, effect: deny}]',
    ],
    [
      'approval without spec',
      'version: 1\nconnections: [{name: a, upstream: "https://x"}]\nrules: [{id: r, match: {}, effect: require_approval}]',
    ],
  ])('rejects %s and names the problem', async (_name, source) => {
    const result = await compilePolicy(source);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
  });
});
