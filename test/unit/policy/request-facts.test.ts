import { describe, expect, it } from 'vitest';
import { armPathProblem, deriveArmFacts } from '../../../src/policy/arm-operation.ts';
import { deriveKubernetesFacts } from '../../../src/policy/kubernetes-request.ts';

const RG = '/subscriptions/s1/resourceGroups/rg';

describe('ARM operations, named the way Azure RBAC names them', () => {
  it.each([
    ['GET', '/subscriptions', 'Microsoft.Resources/subscriptions/read'],
    ['GET', '/subscriptions/s1', 'Microsoft.Resources/subscriptions/read'],
    ['GET', '/subscriptions/s1/resourceGroups', 'Microsoft.Resources/subscriptions/resourceGroups/read'],
    ['PUT', RG, 'Microsoft.Resources/subscriptions/resourceGroups/write'],
    ['PATCH', '/subscriptions/s1/resourcegroups/rg', 'Microsoft.Resources/subscriptions/resourceGroups/write'],
    ['DELETE', RG, 'Microsoft.Resources/subscriptions/resourceGroups/delete'],
    ['GET', `${RG}/resources`, 'Microsoft.Resources/subscriptions/resourceGroups/resources/read'],
    ['POST', `${RG}/exportTemplate`, 'Microsoft.Resources/subscriptions/resourceGroups/exportTemplate/action'],
    ['GET', `${RG}/providers/Microsoft.Storage/storageAccounts/a`, 'Microsoft.Storage/storageAccounts/read'],
    ['PUT', `${RG}/providers/Microsoft.Storage/storageAccounts/a`, 'Microsoft.Storage/storageAccounts/write'],
    ['DELETE', `${RG}/providers/Microsoft.Compute/virtualMachines/vm`, 'Microsoft.Compute/virtualMachines/delete'],
    [
      'POST',
      `${RG}/providers/Microsoft.Storage/storageAccounts/a/listKeys`,
      'Microsoft.Storage/storageAccounts/listKeys/action',
    ],
    ['GET', '/subscriptions/s1/providers/Microsoft.Storage/storageAccounts', 'Microsoft.Storage/storageAccounts/read'],
    [
      'PUT',
      `${RG}/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c`,
      'Microsoft.Storage/storageAccounts/blobServices/containers/write',
    ],
    [
      'PUT',
      `${RG}/providers/Microsoft.Storage/storageAccounts/a/providers/Microsoft.Authorization/roleAssignments/x`,
      'Microsoft.Authorization/roleAssignments/write',
    ],
    ['POST', '/subscriptions/s1/providers/Microsoft.Storage/register', 'Microsoft.Storage/register/action'],
    // A resource *named* providers is a name, not the keyword: its listKeys stays listKeys.
    [
      'POST',
      `${RG}/providers/Microsoft.Storage/storageAccounts/providers/listKeys`,
      'Microsoft.Storage/storageAccounts/listKeys/action',
    ],
    [
      'DELETE',
      `${RG}/providers/Microsoft.Storage/storageAccounts/providers/blobServices/default`,
      'Microsoft.Storage/storageAccounts/blobServices/delete',
    ],
  ])('%s %s → %s', (method, path, operation) => {
    expect(deriveArmFacts(method, path, '').operation).toBe(operation);
  });

  it('derives subscription, resource group, provider, type, name, id and api-version', () => {
    expect(
      deriveArmFacts('POST', `${RG}/providers/Microsoft.Storage/storageAccounts/acct/listKeys`, '2023-05-01'),
    ).toEqual({
      operation: 'Microsoft.Storage/storageAccounts/listKeys/action',
      subscription: 's1',
      resourceGroup: 'rg',
      provider: 'Microsoft.Storage',
      resourceType: 'Microsoft.Storage/storageAccounts',
      resourceName: 'acct',
      resourceId: `${RG}/providers/Microsoft.Storage/storageAccounts/acct`,
      apiVersion: '2023-05-01',
    });
  });
});

describe('Kubernetes request attributes, like Kubernetes RBAC', () => {
  const q = (s = '') => new URLSearchParams(s);
  it.each([
    [
      'GET',
      '/api/v1/namespaces/dev/pods',
      '',
      { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'dev', name: '' },
    ],
    ['GET', '/api/v1/namespaces/dev/pods', 'watch=true', { verb: 'watch', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/dev/pods/p1', '', { verb: 'get', name: 'p1', namespace: 'dev' }],
    ['POST', '/api/v1/namespaces/dev/pods/p1/exec', '', { verb: 'create', resource: 'pods/exec', name: 'p1' }],
    // A WebSocket exec/attach/port-forward opens with GET but is authorized as create.
    ['GET', '/api/v1/namespaces/dev/pods/p1/exec', 'command=sh', { verb: 'create', resource: 'pods/exec' }],
    ['GET', '/api/v1/namespaces/dev/pods/p1/attach', '', { verb: 'create', resource: 'pods/attach' }],
    ['GET', '/api/v1/namespaces/dev/pods/p1/portforward', '', { verb: 'create', resource: 'pods/portforward' }],
    ['GET', '/api/v1/namespaces/dev/pods/p1/log', '', { verb: 'get', resource: 'pods/log' }],
    // The legacy special-verb prefixes name the verb first (still served by the API server).
    ['GET', '/api/v1/watch/namespaces/prod/secrets', '', { verb: 'watch', resource: 'secrets', namespace: 'prod' }],
    ['GET', '/api/v1/proxy/nodes/n1', '', { verb: 'proxy', resource: 'nodes', name: 'n1' }],
    ['DELETE', '/api/v1/namespaces/dev/secrets', '', { verb: 'deletecollection', resource: 'secrets' }],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/prod/deployments/web',
      '',
      { verb: 'patch', apiGroup: 'apps', resource: 'deployments' },
    ],
    ['GET', '/api/v1/namespaces/dev', '', { verb: 'get', resource: 'namespaces', name: 'dev', namespace: 'dev' }],
    ['PUT', '/api/v1/namespaces/dev/status', '', { verb: 'update', resource: 'namespaces/status', name: 'dev' }],
    [
      'GET',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      '',
      { verb: 'list', apiGroup: 'rbac.authorization.k8s.io', namespace: '' },
    ],
    ['GET', '/healthz', '', { verb: 'get', isResourceRequest: false }],
  ])('%s %s?%s', (method, path, query, expected) => {
    expect(deriveKubernetesFacts(method, path, q(query))).toMatchObject(expected);
  });
});

describe('ARM operations: the method decides the verb before the path does (hostile shapes)', () => {
  it.each([
    // A single segment is never a read unless it is a GET.
    ['POST', '/batch', 'Microsoft.Resources/batch/action'],
    ['GET', '/batch', 'Microsoft.Resources/batch/read'],
    // A collection deleted or written as a whole is a delete/write, not a read.
    ['DELETE', '/subscriptions/s1/resourceGroups', 'Microsoft.Resources/subscriptions/resourceGroups/delete'],
    ['PUT', '/subscriptions/s1/resourceGroups', 'Microsoft.Resources/subscriptions/resourceGroups/write'],
    [
      'DELETE',
      '/subscriptions/s1/providers/Microsoft.Storage/storageAccounts',
      'Microsoft.Storage/storageAccounts/delete',
    ],
    [
      'PATCH',
      `${RG}/providers/Microsoft.Storage/storageAccounts/a/blobServices`,
      'Microsoft.Storage/storageAccounts/blobServices/write',
    ],
    // A method ARM does not define never becomes a read (the pipeline refuses it with 405 first).
    ['MERGE', RG, 'Microsoft.Resources/subscriptions/resourceGroups/action'],
    ['PROPFIND', '/subscriptions/s1/resourceGroups', 'Microsoft.Resources/subscriptions/resourceGroups/action'],
    // A GET on a secret-bearing action is that action (masks and denies keyed on it apply).
    [
      'GET',
      `${RG}/providers/Microsoft.Storage/storageAccounts/a/listKeys`,
      'Microsoft.Storage/storageAccounts/listKeys/action',
    ],
    [
      'GET',
      `${RG}/providers/Microsoft.Search/searchServices/s/listQueryKeys`,
      'Microsoft.Search/searchServices/listQueryKeys/action',
    ],
    [
      'HEAD',
      `${RG}/providers/Microsoft.SignalRService/SignalR/s/regenerateKey`,
      'Microsoft.SignalRService/SignalR/regenerateKey/action',
    ],
    // …but a GET of an ordinary child collection stays a read.
    [
      'GET',
      `${RG}/providers/Microsoft.Storage/storageAccounts/a/blobServices`,
      'Microsoft.Storage/storageAccounts/blobServices/read',
    ],
    // The provider itself: a read of its registration, or a change to it.
    ['GET', '/subscriptions/s1/providers/Microsoft.Storage', 'Microsoft.Resources/subscriptions/providers/read'],
    ['DELETE', '/subscriptions/s1/providers/Microsoft.Storage', 'Microsoft.Storage/register/action'],
  ])('%s %s → %s', (method, path, operation) => {
    expect(deriveArmFacts(method, path, '').operation).toBe(operation);
  });

  it('no method other than GET and HEAD ever derives a read, whatever the path', () => {
    const paths = [
      '/batch',
      '/subscriptions',
      '/subscriptions/s1/resourceGroups',
      RG,
      `${RG}/providers/Microsoft.Storage/storageAccounts`,
      `${RG}/providers/Microsoft.Storage/storageAccounts/a`,
      `${RG}/providers/Microsoft.Storage/storageAccounts/a/listKeys`,
      '/subscriptions/s1/providers/Microsoft.Storage',
      '/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Resources/deployments/d',
      '/',
    ];
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'MERGE', 'OPTIONS', 'TRACE', 'get']) {
      for (const path of paths)
        expect(deriveArmFacts(method, path, '').operation, `${method} ${path}`).not.toMatch(/\/read$/);
    }
  });
});

describe('armPathProblem: letters .NET folds onto ARM keywords are refused', () => {
  it.each([
    ['/subscriptions/s1/resourceGroups/rg/provıders/Microsoft.Authorization/roleAssignments/x', 'dotless i'],
    [
      '/subscriptions/s1/resourceGroups/rg/providers/Microſoft.Authorization/roleAssignments/x',
      'long s in a namespace',
    ],
    ['/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/listKeys', 'control: none'],
    ['/ｓubscriptions/s1/resourceGroups/rg', 'fullwidth s'],
    ['/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccount%C4%B1/a', 'encoded dotless i'],
    ['/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/\u212Aeys/a', 'Kelvin sign'],
  ])('%s (%s)', (path, label) => {
    const problem = armPathProblem(path);
    if (label.startsWith('control')) expect(problem).toBeUndefined();
    else expect(problem).toMatch(/non-ASCII/);
  });

  it('resource names may be Unicode (resource groups allow it)', () => {
    expect(
      armPathProblem('/subscriptions/s1/resourceGroups/rg-ünïcode/providers/Microsoft.Web/sites/café'),
    ).toBeUndefined();
  });
});
