/**
 * The approval gate: binds a request that policy holds for approval to its Durable Object.
 *
 * Contract: the approval id is a hash of the exact request (connection, method, path, query, body
 * hash) and the requesting principal (subject object id, actor app id), so sending the same request
 * again finds the same approval and anything else (another body, another user) does not.
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
  ]);
  return (await sha256Hex(canonical)).slice(0, 32);
}
