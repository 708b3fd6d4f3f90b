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

/** The audit row in whatever phase it is (null if absent). */
export async function auditRowNow(requestId: string): Promise<Record<string, unknown> | null> {
  return env.AUDIT_DB.prepare('SELECT * FROM audit_events WHERE request_id = ?')
    .bind(requestId)
    .first<Record<string, unknown>>();
}

export const OUTAGE_USER_AGENT = 'edgeward-test/d1-outage';

/**
 * Make the real local D1 refuse every audit write for requests carrying `OUTAGE_USER_AGENT` (a
 * SQLite trigger that aborts the statement, so the whole batch/transaction fails exactly as an
 * unavailable D1 would); `endD1Outage` removes it.
 */
export async function startD1Outage(): Promise<void> {
  for (const event of ['INSERT', 'UPDATE']) {
    await env.AUDIT_DB.prepare(
      `CREATE TRIGGER IF NOT EXISTS test_outage_${event.toLowerCase()} BEFORE ${event} ON audit_events
       WHEN NEW.user_agent = '${OUTAGE_USER_AGENT}' BEGIN SELECT RAISE(ABORT, 'simulated D1 outage'); END`,
    ).run();
  }
}

export async function endD1Outage(): Promise<void> {
  await env.AUDIT_DB.prepare('DROP TRIGGER IF EXISTS test_outage_insert').run();
  await env.AUDIT_DB.prepare('DROP TRIGGER IF EXISTS test_outage_update').run();
}
