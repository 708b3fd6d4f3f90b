/** Helpers for the approval integration tests. */
import { env } from 'cloudflare:workers';
import type { ApprovalObject } from '../../src/approval/index.ts';
import { gateway, mintToken, SUB } from './helpers.ts';

export const tokens = async () => ({
  alice: await mintToken({ user: 'alice@contoso.com', groups: ['writers'] }),
  bob: await mintToken({ user: 'bob@contoso.com', groups: ['approvers'] }),
  dave: await mintToken({ user: 'dave@contoso.com', groups: ['approvers'] }),
  carol: await mintToken({ user: 'carol@contoso.com', groups: ['auditors'] }),
});

export const rgPath = (name: string) => `/arm/subscriptions/${SUB}/resourceGroups/${name}?api-version=2021-04-01`;

/** Create the resource group (writers may), so a later DELETE has something to delete. */
export async function createGroup(token: string, name: string): Promise<void> {
  const response = await gateway(rgPath(name), {
    token,
    method: 'PUT',
    body: JSON.stringify({ location: 'northeurope' }),
    headers: { 'content-type': 'application/json' },
  });
  await response.arrayBuffer();
  if (response.status >= 300) throw new Error(`PUT ${name}: ${response.status}`);
}

export function stubFor(id: string): DurableObjectStub<ApprovalObject> {
  return env.APPROVALS.get(env.APPROVALS.idFromName(id)) as DurableObjectStub<ApprovalObject>;
}

/** Wait until the D1 mirror lists a pending approval for this path (written from the DO's alarm). */
export async function pendingApprovalFor(token: string, rg: string): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const response = await gateway('/_gateway/approvals?status=pending', { token });
    const { approvals } = (await response.json()) as { approvals: { approvalId: string; path: string }[] };
    const found = approvals.find((a) => a.path.endsWith(`/resourceGroups/${rg}`));
    if (found) return found.approvalId;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no pending approval for ${rg}`);
}

export function decide(
  token: string,
  id: string,
  decision: 'approve' | 'deny',
  reason = 'integration test',
): Promise<Response> {
  return gateway(`/_gateway/approvals/${id}/decision`, {
    token,
    method: 'POST',
    body: JSON.stringify({ decision, reason }),
    headers: { 'content-type': 'application/json' },
  });
}

export async function received(
  path: string,
): Promise<{ path: string; headers: Record<string, string>; body: string }[]> {
  const response = await fetch(`${env.WEBHOOK_RECEIVER_URL}/_received?path=${encodeURIComponent(path)}`);
  return response.json();
}

export async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never happened: ${what}`);
}
