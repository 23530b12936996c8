// Every status change of an intent goes through IntentService.apply(), which asks lifecycle.ts
// whether the transition is allowed and appends exactly one event with the next seq in the same
// unit of work (LC-003, EVT-002).
import { randomUUID } from 'node:crypto';
import { timeOrderedId } from './ids.js';
import { isTerminal, transition, type Operation } from './lifecycle.js';
import { Problem } from './errors.js';
import { isoAt, type Clock } from './clock.js';
import type { StoreTx } from './store/store.js';
import type { Notifier } from './notifier.js';
import type { DeliveryEngine } from './delivery/engine.js';
import type { AgentRecord, Caller, Intent, IntentEvent, Json, WaitingReason } from './model.js';
import { POLICY_DEFAULTS, actorOf } from './model.js';
import { NO_FAULTS, type FaultSet } from './faults.js';

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

export type CreatedHook = (tx: StoreTx, intent: Intent) => Promise<void>;
export type TerminalHook = (tx: StoreTx, intent: Intent, event: IntentEvent) => Promise<Json | void>;

/** The create body after validation (schema intent-create-request). */
export interface CreateIntentInput {
  intent_type: string;
  to_agent: string;
  payload: Json;
  correlation_id?: string;
  reply_to?: string;
  deadline_at?: string;
  ttl_seconds?: number;
  max_delivery_attempts?: number;
  remind_after_seconds?: number;
  remind_interval_seconds?: number;
  max_reminders?: number;
  escalate_to?: string;
  human_task?: Intent['human_task'];
  metadata?: Record<string, string>;
}

const OPTIONAL_COPIED = ['reply_to', 'escalate_to', 'remind_after_seconds', 'remind_interval_seconds', 'max_reminders', 'human_task', 'metadata'] as const;

export class IntentService {
  private engine!: DeliveryEngine;
  private readonly createdHooks: CreatedHook[] = [];
  private readonly terminalHooks: TerminalHook[] = [];
  private readonly reopenedHooks: CreatedHook[] = [];

  constructor(private readonly clock: Clock, private readonly notifier: Notifier, private readonly faults: FaultSet = NO_FAULTS) {}

  attach(engine: DeliveryEngine): void {
    this.engine = engine;
  }

  /** Issue 4: deadline and reminder timers are added here. */
  onCreated(hook: CreatedHook): void {
    this.createdHooks.push(hook);
  }

  /**
   * LC-014: a redeliver takes an intent out of FAILED. Ending it cancelled every timer (LC-015),
   * so what still applies to a live intent is scheduled again (its deadline, LC-020).
   */
  onReopened(hook: CreatedHook): void {
    this.reopenedHooks.push(hook);
  }

  /** Issue 4: reply_to completion threads; a returned object is merged into the write answer. */
  onTerminal(hook: TerminalHook): void {
    this.terminalHooks.push(hook);
  }

  async apply(tx: StoreTx, intent: Intent, operation: Operation, options: ApplyOptions = {}): Promise<Applied> {
    let result = transition(intent.status, operation);
    if (this.faults.has('terminal-accepts-resolve') && isTerminal(intent.status) && (operation === 'complete' || operation === 'fail' || operation === 'cancel')) {
      result = transition('IN_PROGRESS', operation);
    }
    if (!result.ok) {
      throw new Problem(result.code, `cannot ${operation.replaceAll('_', ' ')} an intent in status ${intent.status}`);
    }
    const at = isoAt(this.faults.has('events-use-wall-clock') ? Date.now() : this.clock.now());
    const seqStep = this.faults.has('seq-gap-after-retry') && operation === 'attempt_failed' ? 2 : 1;
    const next: Intent = { ...intent, ...options.patch, status: result.to, lifecycle_status: result.to, updated_at: at, last_seq: intent.last_seq + seqStep };
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
      // LC-009: nothing happens to a terminal intent any more: no deliveries, no timers.
      if (!(this.faults.has('deadline-keeps-delivering') && operation === 'time_out')) {
        await this.engine.closeIntent(tx, next);
        await tx.cancelTimers(next.intent_id);
      }
      for (const hook of this.terminalHooks) extras = { ...extras, ...(await hook(tx, next, event)) };
    } else if (isTerminal(intent.status)) {
      for (const hook of this.reopenedHooks) await hook(tx, next);
    }
    return { intent: next, event, extras };
  }

  /** INT-001: the created (seq 1) and submitted (seq 2) events in one unit with the intent row. */
  async create(tx: StoreTx, caller: Caller, input: CreateIntentInput, agent: AgentRecord | undefined): Promise<Applied> {
    const now = this.clock.now();
    const at = isoAt(now);
    const intent: Intent = {
      // Time-ordered (ids.ts): the 1M-stored bench went from 0.3 to 0.9 of empty speed with them.
      intent_id: timeOrderedId(),
      intent_type: input.intent_type,
      from_agent: caller.address,
      to_agent: input.to_agent,
      payload: input.payload,
      correlation_id: input.correlation_id ?? randomUUID(),
      status: 'CREATED',
      lifecycle_status: 'CREATED',
      created_at: at,
      updated_at: at,
      delivery_attempt: 0,
      max_delivery_attempts: input.max_delivery_attempts ?? agent?.delivery.max_delivery_attempts ?? POLICY_DEFAULTS.max_delivery_attempts,
      pending_with: input.to_agent,
      last_seq: 1,
    };
    for (const key of OPTIONAL_COPIED) if (input[key] !== undefined) Object.assign(intent, { [key]: input[key] });
    if (input.deadline_at !== undefined) {
      // INT-007: a deadline must lie after the server's now (its clock: the test clock when on).
      if (!(Date.parse(input.deadline_at) > now)) {
        throw new Problem('validation_failed', 'deadline_at must be later than the server\'s current time', [{ pointer: '/deadline_at', message: `must be after ${at}`, keyword: 'formatExclusiveMinimum', location: 'body' }]);
      }
      intent.deadline_at = new Date(input.deadline_at).toISOString();
    }
    if (input.ttl_seconds !== undefined) intent.deadline_at = isoAt(now + input.ttl_seconds * 1000);

    await tx.insertIntent(intent);
    await tx.appendEvent({ intent_id: intent.intent_id, seq: 1, event_type: 'intent.created', status: 'CREATED', at, actor: actorOf(caller) });
    const accepted = await this.apply(tx, intent, 'accept', { actor: actorOf(caller) });
    for (const hook of this.createdHooks) await hook(tx, accepted.intent);
    await this.engine.issue(tx, accepted.intent, { firstDelivery: true, receiver: agent });
    return accepted;
  }
}
