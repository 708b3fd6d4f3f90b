/**
 * The Ed25519 key that signs audit digests (RFC 8032 via WebCrypto, RFC 8037 OKP JWKs).
 *
 * Contract: `loadSigningKey` accepts the secret `AUDIT_SIGNING_KEY` as a private OKP/Ed25519 JWK
 * (JSON) or as PKCS#8 (PEM or bare base64). The key id is the RFC 7638 JWK thumbprint of the
 * public key, so a verifier can pick the right key from the JWKS at `/_gateway/audit/keys`.
 * `DEV_AUDIT_SIGNING_JWK` is public knowledge (it is in this file): it exists so development and
 * tests can seal without setup, and the Worker refuses to use it outside development/test.
 */
export const DEV_AUDIT_SIGNING_JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: '1mCETgsh2rDkKkRXX4ztDoETt5czCnFGgszvVglnJJA',
  d: 'veljMJyw21uautZ9EOu1_RwUCDoBfhxNDKwvsNWaG6A',
} as const;

export interface PublicAuditKey {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface AuditSigner {
  keyId: string;
  publicJwk: PublicAuditKey;
  sign(data: Uint8Array): Promise<string>;
}

const b64url = (bytes: Uint8Array) => {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

export const fromB64url = (text: string): Uint8Array<ArrayBuffer> => {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
};

/** RFC 7638 thumbprint: SHA-256 over {"crv","kty","x"} in that (lexicographic) order. */
export async function okpThumbprint(x: string): Promise<string> {
  const json = `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`;
  return b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(json))));
}

export async function loadSigningKey(secret: string): Promise<AuditSigner> {
  const text = secret.trim();
  let privateKey: CryptoKey;
  if (text.startsWith('{')) {
    let jwk: JsonWebKey;
    try {
      jwk = JSON.parse(text) as JsonWebKey;
    } catch {
      // Never the parser's message: it quotes the start of the input, i.e. of the private key.
      throw new Error('AUDIT_SIGNING_KEY is not valid JSON');
    }
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) {
      throw new Error('AUDIT_SIGNING_KEY must be an Ed25519 private JWK (kty OKP, crv Ed25519, d, x)');
    }
    privateKey = await crypto.subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', d: jwk.d, x: jwk.x },
      { name: 'Ed25519' },
      true,
      ['sign'],
    );
  } else {
    const base64 = text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const der = fromB64url(base64.replace(/\+/g, '-').replace(/\//g, '_'));
    privateKey = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
  }
  const exported = (await crypto.subtle.exportKey('jwk', privateKey)) as JsonWebKey;
  const x = exported.x;
  if (!x) throw new Error('AUDIT_SIGNING_KEY: cannot derive the public key');
  const keyId = await okpThumbprint(x);
  return {
    keyId,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid: keyId, alg: 'EdDSA', use: 'sig' },
    async sign(data) {
      return b64url(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, data)));
    },
  };
}

/** Verify a base64url Ed25519 signature with a public JWK; false on any malformed input. */
export async function verifySignature(key: { x: string }, data: Uint8Array, signature: string): Promise<boolean> {
  try {
    const publicKey = await crypto.subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', x: key.x },
      { name: 'Ed25519' },
      false,
      ['verify'],
    );
    return await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, fromB64url(signature), new Uint8Array(data));
  } catch {
    return false;
  }
}
