/** Policy fails closed when a principal's groups are unknown (overage not resolved). */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/principal.ts';
import { principalMatches } from '../../../src/policy/evaluate.ts';

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
