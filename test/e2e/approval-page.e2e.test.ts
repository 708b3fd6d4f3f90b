// End to end: the approver's page in a real headless Chromium (Debian's /usr/bin/chromium via
// playwright-core; never a downloaded browser) against a real `wrangler dev`. Alice's DELETE is
// held for approval; Bob signs in (Entra authorization code + PKCE at the mock authority, or the
// development sign-in), reads the masked request and approves or denies it; Alice's retry then
// proceeds or is refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from '../../scripts/dev-stack/stack.mjs';

const SUB = '00000000-0000-4000-8000-00000000a2b1';
let stack: Awaited<ReturnType<typeof startStack>>;
let persistTo: string;
let browser: Browser;

beforeAll(async () => {
  persistTo = mkdtempSync(join(tmpdir(), 'edgeward-e2e-approval-'));
  stack = await startStack({ persistTo });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

const rg = (name: string) => `/arm/subscriptions/${SUB}/resourceGroups/${name}?api-version=2021-04-01`;

async function held(name: string, token: string): Promise<{ approvalId: string; statusUrl: string }> {
  const put = await fetch(`${stack.gatewayUrl}${rg(name)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ location: 'westeurope' }),
  });
  expect(put.status).toBe(201);
  const response = await fetch(`${stack.gatewayUrl}${rg(name)}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}`, prefer: 'wait=0', 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'cleanup', adminPassword: 'hunter2' }),
  });
  expect(response.status).toBe(403);
  const problem = (await response.json()) as { code: string; approvalId: string; statusUrl: string };
  expect(problem.code).toBe('EDGEWARD_APPROVAL_PENDING');
  return problem;
}

describe('the approver page in Chromium', () => {
  it('signs in with authorization code + PKCE, shows the masked request, approves; the retry proceeds', async () => {
    const alice = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['writers'] });
    const { approvalId, statusUrl } = await held('page-approve', alice);
    const page = await browser.newPage();
    await page.goto(`${stack.gatewayUrl}${statusUrl}`);
    await page.click('#signin');
    // The mock Entra sign-in form.
    await page.fill('#login-user', 'bob@contoso.com');
    await page.fill('#login-groups', 'approvers');
    await page.click('#login-submit');
    await page.waitForSelector('#status');
    expect(await page.textContent('#status')).toBe('pending');
    const body = (await page.textContent('#body')) ?? '';
    // The approver sees the whole body, indented, with the secret masked.
    expect(body).toMatch(/"adminPassword": ?"\*\*\*"/);
    expect(body).not.toContain('hunter2');
    await page.fill('textarea[name=reason]', 'planned cleanup');
    await page.click('#approve');
    await page.waitForSelector('#flash');
    expect(await page.textContent('#status')).toBe('approved');
    expect(await page.content()).toContain('planned cleanup');
    await page.close();

    const retry = await fetch(`${stack.gatewayUrl}${rg('page-approve')}`, {
      method: 'DELETE',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        'x-edgeward-approval-id': approvalId,
      },
      body: JSON.stringify({ reason: 'cleanup', adminPassword: 'hunter2' }),
    });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('location')).toContain('/operationresults/');
  });

  it('uses the development sign-in, refuses an approver outside the group, and lets an approver deny', async () => {
    const alice = await stack.entra.mint({ user: 'alice@contoso.com', groups: ['writers'] });
    const { statusUrl } = await held('page-deny', alice);

    const outsider = await browser.newContext();
    const carol = await outsider.newPage();
    await carol.goto(`${stack.gatewayUrl}${statusUrl}`);
    await carol.fill('#dev-signin input[name=user]', 'carol@contoso.com');
    await carol.fill('#dev-signin input[name=groups]', 'auditors');
    await carol.click('#dev-signin button');
    await carol.waitForLoadState();
    expect(await carol.content()).toContain('Only the requester and eligible approvers');
    await outsider.close();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.gatewayUrl}${statusUrl}`);
    await page.click('#dev-signin button');
    await page.waitForSelector('#status');
    await page.fill('textarea[name=reason]', 'not today');
    await page.click('#deny');
    await page.waitForSelector('#flash');
    expect(await page.textContent('#status')).toBe('denied');
    await context.close();

    const retry = await fetch(`${stack.gatewayUrl}${rg('page-deny')}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'cleanup', adminPassword: 'hunter2' }),
    });
    expect(retry.status).toBe(403);
    const problem = (await retry.json()) as { code: string; detail: string };
    expect(problem.code).toBe('EDGEWARD_APPROVAL_DENIED');
    expect(problem.detail).toContain('not today');
  });
});
