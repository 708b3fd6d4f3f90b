/**
 * Policy fails closed when a principal's groups are unknown (overage not resolved): a group
 * condition never grants an allow, and never lets a deny be skipped.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/principal.ts';
import { compilePolicy } from '../../../src/policy/compile.ts';
import { evaluatePolicy, principalMatches } from '../../../src/policy/evaluate.ts';

const principal = (groupsResolved: boolean): Principal => ({
  tenantId: '11111111-1111-4111-8111-111111111111',
  subject: { objectId: 'bbbbbbbb-0000-4000-8000-00000000a11c' },
  actor: { appId: 'cli', credentialType: 'public_client', appOnly: false },
  groups: groupsResolved ? ['g1'] : [],
  groupsResolved,
  groupsOverage: true,
  actorMode: 'delegated',
  roles: ['r1'],
  scopes: [],
  directoryRoles: [],
  tokenVersion: '2.0',
  tokenFingerprint: '0123456789abcdef',
  expiresAt: 0,
});

describe('principalMatches with unknown groups', () => {
  it('never matches a groups condition when groups are unknown', () => {
    expect(principalMatches({ groups: ['g1'] }, principal(true))).toBe(true);
    expect(principalMatches({ groups: ['g1'] }, principal(false))).toBe(false);
    expect(principalMatches({ groups: ['g1'], roles: ['r1'] }, principal(false))).toBe(false);
  });

  it('still matches conditions that do not depend on groups', () => {
    expect(principalMatches({ roles: ['r1'] }, principal(false))).toBe(true);
    expect(principalMatches(undefined, principal(false))).toBe(true);
  });
});

describe('evaluatePolicy with unknown groups', () => {
  const source = `
version: 1
connections:
  - { name: arm, upstream: https://management.azure.com }
rules:
  - id: role-may-read
    match: { connections: [arm], methods: [GET] }
    principals: { roles: [r1] }
    effect: allow
  - id: group-may-write
    match: { connections: [arm], methods: [PUT] }
    principals: { groups: [g1] }
    effect: allow
  - id: contractors-may-not-read-secrets
    match: { connections: [arm], methods: [GET], paths: ["/secrets"] }
    principals: { groups: [contractors] }
    effect: deny
`;
  const request = (method: string, path: string) => ({ connection: 'arm', method, path });

  it('an allow that needs a group is not granted; a deny that names a group still applies', async () => {
    const compiled = await compilePolicy(source);
    if (!compiled.ok) throw new Error(compiled.errors.join('; '));
    const unknown = principal(false);
    expect(evaluatePolicy(compiled.policy, request('PUT', '/x'), unknown).effect).toBe('deny');
    expect(evaluatePolicy(compiled.policy, request('GET', '/x'), unknown).effect).toBe('allow');
    const secrets = evaluatePolicy(compiled.policy, request('GET', '/secrets'), unknown);
    expect(secrets).toMatchObject({ effect: 'deny', decidingRuleId: 'contractors-may-not-read-secrets' });
    // With groups known (and not a contractor), the same read is allowed.
    expect(evaluatePolicy(compiled.policy, request('GET', '/secrets'), principal(true)).effect).toBe('allow');
  });
});
