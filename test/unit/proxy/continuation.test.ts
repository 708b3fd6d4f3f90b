import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/principal.ts';
import { EMPTY_MASK } from '../../../src/mask/spec.ts';
import { parseBatch } from '../../../src/policy/embedded-requests.ts';
import { principalFromTest } from '../../../src/policy/policy-tests.ts';
import { rewriteLink } from '../../../src/proxy/azure-links.ts';
import {
  bindingFor,
  CONTINUATION_PARAM,
  continuationKey,
  originFor,
  readContinuation,
  sameCaller,
  stripContinuation,
} from '../../../src/proxy/continuation.ts';
import { normaliseUpstreamPath } from '../../../src/proxy/route.ts';

const key = continuationKey(undefined, 'test') as Uint8Array;
const principal = (subject: string): Principal =>
  principalFromTest({ subject, app: 'cli', tenant: 't', groups: [], groups_resolved: true, roles: [], scopes: [] });
const NOW = Date.UTC(2026, 11, 3);
const mask = { ...EMPTY_MASK, keys: ['primaryKey'] };
const origin = originFor(
  principal('alice'),
  'Microsoft.SignalRService/SignalR/regenerateKey/action',
  mask,
  ['r1'],
  NOW,
);
const LINK = '/subscriptions/s/providers/Microsoft.SignalRService/locations/w/operationResults/op?api-version=1';

function bound(link = LINK): string {
  return rewriteLink(`https://management.azure.com${link}`, {
    from: ['https://management.azure.com'],
    to: 'https://gw/arm',
    bind: (target) => `${CONTINUATION_PARAM}=${bindingFor(key, origin, target)}`,
  });
}
const split = (url: string) => {
  const u = new URL(url);
  return { path: u.pathname.replace(/^\/arm/, ''), search: u.search };
};

describe('continuation bindings', () => {
  it('a rewritten link carries a binding that verifies for the same path and query, and is stripped', () => {
    const { path, search } = split(bound());
    const read = readContinuation(key, path, search, NOW + 1000);
    expect(read.kind).toBe('valid');
    if (read.kind !== 'valid') return;
    expect(read.search).toBe('?api-version=1');
    expect(read.origin.mask.keys).toEqual(['primaryKey']);
    expect(sameCaller(read.origin, principal('alice'))).toBe(true);
    expect(sameCaller(read.origin, principal('mallory'))).toBe(false);
  });

  it('refuses a tampered, moved, duplicated or keyless binding as forged; an old one is expired', () => {
    const { path, search } = split(bound());
    const tampered = search.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect(readContinuation(key, path, tampered, NOW).kind).toBe('forged');
    expect(readContinuation(key, `${path}x`, search, NOW).kind).toBe('forged');
    expect(readContinuation(key, path, search.replace('api-version=1', 'api-version=2'), NOW).kind).toBe('forged');
    expect(readContinuation(key, path, `${search}&${search.slice(search.indexOf(CONTINUATION_PARAM))}`, NOW).kind).toBe(
      'forged',
    );
    expect(readContinuation(undefined, path, search, NOW).kind).toBe('forged');
    expect(readContinuation(key, path, search, NOW + 25 * 3600 * 1000).kind).toBe('expired');
    expect(readContinuation(key, path, '?api-version=1', NOW)).toEqual({ kind: 'none', search: '?api-version=1' });
  });

  it('drops a binding the upstream itself put in a link before binding it', () => {
    const url = bound(`${LINK}&${CONTINUATION_PARAM}=forged.by-upstream`);
    expect(url.split(CONTINUATION_PARAM).length).toBe(2);
    const { path, search } = split(url);
    expect(readContinuation(key, path, search, NOW).kind).toBe('valid');
  });

  it('strips the parameter in any spelling and keeps every other byte', () => {
    expect(stripContinuation('?a=1&EDGEWARD-CONTINUATION=x&b=%20')).toEqual({ search: '?a=1&b=%20', values: ['x'] });
    expect(stripContinuation('?edgeward%2Dcontinuation=y')).toEqual({ search: '', values: ['y'] });
  });

  it('without a secret outside development and test there is no key', () => {
    expect(continuationKey(undefined, 'production')).toBeUndefined();
    expect(continuationKey('s', 'production')).toBeInstanceOf(Uint8Array);
  });
});

describe('embedded batch requests resolve against the connection only', () => {
  const graph = {
    upstreamBase: 'https://graph.microsoft.com',
    upstream: 'https://graph.microsoft.com',
    normalisePath: normaliseUpstreamPath,
  };
  it('resolves Graph URLs against the version root, refuses other origins and nested batches', () => {
    const parsed = parseBatch(
      'graph',
      {
        requests: [
          { id: '1', method: 'delete', url: '/users/x' },
          { id: '2', method: 'GET', url: 'me?$select=id' },
        ],
      },
      graph,
      '/v1.0/$batch',
    );
    expect(parsed).toMatchObject({
      ok: true,
      requests: [
        { key: '1', method: 'DELETE', path: '/v1.0/users/x' },
        { key: '2', method: 'GET', path: '/v1.0/me', search: '?$select=id' },
      ],
    });
    const foreign = parseBatch(
      'graph',
      { requests: [{ id: '1', method: 'GET', url: 'https://evil.example/v1.0/me' }] },
      graph,
    );
    expect(foreign.ok).toBe(false);
    const nested = parseBatch(
      'graph',
      { requests: [{ id: '1', method: 'POST', url: 'https://graph.microsoft.com/v1.0/$batch' }] },
      graph,
    );
    expect(nested.ok).toBe(false);
    const encoded = parseBatch(
      'graph',
      { requests: [{ id: '1', method: 'POST', url: 'https://graph.microsoft.com/beta/%24batch' }] },
      graph,
    );
    expect(encoded.ok).toBe(false);
  });
});
