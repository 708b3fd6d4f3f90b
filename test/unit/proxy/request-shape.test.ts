import { describe, expect, it } from 'vitest';
import { requestShapeProblem } from '../../../src/proxy/request-shape.ts';

const none = new Headers();

describe('request shapes whose meaning to the upstream differs from what policy sees', () => {
  it('refuses methods the API does not define; an http connection also allows OPTIONS', () => {
    expect(requestShapeProblem('azure_resource_manager', 'MERGE', none, '', '/x')).toMatchObject({ kind: 'method' });
    expect(requestShapeProblem('azure_resource_manager', 'patch', none, '', '/x')).toMatchObject({ kind: 'method' });
    expect(requestShapeProblem('kubernetes', 'OPTIONS', none, '', '/api')).toMatchObject({ kind: 'method' });
    expect(requestShapeProblem('http', 'OPTIONS', none, '', '/x')).toBeUndefined();
    for (const method of ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'POST']) {
      expect(requestShapeProblem('microsoft_graph', method, none, '', '/v1.0/me')).toBeUndefined();
    }
  });

  it('refuses every override spelling, in headers and query, whatever the value', () => {
    for (const name of ['X-HTTP-Method-Override', 'x-http-method', 'X-Method-Override']) {
      expect(requestShapeProblem('http', 'GET', new Headers({ [name]: 'GET' }), '', '/x')).toMatchObject({
        kind: 'override',
      });
    }
    for (const query of [
      '?_method=DELETE',
      '?a=1&X-HTTP-Method=PUT',
      '?%5Fmethod=x',
      '?x-method-override=',
      '?_METHOD=DELETE',
    ]) {
      expect(requestShapeProblem('azure_resource_manager', 'GET', none, query, '/x'), query).toMatchObject({
        kind: 'override',
      });
    }
    expect(requestShapeProblem('azure_resource_manager', 'GET', none, '?method=x&api-version=1', '/x')).toBeUndefined();
  });

  it('refuses Kubernetes impersonation headers, which change who the API server acts as', () => {
    const headers = new Headers({ 'Impersonate-User': 'system:admin' });
    expect(requestShapeProblem('kubernetes', 'GET', headers, '', '/api/v1/secrets')).toMatchObject({
      kind: 'impersonation',
    });
    expect(
      requestShapeProblem('kubernetes', 'GET', new Headers({ 'impersonate-extra-scopes': 'x' }), '', '/api'),
    ).toMatchObject({
      kind: 'impersonation',
    });
  });

  it('refuses folded keywords in ARM paths only', () => {
    expect(
      requestShapeProblem('azure_resource_manager', 'GET', none, '', '/subscriptions/s/resourceGroups/rg/provıders/X'),
    ).toMatchObject({
      kind: 'path',
    });
    expect(requestShapeProblem('http', 'GET', none, '', '/provıders/X')).toBeUndefined();
  });
});
