// INBOX-001..INBOX-022: the inbox binding. A delivery to an inbox agent opens a task thread
// (intent.delivered, then intent.human_task_assigned, WAITING_FOR_HUMAN) that stays open until a
// decision, a resolve, a cancel or the deadline: no lease, so it is never redelivered (INBOX-014).
// reply_to: when an intent ends, a completion thread lands in the reply_to address's inbox.
import { isoAt } from '../clock.js';
import { isTerminal } from '../lifecycle.js';
import { InTxPushAdapter, type AdapterLog } from './in-tx-push.js';
import type { DeliveryRecord, Intent, IntentEvent, Json, ThreadRecord } from '../model.js';
import type { StoreTx } from '../store/store.js';
import type { ServerContext } from '../context.js';

/** The wire thread (inbox-thread.schema.json): the stored thread plus what its intent says now. */
export function toWireThread(thread: ThreadRecord, intent: Intent): Json {
  const wire: Json = {
    thread_id: thread.thread_id,
    intent_id: intent.intent_id,
    kind: thread.kind,
    owner_agent: thread.owner_agent,
    from_agent: intent.from_agent,
    intent_type: intent.intent_type,
    // INBOX-013: status is the intent's; open only while a task awaits its decision.
    status: intent.status,
    open: thread.kind === 'task' && !isTerminal(intent.status),
    human_task: intent.human_task ?? null,
    payload: intent.payload,
    messages: thread.messages,
    created_at: thread.created_at,
    updated_at: intent.updated_at > thread.updated_at ? intent.updated_at : thread.updated_at,
  };
  if (intent.result !== undefined) wire.result = intent.result;
  if (intent.error !== undefined) wire.error = intent.error;
  return wire;
}

export class InboxAdapter extends InTxPushAdapter {
  readonly binding = 'inbox' as const;

  constructor(ctx: ServerContext, log: AdapterLog = () => {}) {
    super(ctx, 'inbox: opening tasks', log);
    ctx.transitions.onTerminal((tx, intent, event) => this.onTerminal(tx, intent, event));
  }

  /** INBOX-001, opens a task thread: the thread and the human_task_assigned event. */
  protected async handOver(tx: StoreTx, intent: Intent, row: DeliveryRecord): Promise<void> {
    const at = isoAt(this.ctx.clock.now());
    const existing = await tx.getThread(row.agent, intent.intent_id);
    await tx.putThread({
      owner_agent: row.agent, thread_id: intent.intent_id, kind: 'task',
      created_at: existing?.created_at ?? at, updated_at: at, messages: existing?.messages ?? [],
    });
    // INTL-014: an escalation that reaches an inbox after the receiver moved the intent on adds
    // the thread but no event the state table would refuse.
    if (intent.status === 'DELIVERED') {
      await this.ctx.transitions.apply(tx, intent, 'assign_human', {
        actor: 'system', waitingReason: 'WAITING_FOR_HUMAN', details: { owner_agent: row.agent, delivery_id: row.delivery_id },
      });
    }
  }

  /** INBOX-020, INBOX-021: the completion thread, and completion_delivery for the write answer. */
  private async onTerminal(tx: StoreTx, intent: Intent, event: IntentEvent): Promise<Json | void> {
    for (const thread of await tx.listThreads({ threadId: intent.intent_id })) {
      await tx.putThread({ ...thread, updated_at: event.at });
    }
    const replyTo = intent.reply_to;
    if (!replyTo) return;
    const existing = await tx.getThread(replyTo, intent.intent_id);
    // The reply_to inbox may already hold this intent's task (an inbox agent answering itself):
    // that thread now shows the outcome, so it is kept rather than replaced.
    if (!existing) {
      await tx.putThread({ owner_agent: replyTo, thread_id: intent.intent_id, kind: 'completion', created_at: event.at, updated_at: event.at, messages: [] });
    }
    tx.onCommit(() => this.ctx.notifier.emit(`agent:${replyTo}`));
    return { completion_delivery: { delivered: true, reply_to: replyTo, thread_id: intent.intent_id } };
  }
}
