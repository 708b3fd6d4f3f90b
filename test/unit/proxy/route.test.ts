import { describe, expect, it } from 'vitest';
import type { ConnectionSource } from '../../../src/policy/schema.ts';
import { routeRequest } from '../../../src/proxy/route.ts';

const connections = new Map<string, ConnectionSource>([
  [
    'arm',
    { name: 'arm', kind: 'azure_resource_manager', upstream: 'https://management.azure.com', credential: 'none' },
  ],
]);
const route = (path: string) =>
  routeRequest(new URL(`https://gw.test${path}`), connections, new Map([['arm', 'http://127.0.0.1:1']]));

describe('routeRequest', () => {
  it('maps the first segment to a connection, keeps the rest and the query, applies overrides', () => {
    const result = route('/arm/subscriptions?api-version=1');
    expect(result).toMatchObject({
      ok: true,
      route: { path: '/subscriptions', search: '?api-version=1', upstreamBase: 'http://127.0.0.1:1' },
    });
  });

  it('refuses unknown connections', () => {
    expect(route('/nope/x')).toMatchObject({ ok: false, reason: 'no_connection' });
  });

  it.each(['/arm/a%2fb', '/arm/a%5Cb', '/arm/a%252e%252e/b', '/arm/a//b', '/arm/a%00'])(
    'refuses ambiguous path %s',
    (path) => {
      expect(route(path)).toMatchObject({ ok: false, reason: 'ambiguous_path' });
    },
  );

  it('decodes percent-encoded unreserved characters, so every stage sees one spelling', () => {
    // `%65xec` is `exec` and `%73ecrets` is `secrets` to the upstream; policy must see the same.
    expect(route('/arm/pods/web/%65xec')).toMatchObject({ ok: true, route: { path: '/pods/web/exec' } });
    expect(route('/arm/namespaces/prod/%73ecrets')).toMatchObject({
      ok: true,
      route: { path: '/namespaces/prod/secrets' },
    });
    // Other escapes stay escaped (upper-cased); an encoded dot inside a name is just a dot.
    expect(route('/arm/rg/my%2fgroup')).toMatchObject({ ok: false, reason: 'ambiguous_path' });
    expect(route('/arm/rg/my%c3%a9group')).toMatchObject({ ok: true, route: { path: '/rg/my%C3%A9group' } });
    expect(route('/arm/rg/v1%2E2')).toMatchObject({ ok: true, route: { path: '/rg/v1.2' } });
  });

  it('never lets the client choose the upstream host', () => {
    const result = route('/arm/@evil.test/x');
    expect(result.ok && result.route.upstreamBase).toBe('http://127.0.0.1:1');
  });
});

describe('routeRequest by host name', () => {
  const byHost = new Map<string, ConnectionSource>([
    [
      'graph',
      {
        name: 'graph',
        kind: 'microsoft_graph',
        upstream: 'https://graph.microsoft.com',
        credential: 'none',
        hosts: ['graph.gw.test'],
      },
    ],
  ]);
  it('routes a listed host with the whole path and no prefix; other hosts still need the prefix', () => {
    expect(routeRequest(new URL('https://graph.gw.test/v1.0/me'), byHost, new Map())).toMatchObject({
      ok: true,
      route: { path: '/v1.0/me', prefix: '', upstreamBase: 'https://graph.microsoft.com' },
    });
    expect(routeRequest(new URL('https://gw.test/graph/v1.0/me'), byHost, new Map())).toMatchObject({
      ok: true,
      route: { path: '/v1.0/me', prefix: '/graph' },
    });
    expect(routeRequest(new URL('https://graph.gw.test/v1.0/a%2fb'), byHost, new Map())).toMatchObject({
      ok: false,
      reason: 'ambiguous_path',
    });
  });
});
