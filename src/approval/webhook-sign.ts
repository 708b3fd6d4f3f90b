/**
 * Signing outbound webhooks per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), with the maintained
 * `standardwebhooks` package. The secret is `whsec_<base64>`.
 */
import { Webhook } from 'standardwebhooks';

export function signedHeaders(secret: string, msgId: string, nowMs: number, body: string): Record<string, string> {
  const timestamp = new Date(nowMs);
  return {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(nowMs / 1000)),
    'webhook-signature': new Webhook(secret).sign(msgId, timestamp, body),
  };
}

/** Delay before delivery attempt `attempt` (1-based retries): 5 s, 10 s, 20 s … capped at 10 min. */
export const backoffMs = (attempt: number) => Math.min(5000 * 2 ** Math.max(0, attempt - 1), 600_000);
export const MAX_DELIVERY_ATTEMPTS = 8;
