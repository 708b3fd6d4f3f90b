// Operations: readiness checks real dependencies; every request leaves one structured log line
// that names it and never carries its token.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditRow, gateway, mintToken } from './helpers.ts';

afterEach(() => vi.restoreAllMocks());

describe('operations', () => {
  it('reports readiness: keys for every allowed tenant, policy and D1', async () => {
    const response = await gateway('/_gateway/ready');
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      status: string;
      checks: {
        keys: { ok: boolean; detail: { tenant: string; version: string; ok: boolean }[] };
        database: { ok: boolean };
      };
    };
    expect(body.status).toBe('ready');
    expect(body.checks.database.ok).toBe(true);
    expect(body.checks.keys.detail.map((k) => `${k.version}:${k.ok}`).sort()).toEqual(['1.0:true', '2.0:true']);
  });

  it('writes one JSON log line per request, without the token', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['readers'] });
    const response = await gateway('/arm/subscriptions?api-version=2022-12-01', { token });
    await response.arrayBuffer();
    const requestId = response.headers.get('x-edgeward-request-id');
    for (let i = 0; i < 50 && !lines.some((l) => l.includes(String(requestId))); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const mine = lines.filter((l) => l.includes(String(requestId))).map((l) => JSON.parse(l));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ msg: 'request', decision: 'allow', status: 200, connection: 'arm' });
    expect(lines.join('\n')).not.toContain(token.split('.')[2]);
  });

  it('audits probes of unknown control-plane paths and sign-in calls', async () => {
    const probe = await gateway('/_gateway/admin/../secrets');
    expect(probe.status).toBe(404);
    const probeId = probe.headers.get('x-edgeward-request-id') ?? '';
    expect(await auditRow(probeId)).toMatchObject({ connection: '_gateway', status: 404, outcome: 'refused' });

    const signIn = await gateway('/_gateway/signin/callback?state=forged&code=x');
    expect(signIn.status).toBe(400);
    const signInId = signIn.headers.get('x-edgeward-request-id') ?? '';
    expect(await auditRow(signInId)).toMatchObject({ connection: '_gateway', status: 400, decision: 'control' });
  });
});
