/** Helpers for integration tests: mint tokens at the local mock Entra authority, call the Worker. */
import { env, exports } from 'cloudflare:workers';

export interface MintOptions {
  user?: string;
  groups?: string[];
  app?: string;
  appOnly?: boolean;
  version?: '1.0' | '2.0';
  audience?: string;
  tenantId?: string;
  expiresIn?: number;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

export async function mintToken(options: MintOptions): Promise<string> {
  const response = await fetch(`${env.ENTRA_AUTHORITY}/_dev/token`, {
    method: 'POST',
    body: JSON.stringify(options),
  });
  if (!response.ok) throw new Error(`mint failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export function gateway(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  return exports.default.fetch(new Request(`https://edgeward.test${path}`, { ...init, headers }));
}

export const SUB = '00000000-0000-4000-8000-00000000a2b1';

export async function auditRow(requestId: string): Promise<Record<string, unknown> | null> {
  // Rows are written in waitUntil after the response; poll briefly.
  for (let attempt = 0; attempt < 50; attempt++) {
    const row = await env.AUDIT_DB.prepare('SELECT * FROM audit_events WHERE request_id = ?')
      .bind(requestId)
      .first<Record<string, unknown>>();
    if (row && row.phase === 'final') return row;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}
