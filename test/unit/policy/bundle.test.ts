import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleFromPolicy, bundleSigningBytes, openSignedBundle } from '../../../src/policy/bundle.ts';
import { compilePolicy } from '../../../src/policy/compile.ts';

const keys = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const publicKey = String(keys.publicKey.export({ format: 'jwk' }).x);
const signWith = (key: typeof keys.privateKey, digest: string) =>
  sign(null, bundleSigningBytes(digest), key).toString('base64url');

async function starterBundle() {
  const result = await compilePolicy(readFileSync('policies/default.yaml', 'utf8'));
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return bundleFromPolicy(result.policy);
}

describe('signed policy bundles', () => {
  it('opens a bundle signed with the configured key, with the same digest as the YAML', async () => {
    const bundle = await starterBundle();
    const opened = await openSignedBundle(
      { ...bundle, signature: signWith(keys.privateKey, bundle.digest) },
      publicKey,
    );
    expect(opened.ok).toBe(true);
    if (opened.ok) expect(opened.policy.digest).toBe(bundle.digest);
  });

  it('refuses an unsigned bundle', async () => {
    expect(await openSignedBundle(await starterBundle(), publicKey)).toMatchObject({ ok: false, reason: 'unsigned' });
  });

  it('refuses a bundle signed with another key', async () => {
    const bundle = await starterBundle();
    const signed = { ...bundle, signature: signWith(other.privateKey, bundle.digest) };
    expect(await openSignedBundle(signed, publicKey)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a signed bundle whose source was changed after signing', async () => {
    const bundle = await starterBundle();
    const source = structuredClone(bundle.source) as { rules: { effect: string }[] };
    for (const rule of source.rules) rule.effect = 'allow';
    const tampered = { ...bundle, source, signature: signWith(keys.privateKey, bundle.digest) };
    expect(await openSignedBundle(tampered, publicKey)).toMatchObject({ ok: false, reason: 'digest_mismatch' });
  });

  it('refuses a validly signed bundle whose policy does not compile', async () => {
    const digest = 'a'.repeat(64);
    const bad = {
      format: 'edgeward-policy-bundle/1',
      digest,
      source: { version: 1, connections: [], rules: [] },
      signature: signWith(keys.privateKey, digest),
    };
    expect(await openSignedBundle(bad, publicKey)).toMatchObject({ ok: false, reason: 'invalid_policy' });
  });

  it.each([
    ['not an object', 'nope'],
    ['a wrong format', { format: 'x', digest: 'a'.repeat(64), source: {} }],
    ['a short digest', { format: 'edgeward-policy-bundle/1', digest: 'abc', source: {} }],
  ])('refuses %s as malformed', async (_name, input) => {
    expect(await openSignedBundle(input, publicKey)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('refuses everything when the configured public key is unusable', async () => {
    const bundle = await starterBundle();
    const signed = { ...bundle, signature: signWith(keys.privateKey, bundle.digest) };
    expect(await openSignedBundle(signed, 'short')).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
});
