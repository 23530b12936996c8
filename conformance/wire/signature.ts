// The kit's verifier for the http binding's two signature schemes (HTTP-008..HTTP-011), written
// independently of the reference server. Key = the base64-decoded part of a `whsec_<base64>` secret.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type HeaderBag = Record<string, string | string[] | undefined> | Headers;

export type SignatureFailure =
  | 'missing_header'
  | 'malformed_header'
  | 'timestamp_out_of_tolerance'
  | 'no_matching_signature';

export type VerifyResult =
  | { ok: true; /** Index (in the secrets given) of the secret whose signature matched. */ secretIndex: number }
  | { ok: false; reason: SignatureFailure; detail: string };

export interface StandardWebhookOptions {
  /** Allowed distance between webhook-timestamp and now (default 300 s, as Standard Webhooks). */
  toleranceSeconds?: number;
  /** The verifier's clock: a Date or epoch milliseconds (default: Date.now()). */
  now?: Date | number;
}

export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The HMAC key of a secret: base64 after the `whsec_` prefix, decoded. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
}

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : bag[key];
  return Array.isArray(value) ? value.join(' ') : value;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The entries of a space-separated signature list, e.g. `v1,abc v1,def` (rotation overlap). */
function entries(header: string): string[] {
  return header.split(' ').filter((part) => part !== '');
}

function firstMatch(secrets: readonly string[], expectedFor: (secret: string) => string, given: string[]): number {
  let matched = -1;
  // Compare every pair (no early exit) so timing does not reveal which entry matched.
  secrets.forEach((secret, index) => {
    const expected = expectedFor(secret);
    for (const entry of given) if (sameText(entry, expected) && matched < 0) matched = index;
  });
  return matched;
}

function toSecrets(secret: string | readonly string[]): readonly string[] {
  return typeof secret === 'string' ? [secret] : secret;
}

/** Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`. */
export function verifyStandardWebhook(secret: string | readonly string[], headers: HeaderBag, rawBody: string | Buffer, options: StandardWebhookOptions = {}): VerifyResult {
  const id = headerValue(headers, 'webhook-id');
  const timestamp = headerValue(headers, 'webhook-timestamp');
  const signature = headerValue(headers, 'webhook-signature');
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing_header', detail: 'webhook-id, webhook-timestamp and webhook-signature are all required' };
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'malformed_header', detail: `webhook-timestamp ${JSON.stringify(timestamp)} is not unix seconds` };
  // Entries of other versions are ignored, as Standard Webhooks does.
  const given = entries(signature).filter((e) => e.startsWith('v1,'));
  const nowMs = options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime();
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const skew = Math.abs(Math.floor(nowMs / 1000) - Number(timestamp));
  if (skew > tolerance) return { ok: false, reason: 'timestamp_out_of_tolerance', detail: `webhook-timestamp is ${skew} s from now (tolerance ${tolerance} s)` };
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  const expectedFor = (s: string) => `v1,${createHmac('sha256', secretKey(s)).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
  const index = firstMatch(toSecrets(secret), expectedFor, given);
  return index >= 0 ? { ok: true, secretIndex: index } : { ok: false, reason: 'no_matching_signature', detail: 'no webhook-signature entry matches the secret(s)' };
}

/** AXME: `X-Axme-Signature: sha256=<hex HMAC-SHA256(key, body)>` (lowercase hex). */
export function verifyAxmeSignature(secret: string | readonly string[], headers: HeaderBag, rawBody: string | Buffer): VerifyResult {
  const signature = headerValue(headers, 'x-axme-signature');
  if (!signature) return { ok: false, reason: 'missing_header', detail: 'X-Axme-Signature is required' };
  const given = entries(signature).filter((e) => e.startsWith('sha256='));
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  const expectedFor = (s: string) => `sha256=${createHmac('sha256', secretKey(s)).update(body).digest('hex')}`;
  const index = firstMatch(toSecrets(secret), expectedFor, given);
  return index >= 0 ? { ok: true, secretIndex: index } : { ok: false, reason: 'no_matching_signature', detail: 'no X-Axme-Signature entry matches the secret(s)' };
}
