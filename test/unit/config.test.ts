import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';

const dev = {
  ENVIRONMENT: 'development',
  DEV_TOKEN_ISSUER: 'on',
  ENTRA_AUTHORITY: 'http://127.0.0.1:8791',
  TENANT_ALLOWLIST: '11111111-1111-4111-8111-111111111111',
  GATEWAY_AUDIENCES: 'api://edgeward-dev',
  UPSTREAM_ARM: 'http://127.0.0.1:8790/',
};

describe('parseConfig', () => {
  it('accepts the development defaults and reads upstream overrides', () => {
    const result = parseConfig(dev);
    expect(result.ok && result.value.upstreamOverrides.get('arm')).toBe('http://127.0.0.1:8790');
  });

  it('refuses the dev issuer in production and says which setting', () => {
    const result = parseConfig({ ...dev, ENVIRONMENT: 'production' });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.some((e) => e.startsWith('DEV_TOKEN_ISSUER'))).toBe(true);
      expect(result.errors.some((e) => e.startsWith('ENTRA_AUTHORITY'))).toBe(true);
    }
  });

  it('refuses an empty tenant allowlist and a non-GUID tenant', () => {
    expect(parseConfig({ ...dev, TENANT_ALLOWLIST: '' }).ok).toBe(false);
    expect(parseConfig({ ...dev, TENANT_ALLOWLIST: 'contoso.com' }).ok).toBe(false);
  });

  it('refuses a plain-http authority unless the dev issuer is on', () => {
    expect(parseConfig({ ...dev, DEV_TOKEN_ISSUER: 'off' }).ok).toBe(false);
  });
});
