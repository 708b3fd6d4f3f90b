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

  it('accepts REQUEST_LOG on/off and refuses anything else by name', () => {
    expect(parseConfig({ ...dev, REQUEST_LOG: 'off' }).ok).toBe(true);
    const typo = parseConfig({ ...dev, REQUEST_LOG: 'false' });
    expect(!typo.ok && typo.errors.some((e) => e.startsWith('REQUEST_LOG'))).toBe(true);
  });

  it('refuses a plain-http authority unless the dev issuer is on', () => {
    expect(parseConfig({ ...dev, DEV_TOKEN_ISSUER: 'off' }).ok).toBe(false);
  });

  it('refuses production without an audit signing key, and webhooks without a signing secret', () => {
    const production = {
      ...dev,
      ENVIRONMENT: 'production',
      DEV_TOKEN_ISSUER: 'off',
      ENTRA_AUTHORITY: 'https://login.microsoftonline.com',
    };
    const unsigned = parseConfig(production);
    expect(unsigned.ok).toBe(false);
    if (!unsigned.ok) {
      expect(unsigned.errors).toEqual([
        expect.stringMatching(/^AUDIT_SIGNING_KEY: /),
        expect.stringMatching(/^CONTINUATION_KEY: /),
      ]);
    }
    expect(parseConfig({ ...production, AUDIT_SIGNING_KEY: '{"kty":"OKP"}', CONTINUATION_KEY: 'k' }).ok).toBe(true);
    const hooks = parseConfig({ ...dev, APPROVAL_WEBHOOK_URLS: 'https://hooks.example/x' });
    expect(hooks.ok).toBe(false);
    if (!hooks.ok) expect(hooks.errors).toEqual([expect.stringMatching(/^APPROVAL_WEBHOOK_SECRET: /)]);
    expect(
      parseConfig({ ...dev, APPROVAL_WEBHOOK_URLS: 'https://hooks.example/x', APPROVAL_WEBHOOK_SECRET: 'whsec_x' }).ok,
    ).toBe(true);
  });
});
