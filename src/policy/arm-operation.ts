/**
 * Resource Manager request → the operation as Azure RBAC names it, plus the resource it acts on.
 *
 * Contract: pure and total — every path yields facts. The HTTP method decides the verb before the
 * path does: GET/HEAD → `read`, PUT/PATCH → `write`, DELETE → `delete`, POST → `action`; any other
 * method is never a read (it derives as an action here, and the pipeline refuses it with 405 before
 * policy runs — `isArmMethod`). A shape the path cannot name is an *action* on the nearest resource
 * type, never a read (`POST /batch` → `Microsoft.Resources/batch/action`). The namespace is the
 * last `providers/{Namespace}` pair in the path (so extension resources such as role assignments
 * under a storage account are `Microsoft.Authorization/roleAssignments/…`); type/name segments
 * alternate after it; a trailing odd segment is a collection (`…/{type}/{verb}`) or, for POST, an
 * action on the resource (`…/{action}/action`). A GET on a secret-bearing action path (`…/listKeys`,
 * `…/regenerateKey`, Cosmos DB `…/readonlykeys`: some providers accept GET, and pagers follow `nextLink` with GET) is that
 * action, so every rule keyed on it — deny, allow, mask — applies. Keywords compare ASCII
 * case-insensitively, as ARM does; `armPathProblem` refuses the non-ASCII letters .NET's case
 * folding would map onto a keyword (`ı`, `ſ`, `K`, fullwidth forms). Case is otherwise kept from
 * the request; matching is case-insensitive because ARM is.
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

export type ArmVerb = 'read' | 'write' | 'delete' | 'action';

const VERBS: Readonly<Record<string, ArmVerb>> = {
  GET: 'read',
  HEAD: 'read',
  PUT: 'write',
  PATCH: 'write',
  DELETE: 'delete',
  POST: 'action',
};

/** Whether Resource Manager defines this (upper-case) method; others are refused with 405. */
export const isArmMethod = (method: string): boolean => Object.hasOwn(VERBS, method);

/** Only GET/HEAD read; an undefined method is an action (the pipeline refuses it first anyway). */
const verbFor = (method: string): ArmVerb => (Object.hasOwn(VERBS, method) ? (VERBS[method] as ArmVerb) : 'action');

/** Action names that return or rotate secrets; a GET on them is the action, not a collection read. */
const SECRET_ACTION = /^(?:list|regenerate)|^readonlykeys$/i;

/**
 * Why this path cannot be judged as ARM will see it, or undefined. A type position (even index
 * from the root: `subscriptions`, `resourceGroups`, `providers`, a namespace, a resource type)
 * holding a non-ASCII character could fold onto a keyword in .NET (`provıders`, `Microſoft.…`,
 * fullwidth letters) while comparing unequal here: refused, never guessed.
 */
export function armPathProblem(path: string): string | undefined {
  const segments = path.split('/').filter((part) => part !== '');
  for (let i = 0; i < segments.length; i += 2) {
    const segment = decode(segments[i] as string);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
    if (/[^\x00-\x7f]/.test(segment)) {
      return `path segment ${i + 1} is a keyword or resource type position and holds a non-ASCII character`;
    }
    if (segment.toLowerCase() === 'providers' && segments[i + 1] !== undefined) {
      const namespace = decode(segments[i + 1] as string);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
      if (/[^\x00-\x7f]/.test(namespace)) return `provider namespace at segment ${i + 2} holds a non-ASCII character`;
    }
  }
  return undefined;
}

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
    if (
      last &&
      segments.length > 1 &&
      (verb === 'action' || (verb === 'read' && SECRET_ACTION.test(types.at(-1) ?? '')))
    ) {
      // …/{name}/{action}: an action on the resource (a GET on a secret-bearing action is the action).
      const action = types.pop() ?? '';
      operation = `Microsoft.Resources/${types.join('/')}/${action}/action`;
      resourceIdSegments = segments.slice(0, -1);
    } else {
      // A resource, a collection (listed, created or deleted as a whole: the method's verb), or a
      // single segment such as `/batch` (POST → an action on it, never a read).
      operation = `Microsoft.Resources/${typePath || 'subscriptions'}/${verb}`;
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
  if (odd && types.length > 1 && (verb === 'action' || (verb === 'read' && SECRET_ACTION.test(types.at(-1) ?? '')))) {
    // …/{type}/{name}/{action}: an action on the resource (a GET on a secret-bearing action is the action).
    const action = types.at(-1) as string;
    typeList = types.slice(0, -1);
    operation = `${provider}/${typeList.join('/')}/${action}/action`;
    idSegments = segments.slice(0, -1);
    resourceName = rest[rest.length - 2] ?? '';
  } else if (odd) {
    // A collection (listed, created or deleted as a whole) or a provider-level action: the method's verb.
    operation = `${provider}/${types.join('/')}/${verb}`;
    idSegments = segments.slice(0, -1);
    resourceName = '';
  } else if (types.length === 0) {
    // `…/providers/{Namespace}` itself: reading the provider's registration, or changing it.
    operation = verb === 'read' ? 'Microsoft.Resources/subscriptions/providers/read' : `${provider}/register/action`;
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
