/**
 * The approval gate: binds a request that policy holds for approval to its Durable Object.
 *
 * Contract: the approval id is a hash of the exact request (connection, method, path, query, body
 * hash, content type), the requesting principal (subject object id, actor app id) and what policy
 * requires (the deciding rule and its approval spec), so sending the same request again finds the
 * same approval, and anything else — another body or patch type, another user, or a policy change
 * to who approves or how many — does not: an approval granted under old rules is not spent under new ones.
 */
import { sha256Hex } from '../util/sha256.ts';

export interface ApprovalBinding {
  connection: string;
  method: string;
  path: string;
  query: string;
  bodySha256: string;
  subjectOid: string | null;
  actorAppId: string;
  contentType: string | null;
  ruleId: string;
  /** The approval spec (approvers, count, expiry, …) as the policy states it. */
  approval: unknown;
}

export async function approvalIdFor(binding: ApprovalBinding): Promise<string> {
  const canonical = JSON.stringify([
    binding.connection,
    binding.method,
    binding.path,
    binding.query,
    binding.bodySha256,
    binding.subjectOid,
    binding.actorAppId,
    binding.contentType,
    binding.ruleId,
    binding.approval,
  ]);
  return (await sha256Hex(canonical)).slice(0, 32);
}
