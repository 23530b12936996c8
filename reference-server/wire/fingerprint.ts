// IDEM-004: what "the same body" means for an Idempotency-Key: the request body as canonical JSON
// (object keys sorted, no insignificant white space), leaving out correlation_id, hashed with SHA-256.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Fields left out of the comparison, with why: the public SDK sends a fresh correlation_id on every retry. */
export const FINGERPRINT_IGNORED_FIELDS = ['correlation_id'] as const;

export function requestFingerprint(body: unknown, ignored: readonly string[] = FINGERPRINT_IGNORED_FIELDS): string {
  let subject = body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    subject = Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([k]) => !ignored.includes(k)));
  }
  return createHash('sha256').update(canonicalJson(subject)).digest('hex');
}
