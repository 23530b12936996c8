// DLV-013: delay before attempt n+1 after failed attempt n =
// min(max_delay_ms, initial_delay_ms * multiplier^(n-1)) * a random factor in [0.8, 1.2].

export interface BackoffPolicy {
  initial_delay_ms: number;
  max_delay_ms: number;
  multiplier: number;
}

export const JITTER = 0.2;

/** The undithered delay after the given failed attempt (1-based). */
export function baseDelayMs(policy: BackoffPolicy, failedAttempt: number): number {
  return Math.min(policy.max_delay_ms, policy.initial_delay_ms * policy.multiplier ** (failedAttempt - 1));
}

/** The interval every conforming delay after `failedAttempt` lies in. */
export function delayBoundsMs(policy: BackoffPolicy, failedAttempt: number): { min: number; max: number } {
  const base = baseDelayMs(policy, failedAttempt);
  return { min: base * (1 - JITTER), max: base * (1 + JITTER) };
}

/** One delay drawn from the bounds; `random` in [0, 1) is injectable for tests. */
export function nextDelayMs(policy: BackoffPolicy, failedAttempt: number, random: () => number = Math.random): number {
  const { min, max } = delayBoundsMs(policy, failedAttempt);
  return Math.round(min + (max - min) * random());
}

/**
 * DLV-015: a Retry-After answer moves the next attempt to what the receiver asked for, kept within
 * [the policy's jittered minimum, max_delay_ms].
 */
export function honourRetryAfter(policy: BackoffPolicy, failedAttempt: number, retryAfterMs: number, random: () => number = Math.random): number {
  const lower = delayBoundsMs(policy, failedAttempt).min;
  if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) return nextDelayMs(policy, failedAttempt, random);
  return Math.round(Math.min(policy.max_delay_ms, Math.max(lower, retryAfterMs)));
}

// RFC 9110 HTTP-date: IMF-fixdate, or the obsolete RFC 850 / asctime forms (asctime is GMT without saying so).
const HTTP_DATE_FORMS = [
  /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]+day, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
];
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** Parses a Retry-After header (delta-seconds or HTTP-date) into milliseconds from `nowMs`. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Date.parse alone accepts almost anything ("2030-01-01", "-5"); only an HTTP-date counts.
  const httpDate = HTTP_DATE_FORMS.some((form) => form.test(trimmed)) ? trimmed : ASCTIME.test(trimmed) ? `${trimmed} GMT` : undefined;
  if (httpDate === undefined) return undefined;
  const date = Date.parse(httpDate);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
