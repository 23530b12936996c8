// The property model in real time: what a receive may hand out is judged on the server clock when
// its answer arrived, not when the request left. The counterexample PROP-003 once reported on every
// real-time run (a 1 s lease running out during a 3 s long poll, the retry in that poll called "a
// delivery that must not be") as a model-level regression; PROP-104 replays it against a server.
import { describe, expect, it } from 'vitest';
import { deliverability, type WireEvent } from '../conformance/properties/model.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const ev = (seq: number, event_type: string, status: WireEvent['status'], ms: number, details?: Record<string, unknown>): WireEvent => ({ intent_id: 'i', seq, event_type, status, at: at(ms), details });

// Sent, then delivered by a poll at +10 ms with a 1 s lease.
const delivered: WireEvent[] = [
  ev(1, 'intent.created', 'CREATED', 0),
  ev(2, 'intent.submitted', 'SUBMITTED', 0),
  ev(3, 'intent.delivered', 'DELIVERED', 10, { delivery_id: 'd1', attempt: 1 }),
];
const leases = new Map([['d1', T0 + 1_010]]);
const minRetryDelayMs = 160;

describe('deliverability in real time', () => {
  it('a retry is not allowed before the lease and the backoff ran out', () => {
    expect(deliverability(delivered, 2, leases, { low: T0 + 20, high: T0 + 30 }, minRetryDelayMs)).toBe('must-not');
  });

  it('a long poll whose answer arrives after the lease and the backoff ran out may carry the retry', () => {
    // Window from when the 3 s poll left (+20 ms) to when its answer arrived (+1 220 ms).
    expect(deliverability(delivered, 2, leases, { low: T0 + 20, high: T0 + 1_220 }, minRetryDelayMs)).toBe('may');
  });

  it('the last attempt is never retried, however long the poll', () => {
    expect(deliverability(delivered, 1, leases, { low: T0 + 20, high: T0 + 60_000 }, minRetryDelayMs)).toBe('must-not');
  });

  it('a retry whose announced time passed before the request left must be delivered', () => {
    const failed = [...delivered, ev(4, 'intent.delivery_attempt', 'DELIVERED', 1_010, { attempt: 1, error: 'lease_expired', next_attempt_at: at(1_210) })];
    expect(deliverability(failed, 2, leases, { low: T0 + 1_300, high: T0 + 1_400 }, minRetryDelayMs)).toBe('must');
    expect(deliverability(failed, 2, leases, { low: T0 + 1_100, high: T0 + 1_400 }, minRetryDelayMs)).toBe('may');
  });
});
