/**
 * Verifying a signed decision callback from a chat-ops bridge (trust boundary: read in one sitting).
 *
 * Standard Webhooks: the signature is base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)) where
 * key is the base64 part of the `whsec_…` secret; `webhook-signature` holds one or more
 * space-separated `v1,<sig>` entries. We check, in order: all three headers present, the timestamp
 * within ±tolerance of `nowMs` (stale and future messages refused), and a constant-time comparison
 * of each offered v1 signature. Replay protection (a webhook id is accepted once) is the caller's
 * job with a durable store; this module has no I/O and no clock.
 */

export type CallbackVerification =
  | { ok: true; msgId: string; timestamp: number }
  | { ok: false; reason: 'missing_headers' | 'bad_timestamp' | 'stale' | 'future' | 'bad_signature' | 'bad_secret' };

export const DEFAULT_TOLERANCE_SECONDS = 300;

export async function verifyCallback(
  secret: string,
  body: string,
  headers: Headers,
  nowMs: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): Promise<CallbackVerification> {
  const msgId = headers.get('webhook-id');
  const timestampText = headers.get('webhook-timestamp');
  const signatures = headers.get('webhook-signature');
  if (!msgId || !timestampText || !signatures) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,12}$/.test(timestampText)) return { ok: false, reason: 'bad_timestamp' };
  const timestamp = Number(timestampText);
  const now = Math.floor(nowMs / 1000);
  if (timestamp < now - toleranceSeconds) return { ok: false, reason: 'stale' };
  if (timestamp > now + toleranceSeconds) return { ok: false, reason: 'future' };
  const keyBytes = decodeSecret(secret);
  if (!keyBytes) return { ok: false, reason: 'bad_secret' };
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const expected = new Uint8Array(
    await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${msgId}.${timestampText}.${body}`)),
  );
  let matched = false;
  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const offered = base64ToBytes(value);
    // Compare every entry in constant time; never return early on the first match.
    if (offered && constantTimeEqual(offered, expected)) matched = true;
  }
  return matched ? { ok: true, msgId, timestamp } : { ok: false, reason: 'bad_signature' };
}

function decodeSecret(secret: string): Uint8Array<ArrayBuffer> | undefined {
  const raw = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const bytes = base64ToBytes(raw);
  return bytes && bytes.byteLength >= 16 ? bytes : undefined;
}

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

/** Time independent of where the inputs differ (length is not secret: HMAC-SHA256 is 32 bytes). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
