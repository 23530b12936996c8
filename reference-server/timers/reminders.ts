// INTL-006..INTL-015: reminders and escalation. With A = remind_after_seconds, I =
// remind_interval_seconds (default A) and M = max_reminders (default 1), reminder k falls at
// created_at + A + (k-1)·I, and escalation at created_at + A + M·I ("the reminder after the last").
// All of them are stored at create (M is at most 100), at absolute times, so after a restart the
// late ones fire at once and in due order among every other timer (LC-024); a terminal status
// cancels whatever is left (LC-015).
import { isTerminal } from '../lifecycle.js';
import { Problem } from '../errors.js';
import type { Intent } from '../model.js';
import type { StoreTx } from '../store/store.js';
import type { ServerContext } from '../context.js';

export const REMINDER_TIMER = 'reminder';
export const ESCALATION_TIMER = 'escalation';

interface Plan { start: number; afterMs: number; intervalMs: number; max: number }

function planOf(intent: Intent): Plan | undefined {
  if (intent.remind_after_seconds === undefined) return undefined;
  const after = intent.remind_after_seconds;
  return {
    start: Date.parse(intent.created_at),
    afterMs: after * 1000,
    intervalMs: (intent.remind_interval_seconds ?? after) * 1000,
    max: intent.max_reminders ?? 1,
  };
}

/** Due time of reminder k (1-based); k = M + 1 is the escalation. */
const dueOf = (plan: Plan, k: number): number => plan.start + plan.afterMs + (k - 1) * plan.intervalMs;

export function installReminders(ctx: ServerContext): void {
  ctx.intents.onCreated(async (tx: StoreTx, intent: Intent) => {
    const plan = planOf(intent);
    // INTL-011: escalation is timed from the reminder settings, so it cannot stand alone.
    if (!plan && intent.escalate_to !== undefined) {
      throw new Problem('validation_failed', 'escalate_to needs remind_after_seconds', [
        { pointer: '/escalate_to', message: 'requires remind_after_seconds', keyword: 'dependentRequired', location: 'body' },
      ]);
    }
    if (!plan) return;
    for (let k = 1; k <= plan.max; k++) {
      await ctx.scheduler.schedule(tx, { due_at: dueOf(plan, k), kind: REMINDER_TIMER, intent_id: intent.intent_id, data: { reminder: k } });
    }
    if (intent.escalate_to !== undefined) {
      await ctx.scheduler.schedule(tx, { due_at: dueOf(plan, plan.max + 1), kind: ESCALATION_TIMER, intent_id: intent.intent_id, data: {} });
    }
  });

  ctx.scheduler.register(REMINDER_TIMER, async (tx, timer) => {
    const intent = timer.intent_id ? await tx.getIntent(timer.intent_id) : undefined;
    if (!intent || isTerminal(intent.status)) return;
    // INTL-006, INTL-008: an event only; status, attempts, leases and retries are untouched.
    await ctx.transitions.apply(tx, intent, 'remind', { actor: 'system', details: { reminder: Number(timer.data.reminder) } });
  });

  ctx.scheduler.register(ESCALATION_TIMER, async (tx, timer) => {
    const intent = timer.intent_id ? await tx.getIntent(timer.intent_id) : undefined;
    if (!intent || intent.escalate_to === undefined || isTerminal(intent.status)) return;
    const target = intent.escalate_to;
    // INTL-010, INTL-015: one escalated event (the timer exists once), pending_with the target.
    const applied = await ctx.transitions.apply(tx, intent, 'escalate', {
      actor: 'system', details: { escalate_to: target, escalated_from: intent.to_agent }, patch: { pending_with: target },
    });
    // INTL-012: the target gets the intent on its own binding, marked escalated_from.
    await ctx.engine.issue(tx, applied.intent, { agent: target, escalatedFrom: intent.to_agent });
  });
}
