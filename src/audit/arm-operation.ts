/**
 * Derive an Azure Resource Manager operation name and resource id from a request, in the form
 * Azure RBAC and the Activity Log use (`Microsoft.Resources/subscriptions/resourceGroups/delete`,
 * `Microsoft.Storage/storageAccounts/listKeys/action`).
 *
 * Contract: pure; used only as a fallback when no earlier stage set `operation`/`resourceId`.
 * Returns undefined for paths that are not ARM resource paths.
 */
const VERB: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' };

export function deriveArmOperation(
  method: string,
  path: string,
): { operation: string; resourceId: string } | undefined {
  const segments = path.split('/').filter(Boolean);
  if (segments[0]?.toLowerCase() !== 'subscriptions' || !segments[1]) return undefined;
  const upper = method.toUpperCase();
  const providerAt = segments.findIndex((s) => s.toLowerCase() === 'providers');
  let type: string[];
  let idLength: number;
  let action: string | undefined;
  if (providerAt === -1) {
    // /subscriptions/{s}[/resourceGroups[/{g}]]
    type = ['Microsoft.Resources', 'subscriptions'];
    idLength = 2;
    if (segments[2]?.toLowerCase() === 'resourcegroups') {
      type.push('resourceGroups');
      idLength = segments[3] ? 4 : 3;
    }
    if (segments.length > idLength && upper === 'POST') action = segments[idLength];
  } else {
    const namespace = segments[providerAt + 1];
    if (!namespace) return undefined;
    type = [namespace];
    let i = providerAt + 2;
    idLength = i;
    // type/name pairs; a trailing odd segment on POST is an action.
    while (i < segments.length) {
      const typeName = segments[i] as string;
      if (i + 1 >= segments.length) {
        if (upper === 'POST') action = typeName;
        else type.push(typeName);
        break;
      }
      type.push(typeName);
      i += 2;
      idLength = i;
    }
  }
  const operation = action ? `${type.join('/')}/${action}/action` : `${type.join('/')}/${VERB[upper] ?? 'action'}`;
  return { operation, resourceId: `/${segments.slice(0, idLength).join('/')}` };
}
