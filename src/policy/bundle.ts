/**
 * Policy bundles: the artifact `npm run policy -- compile` writes and the control plane activates.
 *
 * Contract: a bundle is `{format, digest, source, signature?}` where `source` is the policy document
 * as written and `digest` the sha-256 of its canonical JSON. `openSignedBundle` accepts a bundle
 * only if it is well formed, its Ed25519 signature (over `edgeward-policy-bundle/1\n{digest}`)
 * verifies with the configured public key, its source compiles, and the recomputed digest equals
 * the declared one — so a signature can never be replayed onto other content. Results, not throws.
 */
import * as v from 'valibot';
import { type CompiledPolicy, compilePolicyDocument } from './compile.ts';

export const BUNDLE_FORMAT = 'edgeward-policy-bundle/1';

export const PolicyBundleSchema = v.strictObject({
  format: v.literal(BUNDLE_FORMAT),
  digest: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'digest is 64 lowercase hex digits')),
  source: v.unknown(),
  signature: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/, 'signature is base64url'))),
});

export type PolicyBundle = v.InferOutput<typeof PolicyBundleSchema>;

export function bundleFromPolicy(policy: CompiledPolicy): PolicyBundle {
  return { format: BUNDLE_FORMAT, digest: policy.digest, source: policy.document };
}

export function bundleSigningBytes(digest: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${BUNDLE_FORMAT}\n${digest}`) as Uint8Array<ArrayBuffer>;
}

export type OpenResult =
  | { ok: true; policy: CompiledPolicy; bundle: PolicyBundle }
  | {
      ok: false;
      reason: 'malformed' | 'unsigned' | 'bad_signature' | 'invalid_policy' | 'digest_mismatch';
      detail: string;
    };

export function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

/** Verify and compile a bundle; `publicKey` is the raw Ed25519 public key, base64url. */
export async function openSignedBundle(input: unknown, publicKey: string): Promise<OpenResult> {
  const parsed = v.safeParse(PolicyBundleSchema, input);
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'malformed',
      detail: parsed.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`).join('; '),
    };
  }
  const bundle = parsed.output;
  if (!bundle.signature) return { ok: false, reason: 'unsigned', detail: 'the bundle carries no signature' };
  const keyBytes = decodeBase64Url(publicKey);
  const signature = decodeBase64Url(bundle.signature);
  if (keyBytes?.length !== 32) return { ok: false, reason: 'bad_signature', detail: 'no usable public key' };
  if (signature?.length !== 64) return { ok: false, reason: 'bad_signature', detail: 'malformed signature' };
  let valid = false;
  try {
    const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'Ed25519' }, false, ['verify']);
    valid = await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, bundleSigningBytes(bundle.digest));
  } catch (error) {
    return { ok: false, reason: 'bad_signature', detail: `verification failed: ${String(error)}` };
  }
  if (!valid) return { ok: false, reason: 'bad_signature', detail: 'the signature does not verify' };
  const compiled = await compilePolicyDocument(bundle.source);
  if (!compiled.ok) return { ok: false, reason: 'invalid_policy', detail: compiled.errors.join('; ') };
  if (compiled.policy.digest !== bundle.digest) {
    return { ok: false, reason: 'digest_mismatch', detail: `source digest is ${compiled.policy.digest}` };
  }
  return { ok: true, policy: compiled.policy, bundle };
}
