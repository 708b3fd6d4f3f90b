/**
 * Resource Manager request → the operation as Azure RBAC names it, plus the resource it acts on.
 *
 * Contract: pure and total — every path yields facts (unknown shapes fall back to the closest
 * RBAC-style name). Rules: the namespace is the last `providers/{Namespace}` pair in the path (so
 * extension resources such as role assignments under a storage account are
 * `Microsoft.Authorization/roleAssignments/…`); type/name segments alternate after it; a trailing
 * odd segment is a collection (GET → `…/read`) or an action (POST → `…/{action}/action`); GET/HEAD
 * → `read`, PUT/PATCH → `write`, DELETE → `delete`, POST on a resource → `action`. Case is kept
 * from the request; matching is case-insensitive because ARM is.
 */

export interface ArmFacts {
  operation: string;
  subscription: string;
  resourceGroup: string;
  /** Resource provider namespace (`Microsoft.Storage`). */
  provider: string;
  /** Full resource type (`Microsoft.Storage/storageAccounts`, `…/blobServices/containers`). */
  resourceType: string;
  /** Name of the innermost resource (`''` for collections). */
  resourceName: string;
  /** ARM resource id of the resource acted on (no trailing action or collection). */
  resourceId: string;
  apiVersion: string;
}

const verbFor = (method: string): string => {
  switch (method) {
    case 'PUT':
    case 'PATCH':
      return 'write';
    case 'DELETE':
      return 'delete';
    case 'POST':
      return 'action';
    default:
      return 'read';
  }
};

function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function deriveArmFacts(method: string, path: string, apiVersion: string): ArmFacts {
  const segments: string[] = [];
  for (const part of path.split('/')) if (part !== '') segments.push(decode(part));
  let subscription = '';
  let resourceGroup = '';
  if (segments[0]?.toLowerCase() === 'subscriptions' && segments[1]) subscription = segments[1];
  if (subscription && segments[2]?.toLowerCase() === 'resourcegroups' && segments[3]) resourceGroup = segments[3];
  // ARM paths are type/name pairs from the root (`providers/{Namespace}` is a pair too), so only a
  // `providers` at an even index is the keyword; at an odd index it is a resource *named* providers.
  let providersAt = -1;
  for (let i = (segments.length - 2) & ~1; i >= 0; i -= 2) {
    if ((segments[i] as string).length === 9 && (segments[i] as string).toLowerCase() === 'providers') {
      providersAt = i;
      break;
    }
  }
  const verb = verbFor(method);

  if (providersAt === -1 || !segments[providersAt + 1]) {
    // Subscription / resource group scope without a provider: Microsoft.Resources.
    const types: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < segments.length; i += 2) {
      types.push(segments[i] === undefined ? '' : canonicalResources(segments[i] as string));
      names.push(segments[i + 1] ?? '');
    }
    const last = segments.length % 2 === 1;
    const typePath = types.filter(Boolean).join('/');
    let operation: string;
    let resourceIdSegments = segments;
    if (last && method === 'POST' && segments.length > 1) {
      const action = types.pop() ?? '';
      operation = `Microsoft.Resources/${types.join('/')}/${action}/action`;
      resourceIdSegments = segments.slice(0, -1);
    } else {
      operation = `Microsoft.Resources/${typePath || 'subscriptions'}/${last ? 'read' : verb}`;
      if (last) resourceIdSegments = segments.slice(0, -1);
    }
    return {
      operation,
      subscription,
      resourceGroup,
      provider: 'Microsoft.Resources',
      resourceType: `Microsoft.Resources/${typePath || 'subscriptions'}`,
      resourceName: last ? '' : (names.at(-1) ?? ''),
      resourceId: resourceIdSegments.length ? `/${resourceIdSegments.join('/')}` : '/',
      apiVersion,
    };
  }

  const provider = segments[providersAt + 1] as string;
  const rest = segments.slice(providersAt + 2);
  const types: string[] = [];
  let resourceName = '';
  for (let i = 0; i < rest.length; i += 2) {
    types.push(rest[i] as string);
    resourceName = rest[i + 1] ?? '';
  }
  const odd = rest.length % 2 === 1;
  let operation: string;
  let idSegments = segments;
  let typeList = types;
  if (odd && method === 'POST' && types.length > 1) {
    // …/{type}/{name}/{action}: an action on the resource.
    const action = types.at(-1) as string;
    typeList = types.slice(0, -1);
    operation = `${provider}/${typeList.join('/')}/${action}/action`;
    idSegments = segments.slice(0, -1);
    resourceName = rest[rest.length - 2] ?? '';
  } else if (odd) {
    // A collection: list (read) or create-by-POST.
    operation = `${provider}/${types.join('/')}/${method === 'POST' ? 'action' : verb}`;
    idSegments = segments.slice(0, -1);
    resourceName = '';
  } else if (types.length === 0) {
    operation = `${provider}/register/action`;
  } else {
    operation = `${provider}/${types.join('/')}/${verb}`;
  }
  return {
    operation,
    subscription,
    resourceGroup,
    provider,
    resourceType: typeList.length ? `${provider}/${typeList.join('/')}` : provider,
    resourceName,
    resourceId: `/${idSegments.join('/')}`,
    apiVersion,
  };
}

const CANONICAL: Record<string, string> = {
  subscriptions: 'subscriptions',
  resourcegroups: 'resourceGroups',
  resources: 'resources',
  deployments: 'deployments',
  tags: 'tags',
  locations: 'locations',
};
const canonicalResources = (segment: string) => CANONICAL[segment.toLowerCase()] ?? segment;
