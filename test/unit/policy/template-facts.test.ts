import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../../src/policy/compile.ts';
import { evaluatePolicy } from '../../../src/policy/evaluate.ts';
import { principalFromTest } from '../../../src/policy/policy-tests.ts';
import { isTemplateDeployment, TEMPLATE_RESOURCES_MAX, templateResources } from '../../../src/policy/template-facts.ts';

describe('template deployment facts', () => {
  it('names the deployment operations at every scope', () => {
    for (const op of [
      'Microsoft.Resources/deployments/write',
      'microsoft.resources/deployments/validate/action',
      'Microsoft.Resources/deployments/whatIf/action',
    ]) {
      expect(isTemplateDeployment(op), op).toBe(true);
    }
    expect(isTemplateDeployment('Microsoft.Resources/deployments/read')).toBe(false);
  });

  it('lists resources as Azure binds the members (any case), nested deployments and child resources included', () => {
    const facts = templateResources({
      PROPERTIES: {
        Template: {
          resources: [
            {
              type: 'Microsoft.Storage/storageAccounts',
              name: 'sa1',
              Resources: [{ TYPE: 'blobServices', NAME: 'default' }],
            },
            {
              type: 'Microsoft.Resources/deployments',
              name: 'inner',
              properties: {
                template: { resources: [{ type: 'Microsoft.Authorization/roleAssignments', name: "[guid('x')]" }] },
              },
            },
          ],
        },
      },
    });
    expect(facts).toEqual({
      resources: [
        { type: 'Microsoft.Storage/storageAccounts', name: 'sa1' },
        { type: 'blobServices', name: 'default' },
        { type: 'Microsoft.Resources/deployments', name: 'inner' },
        { type: 'Microsoft.Authorization/roleAssignments', name: "[guid('x')]" },
      ],
      truncated: false,
    });
  });

  it('reads languageVersion 2.0 symbolic resources, names a linked template, and is bounded', () => {
    expect(
      templateResources({
        properties: {
          template: { languageVersion: '2.0', resources: { vault: { type: 'Microsoft.KeyVault/vaults', name: 'kv' } } },
          templateLink: { uri: 'https://example.com/t.json' },
        },
      }),
    ).toEqual({
      resources: [{ type: 'Microsoft.KeyVault/vaults', name: 'kv' }],
      truncated: false,
      linked: 'https://example.com/t.json',
    });
    const many = Array.from({ length: TEMPLATE_RESOURCES_MAX + 5 }, (_, i) => ({ type: 'T/x', name: `n${i}` }));
    const facts = templateResources({ properties: { template: { resources: many } } });
    expect(facts.resources).toHaveLength(TEMPLATE_RESOURCES_MAX);
    expect(facts.truncated).toBe(true);
  });

  it('exposes the resource types to CEL as request.template_resource_types', async () => {
    const compiled = await compilePolicy(`version: 1
connections:
  - { name: arm, kind: azure_resource_manager, upstream: "https://management.azure.com" }
rules:
  - id: deployments
    match: { operations: ["Microsoft.Resources/deployments/write"] }
    effect: allow
  - id: no-role-assignments-by-template
    match: { operations: ["Microsoft.Resources/deployments/write"] }
    when: "'Microsoft.Authorization/roleAssignments' in request.template_resource_types"
    effect: deny
`);
    if (!compiled.ok) throw new Error(compiled.errors.join('\n'));
    const principal = principalFromTest({
      subject: 'u',
      app: 'a',
      tenant: 't',
      groups: [],
      groups_resolved: true,
      roles: [],
      scopes: [],
    });
    const request = (types: string[]) => ({
      connection: 'arm',
      method: 'PUT',
      path: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Resources/deployments/d',
      now: 0,
      templateResourceTypes: types,
    });
    expect(evaluatePolicy(compiled.policy, request(['Microsoft.Storage/storageAccounts']), principal).effect).toBe(
      'allow',
    );
    expect(
      evaluatePolicy(compiled.policy, request(['Microsoft.Authorization/roleAssignments']), principal).effect,
    ).toBe('deny');
  });
});
