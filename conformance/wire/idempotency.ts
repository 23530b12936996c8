// The kit's model of "the same create body" for an Idempotency-Key (IDEM-*), independent of the
// reference server: the parsed bodies compared as canonical JSON (RFC 8785 style: object keys in
// UTF-16 code-unit order, numbers and strings as ECMAScript JSON.stringify writes them), without
// correlation_id. Strings are compared as given: no Unicode normalisation.

/** Fields left out of the comparison: the public SDK sends a fresh correlation_id on every retry. */
export const IGNORED_FIELDS: readonly string[] = ['correlation_id'];

export function canonicalize(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const record = value as Record<string, unknown>;
    return `{${keys.filter((k) => record[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalize(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The canonical text an Idempotency-Key fingerprint is taken over (body parsed first when a string). */
export function comparableBody(body: unknown): string {
  const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return canonicalize(parsed);
  const kept = Object.entries(parsed as Record<string, unknown>).filter(([k]) => !IGNORED_FIELDS.includes(k));
  return canonicalize(Object.fromEntries(kept));
}

/** Raw JSON text or parsed values: 'replay' when a repeat with the same key must replay, else 'conflict'. */
export function sameCreateBody(a: unknown, b: unknown): 'replay' | 'conflict' {
  return comparableBody(a) === comparableBody(b) ? 'replay' : 'conflict';
}
