/**
 * The Azure Resource Manager operation name and resource id for a request, in the form Azure RBAC
 * and the Activity Log use (`Microsoft.Resources/subscriptions/resourceGroups/delete`), for audit
 * rows of requests refused before policy ran (e.g. a bad token).
 *
 * Contract: pure; one derivation for the whole gateway — it delegates to the policy stage's
 * `deriveArmFacts`, so audit rows and policy decisions always name an operation the same way.
 * Returns undefined for paths that are not under a subscription.
 */
import { deriveArmFacts } from '../policy/arm-operation.ts';

export function deriveArmOperation(
  method: string,
  path: string,
): { operation: string; resourceId: string } | undefined {
  const segments = path.split('/').filter(Boolean);
  if (segments[0]?.toLowerCase() !== 'subscriptions' || !segments[1]) return undefined;
  const facts = deriveArmFacts(method.toUpperCase(), path, '');
  return { operation: facts.operation, resourceId: facts.resourceId };
}
