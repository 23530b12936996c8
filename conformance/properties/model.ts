// The kit's model of lifecycle and delivery semantics, built on model/lifecycle.ts: what an
// intent's event history may look like (state table, seq, attempts, timers), what the intent
// object must say about it, and what a receive may or must hand out. Written from spec/ chapters
// 4, 5 and 6; the server is never consulted for what is right.
import { expectedTransition, isTerminalStatus, STATUSES, type Operation, type Status } from '../model/lifecycle.js';

export interface WireEvent {
  intent_id: string;
  seq: number;
  event_type: string;
  status: Status;
  at: string;
  waiting_reason?: string;
  details?: Record<string, unknown> | null;
}

export interface WireDelivery {
  intent_id: string;
  seq: number;
  delivery_id: string;
  attempt: number;
  lease_expires_at: string;
  [field: string]: unknown;
}

export type WireIntent = Record<string, unknown> & { intent_id: string; status: Status };

/** Which operation of the state table an event records (LC-005, LC-006). */
export function operationOf(event: WireEvent, index: number): Operation | undefined {
  const byType: Record<string, Operation> = {
    'intent.delivered': 'deliver', 'intent.delivery_attempt': 'attempt_failed', 'intent.acknowledged': 'ack',
    'intent.human_task_assigned': 'assign_human', 'intent.in_progress': 'progress', 'intent.waiting': 'wait',
    'intent.completed': 'complete', 'intent.failed': 'fail', 'intent.canceled': 'cancel', 'intent.timed_out': 'time_out',
    'intent.delivery_failed': 'delivery_failed', 'intent.reminder': 'remind', 'intent.escalated': 'escalate',
  };
  if (event.event_type === 'intent.submitted') return index === 1 ? 'accept' : 'redeliver';
  return byType[event.event_type];
}

/** Events a server appends on its own, from timers (never in answer to a kit write). */
export const TIMER_EVENTS = new Set(['intent.delivery_attempt', 'intent.delivery_failed', 'intent.timed_out', 'intent.reminder', 'intent.escalated']);

const ms = (iso: unknown): number => (typeof iso === 'string' ? Date.parse(iso) : NaN);

/** One delivery attempt as the events tell it. */
export interface AttemptView {
  deliveryId?: string;
  attempt: number;
  /** The failure of this attempt (its intent.delivery_attempt), when recorded. */
  failedAt?: number;
  nextAttemptAt?: number | null;
  closed: boolean;
}

/** What an intent's history says now: status, the current round's attempts, the open delivery. */
export interface IntentView {
  status: Status;
  lastSeq: number;
  attempts: AttemptView[];
  deliveryFailed: boolean;
}

export function viewOf(events: readonly WireEvent[]): IntentView {
  let attempts: AttemptView[] = [];
  let deliveryFailed = false;
  events.forEach((e, i) => {
    const last = attempts.at(-1);
    const op = operationOf(e, i);
    if (op === 'redeliver') {
      attempts = [];
      deliveryFailed = false;
    } else if (op === 'deliver') {
      const d = e.details ?? {};
      attempts.push({ deliveryId: typeof d.delivery_id === 'string' ? d.delivery_id : undefined, attempt: Number(d.attempt ?? attempts.length + 1), closed: false });
    } else if (op === 'attempt_failed' && last) {
      last.failedAt = ms(e.at);
      last.nextAttemptAt = e.details?.next_attempt_at == null ? null : ms(e.details.next_attempt_at);
      last.closed = true;
    } else if (op === 'delivery_failed') {
      deliveryFailed = true;
    } else if (last && op && ['ack', 'progress', 'wait', 'complete', 'fail', 'cancel', 'time_out', 'assign_human'].includes(op)) {
      last.closed = true;
    }
  });
  return { status: events.at(-1)?.status ?? 'CREATED', lastSeq: events.at(-1)?.seq ?? 0, attempts, deliveryFailed };
}

export interface HistoryContext {
  /** The intent's effective max_delivery_attempts. */
  maxAttempts: number;
  /** Leases the kit saw on deliveries, by delivery_id (to check that no lease expired early). */
  leases: ReadonlyMap<string, number>;
  deadlineMs?: number;
}

/**
 * Problems with an intent's whole history (EVT-002, LC-003, LC-005, LC-006, LC-009, LC-014,
 * DLV-004, DLV-014, DLV-019, DLV-020, DLV-025, EVT-004, LC-020). Empty when it is a history a
 * conforming server could have written.
 */
export function historyProblems(intentId: string, events: readonly WireEvent[], hc: HistoryContext): string[] {
  const problems: string[] = [];
  const say = (text: string) => problems.push(text);
  events.forEach((e, i) => {
    if (e.seq !== i + 1) say(`event #${i + 1} has seq ${e.seq}: seq must run 1, 2, 3… with no gap or duplicate (EVT-002)`);
    if (e.intent_id !== intentId) say(`event seq ${e.seq} names intent ${e.intent_id} (EVT-001)`);
    if (!(STATUSES as readonly string[]).includes(e.status)) say(`event seq ${e.seq} has status ${String(e.status)} (LC-001)`);
  });
  if (events[0]?.event_type !== 'intent.created' || events[0]?.status !== 'CREATED') say('the first event must be intent.created with status CREATED (LC-003)');
  if (events[1]?.event_type !== 'intent.submitted' || events[1]?.status !== 'SUBMITTED') say('the second event must be intent.submitted with status SUBMITTED (LC-003)');

  let status: Status = 'CREATED';
  let roundAttempt = 0;
  let lastDelivered: { attempt: number; deliveryId?: string; at: number } | undefined;
  let lastFailure: { attempt: number; next: number | null } | undefined;
  for (let i = 1; i < events.length; i++) {
    const e = events[i];
    const op = operationOf(e, i);
    const where = `event seq ${e.seq} (${e.event_type})`;
    if (!op) {
      say(`${where}: not an event type of the spec (EVT-001)`);
      continue;
    }
    const t = expectedTransition(status, op);
    if (!t.ok) say(`${where} after status ${status}: the state table refuses this (${t.code}) (LC-005${isTerminalStatus(status) ? ', LC-009: terminal is final' : ''})`);
    else if (t.next !== e.status) say(`${where}: status ${e.status}, the state table gives ${t.next} after ${status} (LC-006)`);
    if (op === 'redeliver' && e.details?.redelivery !== true) say(`${where}: a reopening intent.submitted must carry details.redelivery = true (LC-014)`);
    const at = ms(e.at);
    if (op === 'redeliver') {
      roundAttempt = 0;
      lastDelivered = undefined;
      lastFailure = undefined;
    } else if (op === 'deliver') {
      const attempt = Number(e.details?.attempt ?? roundAttempt + 1);
      if (attempt !== roundAttempt + 1) say(`${where}: attempt ${attempt} after attempt ${roundAttempt}: attempts rise by one (DLV-004)`);
      if (attempt > hc.maxAttempts) say(`${where}: attempt ${attempt} beyond max_delivery_attempts ${hc.maxAttempts} (DLV-019)`);
      if (lastFailure?.next != null && at < lastFailure.next) say(`${where}: issued at ${e.at}, before the failed attempt's next_attempt_at (DLV-014)`);
      if (lastFailure && lastFailure.next === null) say(`${where}: a delivery after the last attempt failed with next_attempt_at null (DLV-020)`);
      roundAttempt = attempt;
      lastDelivered = { attempt, deliveryId: typeof e.details?.delivery_id === 'string' ? e.details.delivery_id : undefined, at };
      lastFailure = undefined;
    } else if (op === 'attempt_failed') {
      const attempt = Number(e.details?.attempt);
      if (attempt !== roundAttempt) say(`${where}: details.attempt ${String(e.details?.attempt)}, the failed attempt is ${roundAttempt} (EVT-004)`);
      const next = e.details?.next_attempt_at;
      if (attempt >= hc.maxAttempts && next !== null) say(`${where}: the last attempt failed, next_attempt_at must be null (DLV-020)`);
      if (attempt < hc.maxAttempts && next == null) say(`${where}: attempt ${attempt} of ${hc.maxAttempts} failed with no next_attempt_at (EVT-004)`);
      const lease = lastDelivered?.deliveryId ? hc.leases.get(lastDelivered.deliveryId) : undefined;
      if (e.details?.error === 'lease_expired' && lease !== undefined && at < lease) say(`${where}: lease counted as expired at ${e.at}, before its lease_expires_at (DLV-025)`);
      lastFailure = { attempt, next: next == null ? null : ms(next) };
    } else if (op === 'delivery_failed') {
      if (!lastFailure || lastFailure.next !== null) say(`${where}: delivery_failed must follow the last attempt's intent.delivery_attempt with next_attempt_at null (DLV-020)`);
    } else if (op === 'time_out') {
      if (hc.deadlineMs !== undefined && at < hc.deadlineMs) say(`${where}: timed out at ${e.at}, before deadline_at (LC-020)`);
    }
    if (t.ok) status = t.next;
  }
  return problems;
}

/** Problems with the intent object against its own history (INT-013, INT-015..017, LC-002, LC-016, DLV-020). */
export function intentProblems(intent: WireIntent, events: readonly WireEvent[]): string[] {
  const problems: string[] = [];
  const last = events.at(-1);
  const view = viewOf(events);
  if (!last) return ['the intent has no events (LC-003)'];
  if (intent.status !== last.status) problems.push(`intent status ${intent.status} but its last event (seq ${last.seq}, ${last.event_type}) says ${last.status}`);
  if (intent.lifecycle_status !== intent.status) problems.push(`lifecycle_status ${String(intent.lifecycle_status)} differs from status ${intent.status} (INT-013)`);
  if (intent.last_seq !== undefined && intent.last_seq !== last.seq) problems.push(`last_seq ${String(intent.last_seq)} but the latest event is seq ${last.seq} (INT-017)`);
  if ((intent.status === 'WAITING') !== (intent.waiting_reason != null)) problems.push(`waiting_reason ${String(intent.waiting_reason)} with status ${intent.status} (LC-002)`);
  const currentAttempt = view.attempts.at(-1)?.attempt ?? 0;
  if (intent.delivery_attempt !== undefined && intent.delivery_attempt !== currentAttempt) problems.push(`delivery_attempt ${String(intent.delivery_attempt)} but the round's latest attempt is ${currentAttempt} (INT-016, DLV-004)`);
  if (isTerminalStatus(intent.status) && intent.pending_with != null) problems.push(`a terminal intent must have pending_with null (INT-015), got ${String(intent.pending_with)}`);
  const error = intent.error as { code?: unknown } | undefined;
  if (intent.status === 'COMPLETED' && (typeof intent.result !== 'object' || intent.result === null)) problems.push('a COMPLETED intent must carry a result object (LC-016)');
  if (intent.status === 'FAILED' && !(typeof error?.code === 'string' && error.code.length > 0)) problems.push('a FAILED intent must carry error.code (LC-016)');
  if (intent.status === 'FAILED' && view.deliveryFailed && last.event_type === 'intent.delivery_failed' && error?.code !== 'delivery_failed') {
    problems.push(`an intent FAILED by exhausted attempts must carry error.code delivery_failed, got ${String(error?.code)} (DLV-020)`);
  }
  return problems;
}

/**
 * The server's clock as the kit can know it: never earlier than the latest server time it saw
 * (clocks do not go back, CLK-005), never later than that plus the real time since (a test clock
 * only moves when the kit advances it; a real one moves at real speed).
 */
export class ServerTime {
  private seen = -Infinity;
  private anchor: { server: number; local: number } | undefined;

  /** A server timestamp from an answer whose request was sent at `sentLocal` (performance.now()). */
  observe(iso: unknown, sentLocal: number): void {
    const server = ms(iso);
    if (!Number.isFinite(server)) return;
    if (server > this.seen) this.seen = server;
    const bound = { server, local: sentLocal };
    if (!this.anchor || bound.server - bound.local >= this.anchor.server - this.anchor.local) this.anchor = bound;
  }

  /** After a test-clock advance answered with `now`: the clock is exactly there. */
  reset(iso: unknown, sentLocal: number): void {
    this.seen = -Infinity;
    this.anchor = undefined;
    this.observe(iso, sentLocal);
  }

  window(): { low: number; high: number } {
    const high = this.anchor ? this.anchor.server + (performance.now() - this.anchor.local) : Infinity;
    return { low: this.seen, high: Math.max(high, this.seen) };
  }
}

export type Deliverability = 'must' | 'may' | 'must-not';

/**
 * Whether a receive now must, may or must not issue a new delivery of this intent (DLV-006,
 * DLV-025, DLV-030, LC-015), given the leases the kit saw and the clock window.
 */
export function deliverability(events: readonly WireEvent[], maxAttempts: number, leases: ReadonlyMap<string, number>, now: { low: number; high: number }, minRetryDelayMs: number): Deliverability {
  const view = viewOf(events);
  if (isTerminalStatus(view.status) || view.deliveryFailed) return 'must-not';
  const last = view.attempts.at(-1);
  if (!last) return view.status === 'SUBMITTED' ? 'must' : 'must-not';
  if (!['SUBMITTED', 'DELIVERED'].includes(view.status)) return 'must-not';
  if (last.failedAt === undefined) {
    if (last.closed) return 'must-not';
    // Open delivery: its lease must expire and the backoff pass before a new attempt.
    const lease = last.deliveryId ? leases.get(last.deliveryId) : undefined;
    if (lease === undefined) return 'may';
    if (last.attempt >= maxAttempts) return 'must-not';
    return lease + minRetryDelayMs <= now.high ? 'may' : 'must-not';
  }
  if (last.nextAttemptAt == null) return 'must-not';
  if (last.nextAttemptAt <= now.low) return 'must';
  return last.nextAttemptAt <= now.high ? 'may' : 'must-not';
}
