// LC-020..LC-025: deadlines. deadline_at (or ttl_seconds, turned into deadline_at at create) is a
// durable timer; when it fires on a non-terminal intent the intent is TIMED_OUT, which cancels its
// open delivery and every other timer (LC-015), so nothing follows and later writes get 409.
import { isTerminal } from '../lifecycle.js';
import type { ServerContext } from '../context.js';
import type { Intent } from '../model.js';
import type { StoreTx } from '../store/store.js';

export const DEADLINE_TIMER = 'deadline';

export function installDeadlines(ctx: ServerContext): void {
  const arm = async (tx: StoreTx, intent: Intent) => {
    if (intent.deadline_at === undefined) return;
    // LC-025: whatever the status, even for an unregistered receiver; a past deadline fires at once.
    await ctx.scheduler.schedule(tx, { due_at: Date.parse(intent.deadline_at), kind: DEADLINE_TIMER, intent_id: intent.intent_id, data: {} });
  };
  ctx.intents.onCreated(arm);
  // LC-020 after a redeliver (LC-014): the deadline still holds for the reopened intent.
  ctx.transitions.onReopened(arm);

  ctx.scheduler.register(DEADLINE_TIMER, async (tx, timer) => {
    const intent = timer.intent_id ? await tx.getIntent(timer.intent_id) : undefined;
    if (!intent || isTerminal(intent.status)) return;
    await ctx.transitions.apply(tx, intent, 'time_out', {
      actor: 'system',
      details: { deadline_at: intent.deadline_at },
      // LC-022
      patch: { error: { code: 'deadline_exceeded', message: `deadline ${intent.deadline_at} passed` } },
    });
  });
}
