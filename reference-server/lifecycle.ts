// The intent lifecycle as one pure state machine (spec/04-lifecycle.md). Every write on an intent
// goes through transition(); nothing else in the server decides what status comes next.

export const STATUSES = [
  'CREATED', 'SUBMITTED', 'DELIVERED', 'ACKNOWLEDGED', 'IN_PROGRESS', 'WAITING',
  'COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT',
] as const;
export type Status = (typeof STATUSES)[number];

export const TERMINAL_STATUSES: readonly Status[] = ['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT'];

export function isTerminal(status: Status): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export const OPERATIONS = [
  'accept', 'deliver', 'attempt_failed', 'ack', 'assign_human', 'progress', 'wait',
  'complete', 'fail', 'cancel', 'time_out', 'delivery_failed', 'remind', 'escalate', 'redeliver',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export type LifecycleEventType =
  | 'intent.created' | 'intent.submitted' | 'intent.delivered' | 'intent.acknowledged'
  | 'intent.in_progress' | 'intent.waiting' | 'intent.completed' | 'intent.failed'
  | 'intent.canceled' | 'intent.timed_out' | 'intent.delivery_attempt' | 'intent.delivery_failed'
  | 'intent.reminder' | 'intent.escalated' | 'intent.human_task_assigned';

export type TransitionResult =
  | { ok: true; to: Status; eventType: LifecycleEventType }
  | { ok: false; code: 'intent_terminal' | 'illegal_transition' };

type Rule = { from: readonly Status[] | 'non-terminal'; to: Status | 'same'; eventType: LifecycleEventType };

const ACTIVE: readonly Status[] = ['SUBMITTED', 'DELIVERED', 'ACKNOWLEDGED', 'IN_PROGRESS', 'WAITING'];

// LC-005..LC-012: the state table. 'same' means the status does not change but an event is appended.
const RULES: Record<Operation, Rule> = {
  accept: { from: ['CREATED'], to: 'SUBMITTED', eventType: 'intent.submitted' },
  deliver: { from: ['SUBMITTED', 'DELIVERED'], to: 'DELIVERED', eventType: 'intent.delivered' },
  attempt_failed: { from: ['SUBMITTED', 'DELIVERED'], to: 'same', eventType: 'intent.delivery_attempt' },
  ack: { from: ['DELIVERED'], to: 'ACKNOWLEDGED', eventType: 'intent.acknowledged' },
  assign_human: { from: ['DELIVERED'], to: 'WAITING', eventType: 'intent.human_task_assigned' },
  progress: { from: ACTIVE, to: 'IN_PROGRESS', eventType: 'intent.in_progress' },
  wait: { from: ACTIVE, to: 'WAITING', eventType: 'intent.waiting' },
  complete: { from: 'non-terminal', to: 'COMPLETED', eventType: 'intent.completed' },
  fail: { from: 'non-terminal', to: 'FAILED', eventType: 'intent.failed' },
  cancel: { from: 'non-terminal', to: 'CANCELED', eventType: 'intent.canceled' },
  time_out: { from: 'non-terminal', to: 'TIMED_OUT', eventType: 'intent.timed_out' },
  delivery_failed: { from: ['SUBMITTED', 'DELIVERED'], to: 'FAILED', eventType: 'intent.delivery_failed' },
  remind: { from: ACTIVE, to: 'same', eventType: 'intent.reminder' },
  escalate: { from: ACTIVE, to: 'same', eventType: 'intent.escalated' },
  // LC-014: the one way out of a terminal status: an admin redelivers a dead-lettered intent.
  redeliver: { from: ['FAILED'], to: 'SUBMITTED', eventType: 'intent.submitted' },
};

export function transition(from: Status, operation: Operation): TransitionResult {
  const rule = RULES[operation];
  const allowed = rule.from === 'non-terminal' ? !isTerminal(from) : rule.from.includes(from);
  if (!allowed) {
    // LC-009: terminal is final; a write on a terminal intent is 'intent_terminal', not 'illegal'.
    return { ok: false, code: isTerminal(from) && operation !== 'redeliver' ? 'intent_terminal' : 'illegal_transition' };
  }
  return { ok: true, to: rule.to === 'same' ? from : rule.to, eventType: rule.eventType };
}
