// The starter policy ships the Azure mask defaults: for every secret-bearing response shape in
// src/mask/azure-defaults.ts, a writer (or reader, for reads) calling that operation through the
// starter policy gets a mask obligation that leaves no secret of the recorded fixture visible.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/principal.ts';
import { AZURE_MASK_DEFAULTS } from '../../../src/mask/azure-defaults.ts';
import { compilePolicy } from '../../../src/policy/compile.ts';
import { evaluatePolicy } from '../../../src/policy/evaluate.ts';
import { decoder, encoder, maskBytes } from '../mask/helpers.ts';

const GROUPS = ['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002'];
const person: Principal = {
  tenantId: '11111111-1111-4111-8111-111111111111',
  subject: { objectId: 'bbbbbbbb-0000-4000-8000-00000000a11c' },
  actor: { appId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', credentialType: 'public_client', appOnly: false },
  groups: GROUPS,
  roles: [],
  scopes: ['user_impersonation'],
  directoryRoles: [],
  tokenVersion: '2.0',
  tokenFingerprint: 'f',
  expiresAt: 0,
};

/** A concrete request path for a default's pattern (`*` → a name, `**` → one segment). */
const concrete = (pattern: string) =>
  pattern.replaceAll('/**', '/ns1').replace(/\/\*(?=\/|$)/g, (_m, offset: number) => `/x${offset}`);

const connectionFor = (path: string) =>
  path.startsWith('/subscriptions/') ? 'arm' : path.startsWith('/api/') ? 'k8s' : 'keyvault';

describe('starter policy masks every Azure secret-bearing response', async () => {
  const compiled = await compilePolicy(readFileSync('policies/default.yaml', 'utf8'));
  if (!compiled.ok) throw new Error(compiled.errors.join('\n'));
  for (const entry of AZURE_MASK_DEFAULTS) {
    const method = entry.methods[0] ?? 'POST';
    const path = concrete(entry.paths[0] ?? '/');
    for (const file of entry.fixtures) {
      it(`${entry.id}: ${method} ${path} masks ${file}`, () => {
        const decision = evaluatePolicy(
          compiled.policy,
          { connection: connectionFor(path), method, path, query: '?api-version=2024-01-01', now: 0 },
          person,
        );
        const text = readFileSync(join(import.meta.dirname, '../../fixtures/azure', file), 'utf8');
        const framing = file.endsWith('.ndjson') ? 'ndjson' : 'json';
        const out = decoder.decode(maskBytes(encoder.encode(text), decision.mask, [], { framing }).bytes);
        expect(out, `decision ${decision.effect} by ${decision.matchedRuleIds.join(',')}`).not.toContain('SECRET');
      });
    }
  }
});
