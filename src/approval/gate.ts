/**
 * The approval gate: binds a request that policy holds for approval to its Durable Object.
 *
 * Contract: the approval id is a hash of the exact request (connection, method, path, query, body
 * hash, content type, and the headers that change what the upstream does — BOUND_HEADERS), the
 * requesting principal (subject object id, actor app id) and what policy requires (the deciding
 * rule and its approval spec), so sending the same request again finds the same approval, and
 * anything else — another body or patch type, another precondition or impersonation header,
 * another user, or a policy change to who approves or how many — does not: an approval granted
 * under old rules is not spent under new ones.
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
  /** `boundHeaders()` of the request; omitted or empty leaves the id as it was without headers. */
  headers?: readonly (readonly [string, string])[];
}

/**
 * Headers that change what the upstream executes and that a client repeats unchanged when it
 * sends the same request again: the body's encoding, preconditions, Kubernetes impersonation.
 * They are shown to approvers with every other header, and bound, so a retry cannot add one the
 * approvers never saw. (Per-attempt headers — request ids, trace context, user agent — are shown
 * but not bound; method overrides are refused before policy.)
 */
const BOUND_HEADERS = /^(content-encoding|if-match|if-none-match|if-unmodified-since|impersonate-.+)$/;

export function boundHeaders(headers: Headers): [string, string][] {
  return [...headers].filter(([name]) => BOUND_HEADERS.test(name));
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
    ...(binding.headers?.length ? [binding.headers] : []),
  ]);
  return (await sha256Hex(canonical)).slice(0, 32);
}
