// Verifying an http push (HTTP-008..HTTP-013, CLI-030..CLI-034): Standard Webhooks
// (`webhook-signature`, with the 5-minute timestamp window) or, for receivers that only get it,
// the AXME header (`X-Axme-Signature`). Both key HMAC-SHA256 with the base64-decoded secret after
// `whsec_`, over the exact body bytes received; every comparison is constant-time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface VerifyWebhookInput {
  /** The secrets the receiver holds (during a rotation: the new one and the old one). */
  secrets: string | readonly string[];
  /** Request headers; names are matched case-insensitively. */
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received: never a re-serialized object. */
  body: string | Uint8Array;
  /** Allowed distance between webhook-timestamp and now (default 300 s). */
  toleranceSeconds?: number;
  /** The receiver's clock in ms (default Date.now()). */
  nowMs?: number;
}

export type WebhookVerdict =
  | { ok: true; scheme: 'standard-webhooks' | 'axme' }
  | { ok: false; reason: 'missing_signature' | 'malformed_header' | 'timestamp_out_of_window' | 'no_matching_signature' };

export const DEFAULT_TOLERANCE_SECONDS = 300;

function header(headers: VerifyWebhookInput['headers'], name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value.join(' ') : value;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** Whether any entry decodes to the expected MAC; every entry and every secret is compared, in constant time. */
function anyMatches(entries: Buffer[], expected: Buffer[]): boolean {
  let matched = false;
  for (const mac of expected) {
    for (const entry of entries) {
      if (entry.length === mac.length && timingSafeEqual(entry, mac)) matched = true;
    }
  }
  return matched;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function verifyWebhook(input: VerifyWebhookInput): WebhookVerdict {
  const secrets = typeof input.secrets === 'string' ? [input.secrets] : [...input.secrets];
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : Buffer.from(input.body);
  const standard = header(input.headers, 'webhook-signature');
  if (standard !== undefined) {
    const id = header(input.headers, 'webhook-id');
    const timestamp = header(input.headers, 'webhook-timestamp');
    if (!id || !timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed_header' };
    const skew = Math.abs(Math.floor((input.nowMs ?? Date.now()) / 1000) - Number(timestamp));
    if (skew > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: 'timestamp_out_of_window' };
    // Entries of other versions (`v2,…`) are skipped; a v1 entry is base64 of a 32-byte MAC.
    const entries = standard.split(' ').filter((e) => e.startsWith('v1,')).map((e) => e.slice(3)).filter((b64) => STRICT_BASE64.test(b64)).map((b64) => Buffer.from(b64, 'base64'));
    const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), body]);
    const expected = secrets.map((s) => createHmac('sha256', keyOf(s)).update(signed).digest());
    return anyMatches(entries, expected) ? { ok: true, scheme: 'standard-webhooks' } : { ok: false, reason: 'no_matching_signature' };
  }
  const axme = header(input.headers, 'x-axme-signature');
  if (axme !== undefined) {
    const entries = axme.split(' ').filter((e) => /^sha256=[0-9a-f]{64}$/.test(e)).map((e) => Buffer.from(e.slice('sha256='.length), 'hex'));
    const expected = secrets.map((s) => createHmac('sha256', keyOf(s)).update(body).digest());
    return anyMatches(entries, expected) ? { ok: true, scheme: 'axme' } : { ok: false, reason: 'no_matching_signature' };
  }
  return { ok: false, reason: 'missing_signature' };
}
