import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEV_AUDIT_SIGNING_JWK,
  loadSigningKey,
  okpThumbprint,
  verifySignature,
} from '../../../src/audit/signing-key.ts';

const data = new TextEncoder().encode('digest body');

describe('audit signing key', () => {
  it('computes the RFC 7638 thumbprint of the RFC 8037 example key', async () => {
    expect(await okpThumbprint('11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo')).toBe(
      'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
    );
  });

  it('loads a JWK and a PKCS#8 PEM of the same key to the same key id, and signs verifiably', async () => {
    const pair = generateKeyPairSync('ed25519');
    const jwk = pair.privateKey.export({ format: 'jwk' });
    const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const fromJwk = await loadSigningKey(JSON.stringify(jwk));
    const fromPem = await loadSigningKey(pem);
    expect(fromPem.keyId).toBe(fromJwk.keyId);
    expect(fromJwk.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', x: jwk.x });
    expect(fromJwk.publicJwk).not.toHaveProperty('d');
    const signature = await fromPem.sign(data);
    expect(await verifySignature(fromJwk.publicJwk, data, signature)).toBe(true);
  });

  it('rejects a wrong key, altered data, a malformed signature and a non-Ed25519 JWK', async () => {
    const dev = await loadSigningKey(JSON.stringify(DEV_AUDIT_SIGNING_JWK));
    const other = await loadSigningKey(
      JSON.stringify(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })),
    );
    const signature = await dev.sign(data);
    expect(await verifySignature(dev.publicJwk, data, signature)).toBe(true);
    expect(await verifySignature(other.publicJwk, data, signature)).toBe(false);
    expect(await verifySignature(dev.publicJwk, new TextEncoder().encode('digest bodY'), signature)).toBe(false);
    expect(await verifySignature(dev.publicJwk, data, 'not-a-signature')).toBe(false);
    await expect(loadSigningKey(JSON.stringify({ kty: 'EC', crv: 'P-256', d: 'x', x: 'y' }))).rejects.toThrow(
      /Ed25519/,
    );
  });

  it('never quotes a malformed key in its error', async () => {
    const error = await loadSigningKey('{"d":veljMJyw21secretpart').catch((e: Error) => e);
    expect(String(error)).toContain('AUDIT_SIGNING_KEY is not valid JSON');
    expect(String(error)).not.toContain('veljMJyw21');
  });
});
