import { describe, expect, it } from 'vitest';
import { deriveArmOperation } from '../../../src/audit/arm-operation.ts';

const S = '/subscriptions/00000000-0000-4000-8000-00000000a2b1';

describe('deriveArmOperation', () => {
  it.each([
    [
      'DELETE',
      `${S}/resourceGroups/rg1`,
      'Microsoft.Resources/subscriptions/resourceGroups/delete',
      `${S}/resourceGroups/rg1`,
    ],
    [
      'PUT',
      `${S}/resourceGroups/rg1`,
      'Microsoft.Resources/subscriptions/resourceGroups/write',
      `${S}/resourceGroups/rg1`,
    ],
    // Listing a collection acts on its parent (the policy stage's definition, shared here).
    ['GET', `${S}/resourceGroups`, 'Microsoft.Resources/subscriptions/resourceGroups/read', S],
    ['GET', S, 'Microsoft.Resources/subscriptions/read', S],
    [
      'POST',
      `${S}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/sa1/listKeys`,
      'Microsoft.Storage/storageAccounts/listKeys/action',
      `${S}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/sa1`,
    ],
    [
      'PUT',
      `${S}/resourceGroups/rg1/providers/Microsoft.Web/sites/app/config/appsettings`,
      'Microsoft.Web/sites/config/write',
      `${S}/resourceGroups/rg1/providers/Microsoft.Web/sites/app/config/appsettings`,
    ],
  ])('%s %s → %s', (method, path, operation, resourceId) => {
    expect(deriveArmOperation(method, path)).toEqual({ operation, resourceId });
  });

  it('returns nothing for paths that are not ARM resources', () => {
    expect(deriveArmOperation('GET', '/subscriptions')).toBeUndefined();
    expect(deriveArmOperation('GET', '/api/v1/namespaces')).toBeUndefined();
  });
});
