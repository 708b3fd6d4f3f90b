/**
 * Rewrite obligations in the pipeline: the starter policy forces publicNetworkAccess=Disabled on
 * storage account writes; a body the gateway cannot patch is refused, never sent as it was.
 * (What the upstream receives is checked byte for byte in test/unit/policy/rewrite.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { auditRow, gateway, mintToken, SUB } from './helpers.ts';

const ACCOUNT = `/arm/subscriptions/${SUB}/resourceGroups/demo-rg/providers/Microsoft.Storage/storageAccounts/demo?api-version=2023-05-01`;

describe('JSON Patch rewrite of request bodies', () => {
  it('refuses a body that is not JSON, and one the patch does not apply to', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const text = await gateway(ACCOUNT, {
      method: 'PUT',
      token,
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ code: 'EDGEWARD_BAD_REQUEST' });

    const noProperties = await gateway(ACCOUNT, {
      method: 'PUT',
      token,
      body: JSON.stringify({ location: 'westeurope' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(noProperties.status).toBe(422);
    const row = await auditRow(noProperties.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'allow', outcome: 'refused' });
    expect(String(row?.detail)).toContain('rewrite: /properties/publicNetworkAccess');
  });

  it('forwards a patched JSON body', async () => {
    const token = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
    const response = await gateway(ACCOUNT, {
      method: 'PUT',
      token,
      body: JSON.stringify({ location: 'westeurope', properties: { publicNetworkAccess: 'Enabled' } }),
      headers: { 'content-type': 'application/json' },
    });
    // The demo upstream echoes the account as ARM would bind it: the rewrite reached it.
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as { properties: { publicNetworkAccess: string } };
    expect(echoed.properties.publicNetworkAccess).toBe('Disabled');
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ decision: 'allow', outcome: 'completed', status: 200 });
    expect(JSON.parse(String(row?.rule_ids))).toEqual(['public-network-access-forced-off']);
  });
});
