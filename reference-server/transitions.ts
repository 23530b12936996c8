// Every status change of an intent goes through IntentTransitions.apply(), which asks lifecycle.ts
// whether the transition is allowed and appends exactly one event with the next seq in the same
// unit of work (LC-003, EVT-002). Whatever must follow an intent's end (its open delivery closed,
// a completion thread) registers a hook here, so this module needs nothing above it.
import { isTerminal, transition, type Operation } from './lifecycle.js';
import { Problem } from './errors.js';
import { isoAt, type Clock } from './clock.js';
import type { StoreTx } from './store/store.js';
import type { Notifier } from './notifier.js';
import type { Intent, IntentEvent, Json, WaitingReason } from './model.js';

export interface ApplyOptions {
  actor?: string;
  details?: Json;
  waitingReason?: WaitingReason;
  /** Fields set on the intent along with the status. */
  patch?: Partial<Intent>;
  /** Fields removed from the intent (e.g. error when a dead letter is redelivered). */
  clear?: (keyof Intent)[];
}

export interface Applied { intent: Intent; event: IntentEvent; extras: Json }

export type IntentHook = (tx: StoreTx, intent: Intent) => Promise<void>;
export type TerminalHook = (tx: StoreTx, intent: Intent, event: IntentEvent) => Promise<Json | void>;

export class IntentTransitions {
  private readonly terminalHooks: TerminalHook[] = [];
  private readonly reopenedHooks: IntentHook[] = [];

  constructor(private readonly clock: Clock, private readonly notifier: Notifier) {}

  /**
   * LC-009: runs in the unit that made the intent terminal, in registration order; a returned
   * object is merged into the write answer (reply_to completion threads).
   */
  onTerminal(hook: TerminalHook): void {
    this.terminalHooks.push(hook);
  }

  /**
   * LC-014: a redeliver takes an intent out of FAILED. Ending it cancelled every timer (LC-015),
   * so what still applies to a live intent is scheduled again (its deadline, LC-020).
   */
  onReopened(hook: IntentHook): void {
    this.reopenedHooks.push(hook);
  }

  async apply(tx: StoreTx, intent: Intent, operation: Operation, options: ApplyOptions = {}): Promise<Applied> {
    const result = transition(intent.status, operation);
    if (!result.ok) {
      throw new Problem(result.code, `cannot ${operation.replaceAll('_', ' ')} an intent in status ${intent.status}`);
    }
    const at = isoAt(this.clock.now());
    const next: Intent = { ...intent, ...options.patch, status: result.to, lifecycle_status: result.to, updated_at: at, last_seq: intent.last_seq + 1 };
    for (const key of options.clear ?? []) delete next[key];
    if (result.to === 'WAITING') next.waiting_reason = options.waitingReason ?? intent.waiting_reason ?? 'WAITING_FOR_AGENT';
    else delete next.waiting_reason;
    const terminal = isTerminal(result.to);
    if (terminal) next.pending_with = null;
    else if (next.pending_with === null) next.pending_with = next.to_agent;

    const event: IntentEvent = { intent_id: intent.intent_id, seq: next.last_seq, event_type: result.eventType, status: result.to, at };
    if (options.actor) event.actor = options.actor;
    if (next.waiting_reason && result.to === 'WAITING') event.waiting_reason = next.waiting_reason;
    if (options.details) event.details = options.details;

    await tx.updateIntent(next);
    await tx.appendEvent(event);
    tx.onCommit(() => this.notifier.emit(`intent:${intent.intent_id}`));

    let extras: Json = {};
    if (terminal) {
      // LC-009, LC-015: nothing happens to a terminal intent any more: no timers; the delivery
      // engine's hook closes its open delivery.
      await tx.cancelTimers(next.intent_id);
      for (const hook of this.terminalHooks) extras = { ...extras, ...(await hook(tx, next, event)) };
    } else if (isTerminal(intent.status)) {
      for (const hook of this.reopenedHooks) await hook(tx, next);
    }
    return { intent: next, event, extras };
  }
}
