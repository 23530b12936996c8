// The kit's own model of the intent lifecycle (spec/04-lifecycle.md, LC-*), written from the spec's
// state table and independent of the reference server. Cases use it to predict what a write must do.

export const STATUSES = [
  'CREATED', 'SUBMITTED', 'DELIVERED', 'ACKNOWLEDGED', 'IN_PROGRESS', 'WAITING',
  'COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT',
] as const;
export type Status = (typeof STATUSES)[number];

export const TERMINAL_STATUSES = ['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT'] as const satisfies readonly Status[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export function isTerminalStatus(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export const OPERATIONS = [
  'accept', 'deliver', 'attempt_failed', 'ack', 'assign_human', 'progress', 'wait',
  'complete', 'fail', 'cancel', 'time_out', 'delivery_failed', 'remind', 'escalate', 'redeliver',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The event each successful operation appends (one event per transition, LC-*). */
export const EVENT_OF: Record<Operation, string> = {
  accept: 'intent.submitted',
  deliver: 'intent.delivered',
  attempt_failed: 'intent.delivery_attempt',
  ack: 'intent.acknowledged',
  assign_human: 'intent.human_task_assigned',
  progress: 'intent.in_progress',
  wait: 'intent.waiting',
  complete: 'intent.completed',
  fail: 'intent.failed',
  cancel: 'intent.canceled',
  time_out: 'intent.timed_out',
  delivery_failed: 'intent.delivery_failed',
  remind: 'intent.reminder',
  escalate: 'intent.escalated',
  redeliver: 'intent.submitted',
};

export type ExpectedTransition =
  | { ok: true; next: Status; eventType: string }
  | { ok: false; code: 'intent_terminal' | 'illegal_transition' };

const ENDINGS: Partial<Record<Operation, Status>> = {
  complete: 'COMPLETED', fail: 'FAILED', cancel: 'CANCELED', time_out: 'TIMED_OUT',
};

// Per status: the operations it allows and where each leads (ENDINGS apply to every non-terminal
// status and are added below). 'stay' = an event is appended but the status does not change.
const ALLOWED: Record<Status, Partial<Record<Operation, Status | 'stay'>>> = {
  CREATED: { accept: 'SUBMITTED' },
  // An http handler may resume before its 2xx arrives, so progress/wait are allowed pre-delivery.
  SUBMITTED: {
    deliver: 'DELIVERED', attempt_failed: 'stay', delivery_failed: 'FAILED',
    progress: 'IN_PROGRESS', wait: 'WAITING', remind: 'stay', escalate: 'stay',
  },
  // A redelivery (lease expiry, retry) appends another intent.delivered and stays DELIVERED.
  DELIVERED: {
    deliver: 'DELIVERED', attempt_failed: 'stay', delivery_failed: 'FAILED', ack: 'ACKNOWLEDGED',
    assign_human: 'WAITING', progress: 'IN_PROGRESS', wait: 'WAITING', remind: 'stay', escalate: 'stay',
  },
  ACKNOWLEDGED: { progress: 'IN_PROGRESS', wait: 'WAITING', remind: 'stay', escalate: 'stay' },
  IN_PROGRESS: { progress: 'IN_PROGRESS', wait: 'WAITING', remind: 'stay', escalate: 'stay' },
  WAITING: { progress: 'IN_PROGRESS', wait: 'WAITING', remind: 'stay', escalate: 'stay' },
  COMPLETED: {},
  // LC-014: the one way out of a terminal status: an admin redelivers a dead-lettered intent.
  FAILED: { redeliver: 'SUBMITTED' },
  CANCELED: {},
  TIMED_OUT: {},
};

/** What a conforming server must do when `operation` is applied to an intent in `status`. */
export function expectedTransition(status: Status, operation: Operation): ExpectedTransition {
  const target = isTerminalStatus(status) ? ALLOWED[status][operation] : (ALLOWED[status][operation] ?? ENDINGS[operation]);
  if (target !== undefined) return { ok: true, next: target === 'stay' ? status : target, eventType: EVENT_OF[operation] };
  // A redeliver that does not apply is illegal (it is not a write on the intent's outcome);
  // every other write on a terminal intent is refused as intent_terminal (LC-009).
  if (isTerminalStatus(status) && operation !== 'redeliver') return { ok: false, code: 'intent_terminal' };
  return { ok: false, code: 'illegal_transition' };
}
