// The kit's model of retry timing (DLV-013..DLV-016), independent of the reference server:
// delay after failed attempt n = min(max_delay_ms, initial_delay_ms × multiplier^(n−1)) × [0.8, 1.2];
// a Retry-After answer is honoured within [that minimum, max_delay_ms]; 410 stops retrying.

export interface RetryPolicy {
  initial_delay_ms: number;
  max_delay_ms: number;
  multiplier: number;
}

export interface DelayBounds {
  /** The undithered delay. */
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

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * A Retry-After value (RFC 9110: delay-seconds or IMF-fixdate) as milliseconds from `nowMs`;
 * undefined when absent or not valid (then the ordinary backoff applies). A past date is 0.
 */
export function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!IMF_FIXDATE.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The interval a conforming delay lies in when the failed attempt answered Retry-After: never sooner
 * than the receiver asked nor than the policy's minimum, never later than max_delay_ms. Waiting the
 * ordinary jittered delay is also fine when it is later than what was asked.
 */
export function retryAfterBounds(policy: RetryPolicy, failedAttempt: number, header: string | undefined, nowMs: number): DelayBounds {
  const ordinary = allowedDelayBounds(policy, failedAttempt);
  const asked = retryAfterMs(header, nowMs);
  if (asked === undefined) return ordinary;
  return {
    base: ordinary.base,
    min: Math.min(policy.max_delay_ms, Math.max(ordinary.min, asked)),
    max: Math.min(policy.max_delay_ms, Math.max(ordinary.max, asked)),
  };
}

export type AttemptAnswer = number | 'timeout' | 'refused';
export type AttemptOutcome = 'acked' | 'retry' | 'stop' | 'exhausted';

/** What follows an http push attempt: 2xx acks; 410 stops at once; anything else retries until attempts run out. */
export function attemptOutcome(answer: AttemptAnswer, attempt: number, maxAttempts: number): AttemptOutcome {
  if (typeof answer === 'number' && answer >= 200 && answer < 300) return 'acked';
  if (answer === 410) return 'stop';
  return attempt >= maxAttempts ? 'exhausted' : 'retry';
}
