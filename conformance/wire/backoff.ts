// The kit's model of retry timing (DLV-013..DLV-016), independent of the reference server:
// delay after failed attempt n = min(max_delay_ms, initial_delay_ms × multiplier^(n−1)) × [0.8, 1.2];
// a Retry-After answer is honoured, clamped to [that minimum, max_delay_ms]; 410 stops retrying.

export interface RetryPolicy {
  initial_delay_ms: number;
  max_delay_ms: number;
  multiplier: number;
}

export interface DelayBounds {
  /** The delay before jitter (d). */
  base: number;
  min: number;
  max: number;
}

export const JITTER_LOW = 0.8;
export const JITTER_HIGH = 1.2;
/** Implementations may schedule in whole milliseconds, so a delay may sit this far outside the exact bounds. */
export const ROUNDING_TOLERANCE_MS = 0.5;

/** The interval every conforming delay after failed attempt `failedAttempt` (1-based) lies in. */
export function allowedDelayBounds(policy: RetryPolicy, failedAttempt: number): DelayBounds {
  const base = Math.min(policy.max_delay_ms, policy.initial_delay_ms * Math.pow(policy.multiplier, failedAttempt - 1));
  return { base, min: base * JITTER_LOW, max: base * JITTER_HIGH };
}

/** Whether an observed delay lies in the bounds (with the whole-millisecond allowance and an extra slack). */
export function delayWithin(bounds: { min: number; max: number }, delayMs: number, slackMs = 0): boolean {
  return delayMs >= bounds.min - ROUNDING_TOLERANCE_MS - slackMs && delayMs <= bounds.max + ROUNDING_TOLERANCE_MS + slackMs;
}

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** An HTTP-date (RFC 9110: IMF-fixdate, or the obsolete RFC 850 and asctime forms) as epoch ms. */
export function parseHttpDate(value: string): number | undefined {
  const text = IMF_FIXDATE.test(value) || RFC850_DATE.test(value) ? value : ASCTIME_DATE.test(value) ? `${value} GMT` : undefined;
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * A Retry-After value (delta-seconds or HTTP-date) as milliseconds from `nowMs`; undefined when
 * absent or not valid (then the ordinary backoff applies). A past date is 0.
 */
export function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = parseHttpDate(value);
  return at === undefined ? undefined : Math.max(0, at - nowMs);
}

/**
 * DLV-015: the delay after a failed attempt whose answer carried Retry-After: exactly the asked
 * delay clamped to [0.8 × d, max_delay_ms] (min = max); without a valid one, the ordinary bounds.
 */
export function retryAfterBounds(policy: RetryPolicy, failedAttempt: number, header: string | undefined, nowMs: number): DelayBounds {
  const ordinary = allowedDelayBounds(policy, failedAttempt);
  const asked = retryAfterMs(header, nowMs);
  if (asked === undefined) return ordinary;
  const delay = Math.min(policy.max_delay_ms, Math.max(ordinary.min, asked));
  return { base: ordinary.base, min: delay, max: delay };
}

export type AttemptAnswer = number | 'timeout' | 'refused';
export type AttemptOutcome = 'acked' | 'retry' | 'stop' | 'exhausted';

/** What follows an http push attempt: 2xx acks; 410 stops at once; anything else retries until attempts run out. */
export function attemptOutcome(answer: AttemptAnswer, attempt: number, maxAttempts: number): AttemptOutcome {
  if (typeof answer === 'number' && answer >= 200 && answer < 300) return 'acked';
  if (answer === 410) return 'stop';
  return attempt >= maxAttempts ? 'exhausted' : 'retry';
}
