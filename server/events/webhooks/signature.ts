// Webhook signatures: HMAC-SHA256 of the raw request body with WEBHOOK_SECRET, sent as
// `X-Upload-Signature: sha256=<hex>`. The body carries its own `sent_at`, also sent as
// X-Upload-Timestamp, so a receiver can refuse old replays; it should compare in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Upload-Signature';
export const TIMESTAMP_HEADER = 'X-Upload-Timestamp';
export const EVENT_HEADER = 'X-Upload-Event';
export const DELIVERY_HEADER = 'X-Upload-Delivery';

export function signWebhook(secret: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** True when `header` is the signature of `rawBody` with `secret`. */
export function verifyWebhookSignature(secret: string, rawBody: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signWebhook(secret, rawBody));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
