/** The identity settings in parseConfig: defaults, and a bad value is an error naming the field. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.ts';

const dev = {
  ENVIRONMENT: 'development',
  DEV_TOKEN_ISSUER: 'on',
  ENTRA_AUTHORITY: 'http://127.0.0.1:8791',
  TENANT_ALLOWLIST: '11111111-1111-4111-8111-111111111111',
  GATEWAY_AUDIENCES: 'api://edgeward-dev,22222222-2222-4222-8222-222222222222',
};
const errors = (vars: Record<string, string>) => {
  const result = parseConfig({ ...dev, ...vars });
  return result.ok ? [] : result.errors;
};

describe('parseConfig: identity settings', () => {
  it('defaults the subject-token header, Graph endpoint and group cache TTL', () => {
    const result = parseConfig(dev);
    expect(result.ok && result.value).toMatchObject({
      subjectTokenHeader: 'x-edgeward-subject-token',
      graphEndpoint: 'https://graph.microsoft.com',
      groupCacheSeconds: 300,
      clockToleranceSeconds: 60,
    });
  });

  it('lower-cases a custom subject-token header and refuses one outside x-edgeward-*', () => {
    const result = parseConfig({ ...dev, SUBJECT_TOKEN_HEADER: 'X-Edgeward-Human' });
    expect(result.ok && result.value.subjectTokenHeader).toBe('x-edgeward-human');
    expect(errors({ SUBJECT_TOKEN_HEADER: 'authorization' })[0]).toMatch(/^SUBJECT_TOKEN_HEADER: /);
    expect(errors({ SUBJECT_TOKEN_HEADER: 'x-edgeward-a b' })[0]).toMatch(/^SUBJECT_TOKEN_HEADER: /);
  });

  it('names the field for a bad audience, clock tolerance, Graph endpoint or group TTL', () => {
    expect(errors({ GATEWAY_AUDIENCES: 'edgeward' })[0]).toMatch(/^GATEWAY_AUDIENCES/);
    expect(errors({ CLOCK_TOLERANCE_SECONDS: '900' })[0]).toMatch(/^CLOCK_TOLERANCE_SECONDS: /);
    expect(errors({ CLOCK_TOLERANCE_SECONDS: 'soon' })[0]).toMatch(/^CLOCK_TOLERANCE_SECONDS: /);
    expect(errors({ GRAPH_ENDPOINT: 'graph' })[0]).toMatch(/^GRAPH_ENDPOINT: /);
    expect(errors({ GROUP_CACHE_SECONDS: '-1' })[0]).toMatch(/^GROUP_CACHE_SECONDS: /);
  });

  it('refuses a plain-http Graph endpoint without the dev issuer, and in production', () => {
    expect(
      errors({
        DEV_TOKEN_ISSUER: 'off',
        ENTRA_AUTHORITY: 'https://login.microsoftonline.com',
        GRAPH_ENDPOINT: 'http://graph.test',
      }),
    ).toEqual(['GRAPH_ENDPOINT: must be https unless DEV_TOKEN_ISSUER is on']);
    expect(errors({ ENVIRONMENT: 'production', GRAPH_ENDPOINT: 'http://graph.test' })).toContain(
      'GRAPH_ENDPOINT: must be https in production',
    );
  });

  it('accepts App ID URIs and client ids as audiences', () => {
    expect(
      errors({
        GATEWAY_AUDIENCES: 'api://edgeward/, https://edgeward.contoso.com, 22222222-2222-4222-8222-222222222222',
      }),
    ).toEqual([]);
  });
});
