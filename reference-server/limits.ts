// Every limit, default and version the server has, in one place: the capabilities document
// (CAP-003) is built from these, so what is advertised is what is enforced.

export const SERVER_NAME = 'axp-reference-server';
export const SERVER_VERSION = '0.1.0';
export const PROTOCOL_VERSION = 'axp/1';

/** INT-010: the serialized payload limit, checked before the schema. */
export const MAX_PAYLOAD_BYTES = 131072;
/** IDEM-005: how long an Idempotency-Key is remembered (at least 24 h). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** SSE-004, POLL-002: how long an SSE response or a long poll stays open without wait_seconds. */
export const DEFAULT_WAIT_SECONDS = 15;
export const MAX_WAIT_SECONDS = 60;
/** POLL-003: deliveries one poll hands out without a limit. */
export const DEFAULT_POLL_LIMIT = 10;
/** INT-021: intents per page of a list without a limit. */
export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 500;
/** STR-001: deliveries one stream claim hands out at most. */
export const STREAM_CLAIM_BATCH = 32;

/** SSE-006: seconds between keepalive comments, at most 15. */
export const DEFAULT_KEEPALIVE_SECONDS = 15;
/** SSE-013: bytes an SSE response may buffer before a slow consumer is cut. */
export const DEFAULT_SSE_HIGH_WATER_MARK = 1024 * 1024;
/** The smallest lease_seconds accepted at registration (advertised). */
export const DEFAULT_MIN_LEASE_SECONDS = 0.05;
/** HTTP-012: how long a rotated-out signing secret keeps signing beside the new one. */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** An agent's delivery policy where its registration leaves a field out (AGT-006). */
export const POLICY_DEFAULTS = {
  max_delivery_attempts: 3, initial_delay_ms: 1000, max_delay_ms: 60000, multiplier: 2, lease_seconds: 30,
} as const;
export const HTTP_POLICY_DEFAULTS = { timeout_ms: 15000, max_concurrency: 8 } as const;

/** The advertised ranges of the delivery-policy fields (AGT-020..AGT-023) and wait_seconds. */
export const POLICY_RANGES = {
  wait_seconds: { min: 0, max: MAX_WAIT_SECONDS, default: DEFAULT_WAIT_SECONDS },
  lease_seconds: { max: 3600, default: POLICY_DEFAULTS.lease_seconds },
  initial_delay_ms: { min: 1, max: 3600000, default: POLICY_DEFAULTS.initial_delay_ms },
  max_delay_ms: { min: 1, max: 86400000, default: POLICY_DEFAULTS.max_delay_ms },
  timeout_ms: { min: 1, max: 120000, default: HTTP_POLICY_DEFAULTS.timeout_ms },
  max_delivery_attempts: { min: 1, max: 20, default: POLICY_DEFAULTS.max_delivery_attempts },
} as const;
