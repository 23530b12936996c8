// HTTP-008..HTTP-011: the two signature schemes of the http binding.
import { createHmac } from 'node:crypto';

/** The key bytes of a `whsec_<base64>` secret: the base64 part decoded (Standard Webhooks). */
export function secretKeyBytes(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  return Buffer.from(encoded, 'base64');
}

/** Standard Webhooks: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`. */
export function standardWebhookSignature(secret: string, webhookId: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secretKeyBytes(secret)).update(`${webhookId}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** AXME: `sha256=<hex HMAC-SHA256(key, body)>`, keyed with the same decoded secret bytes. */
export function axmeSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secretKeyBytes(secret)).update(body).digest('hex')}`;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'x-axme-signature': string;
}

/** Headers for one push; during a rotation overlap every active secret signs (space-separated). */
export function signPush(secrets: readonly string[], webhookId: string, timestamp: number, body: string): SignedHeaders {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => standardWebhookSignature(s, webhookId, timestamp, body)).join(' '),
    'x-axme-signature': secrets.map((s) => axmeSignature(s, body)).join(' '),
  };
}
