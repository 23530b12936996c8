// Strategy points: decisions a deployment may want to make its own (a gentler retry schedule, an
// idempotency scope shared by a tenant's agents, a delegation rule). buildServer takes them in
// BuildServerOptions.seams.policies; these defaults are what the spec requires.
import { nextDelayMs, type BackoffPolicy } from './wire/backoff.js';
import { requestFingerprint } from './wire/fingerprint.js';
import { IDEMPOTENCY_TTL_SECONDS } from './limits.js';
import type { Caller, Intent } from './model.js';

export interface RetryPolicy {
  /** DLV-013: the delay before the attempt after `failedAttempt` (1-based) failed. */
  delayMs(policy: BackoffPolicy, failedAttempt: number): number;
}

export interface IdempotencyPolicy {
  /** IDEM-005: how long a key is remembered. */
  ttlMs: number;
  /** IDEM-002: the space a key is unique in. */
  scope(caller: Caller, operation: string): string;
  /** IDEM-004: two requests with one key are the same request when their fingerprints are equal. */
  fingerprint(body: unknown): string;
}

/** What a caller wants to do with an intent. */
export type IntentOperation = 'read' | 'ack' | 'result' | 'cancel';

/** allow; forbidden (403: the caller may know the intent); hidden (404: existence is not leaked). */
export type AccessDecision = 'allow' | 'forbidden' | 'hidden';

export interface AccessPolicy {
  decide(caller: Caller, intent: Intent, operation: IntentOperation): AccessDecision;
}

export interface ServerPolicies {
  retry: RetryPolicy;
  idempotency: IdempotencyPolicy;
  access: AccessPolicy;
}

export const isReceiver = (intent: Intent, address: string): boolean => intent.to_agent === address || intent.escalate_to === address;

/**
 * SEC-010: sender, receiver or admin may read; only the receiver (or admin) acks and reports a
 * result; the sender (or admin) cancels. Strangers are not told the intent exists.
 */
export const specAccess: AccessPolicy = {
  decide(caller, intent, operation) {
    if (caller.admin) return 'allow';
    const receiver = isReceiver(intent, caller.address);
    if (intent.from_agent !== caller.address && !receiver) return 'hidden';
    if (operation === 'read') return 'allow';
    if (operation === 'cancel') return intent.from_agent === caller.address ? 'allow' : 'forbidden';
    return receiver ? 'allow' : 'forbidden';
  },
};

export const specRetry: RetryPolicy = { delayMs: (policy, failedAttempt) => nextDelayMs(policy, failedAttempt) };

export const specIdempotency: IdempotencyPolicy = {
  ttlMs: IDEMPOTENCY_TTL_SECONDS * 1000,
  scope: (caller, operation) => `${caller.address} ${operation}`,
  fingerprint: (body) => requestFingerprint(body ?? {}),
};

export const SPEC_POLICIES: ServerPolicies = { retry: specRetry, idempotency: specIdempotency, access: specAccess };

export function withPolicies(overrides: Partial<ServerPolicies> = {}): ServerPolicies {
  return { ...SPEC_POLICIES, ...overrides };
}
