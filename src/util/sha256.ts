/**
 * SHA-256 as lowercase hex, over text (UTF-8) or bytes.
 *
 * Synchronous `node:crypto` underneath (as in src/auth/token-digest.ts): every audit row is hashed
 * on the request path, and WebCrypto's asynchronous digest costs more in promise hops than the
 * hash itself for rows this small. The async signature is kept so callers need not care.
 */
import { createHash } from 'node:crypto';

export async function sha256Hex(data: string | ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  // Strings are hashed as UTF-8 (node:crypto's default for string input).
  return createHash('sha256')
    .update(typeof data === 'string' ? data : data instanceof Uint8Array ? data : new Uint8Array(data))
    .digest('hex');
}
