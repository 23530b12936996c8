// INBOX-003..INBOX-013: inbox threads and the decisions people take on them. The public SDK
// passes owner_agent as a query parameter on every inbox call; it defaults to the caller.
import { Problem } from '../errors.js';
import { isTerminal } from '../lifecycle.js';
import { idempotentWrite } from '../idempotency.js';
import { toWireThread } from '../delivery/inbox.js';
import { writeResponse } from './common.js';
import { actorOf, type Caller, type Intent, type Json, type ThreadRecord } from '../model.js';
import type { StoreTx } from '../store/store.js';
import type { RouteHandler, RouteRegistrar } from './registrar.js';
import type { ServerContext } from '../context.js';
import type * as Wire from '../../schemas/types.js';

type Action = 'approve' | 'reject' | 'reply';

/** A decision or a reply body (schemas inbox-decision-request, inbox-reply-request), read by decide(). */
type DecisionBody = Wire.InboxDecisionRequest & Partial<Wire.InboxReplyRequest>;

const DEFAULT_OUTCOME: Record<Action, string> = { approve: 'approved', reject: 'rejected', reply: 'replied' };

/** INBOX-012: owner, sender of the intent, admin; nobody else. */
function maySee(caller: Caller, thread: ThreadRecord, intent: Intent): boolean {
  return caller.admin || caller.address === thread.owner_agent || caller.address === intent.from_agent;
}

/**
 * INBOX-004: the thread selected by owner_agent (default: the caller; for the admin without
 * owner_agent, the intent's task thread), with its intent.
 */
async function findThread(tx: StoreTx, caller: Caller, threadId: string, owner: string | undefined): Promise<{ thread?: ThreadRecord; intent?: Intent }> {
  const intent = await tx.getIntent(threadId);
  if (!intent) return {};
  if (owner !== undefined || !caller.admin) return { thread: await tx.getThread(owner ?? caller.address, threadId), intent };
  const threads = await tx.listThreads({ threadId });
  return { thread: threads.find((t) => t.kind === 'task') ?? threads[0], intent };
}

async function decide(ctx: ServerContext, tx: StoreTx, caller: Caller, threadId: string, owner: string | undefined, action: Action, body: DecisionBody): Promise<Json> {
  const { thread, intent } = await findThread(tx, caller, threadId, owner);
  // INBOX-011: the sender knows the intent exists, so it is told it may not decide (403).
  if (intent && !caller.admin && intent.from_agent === caller.address && thread?.owner_agent !== caller.address) {
    throw new Problem('forbidden', 'only the inbox owner (or the admin) may decide a task');
  }
  if (!thread || !intent || !maySee(caller, thread, intent) || (!caller.admin && caller.address !== thread.owner_agent)) {
    throw new Problem('thread_not_found', `no inbox thread ${threadId}`);
  }
  // INBOX-010: a completion thread, a decided task or a terminal intent is closed.
  if (thread.kind !== 'task' || isTerminal(intent.status)) throw new Problem('thread_closed', `thread ${threadId} is closed (${intent.status})`);

  const task = intent.human_task;
  const outcome = body.outcome ?? DEFAULT_OUTCOME[action];
  if (task?.allowed_outcomes && !task.allowed_outcomes.includes(outcome)) {
    throw new Problem('outcome_not_allowed', `outcome ${outcome} is not one of ${task.allowed_outcomes.join(', ')}`);
  }
  const comment = action === 'reply' ? body.message : body.comment;
  if (task?.required_comment && (comment ?? '').trim() === '') throw new Problem('comment_required', 'this task requires a comment');

  const taskResult: Json = { outcome };
  if (comment !== undefined) taskResult.comment = comment;
  if (body.data !== undefined) taskResult.data = body.data;
  const result = { task_result: taskResult };
  await ctx.engine.settleOpen(tx, intent);
  const applied = action === 'reject'
    ? await ctx.transitions.apply(tx, intent, 'fail', { actor: actorOf(caller), details: { outcome, thread_owner: thread.owner_agent }, patch: { result, error: { code: 'task_rejected', message: `rejected: ${outcome}` } } })
    : await ctx.transitions.apply(tx, intent, 'complete', { actor: actorOf(caller), details: { outcome, thread_owner: thread.owner_agent }, patch: { result } });
  // INBOX-013: the comment or reply goes into the thread's messages, authored by the decider.
  const latest = (await tx.getThread(thread.owner_agent, threadId)) ?? thread;
  const messages = comment !== undefined && comment !== '' ? [...latest.messages, { at: applied.event.at, author: actorOf(caller), text: comment }] : latest.messages;
  await tx.putThread({ ...latest, messages, updated_at: applied.event.at });
  return writeResponse(applied);
}

export function inboxRoutes(r: RouteRegistrar, ctx: ServerContext): void {
  const threadIdOf = (params: unknown) => (params as { thread_id: string }).thread_id;

  r.handle('listInbox', async (req, _reply, caller) => {
    const q = req.query;
    const owner = q.owner_agent ?? caller.address;
    const threads = await ctx.store.read(async (tx) => {
      const out: Json[] = [];
      for (const thread of await tx.listThreads({ owner })) {
        const intent = await tx.getIntent(thread.thread_id);
        if (!intent || !maySee(caller, thread, intent)) continue;
        const wire = toWireThread(thread, intent);
        if (q.open === undefined || wire.open === q.open) out.push(wire);
      }
      return out;
    });
    return { ok: true, threads };
  });

  r.handle('getInboxThread', async (req, _reply, caller) => {
    const threadId = threadIdOf(req.params);
    const thread = await ctx.store.read(async (tx) => {
      const found = await findThread(tx, caller, threadId, req.query.owner_agent);
      return found.thread && found.intent && maySee(caller, found.thread, found.intent) ? toWireThread(found.thread, found.intent) : undefined;
    });
    if (!thread) throw new Problem('thread_not_found', `no inbox thread ${threadId}`);
    return { ok: true, thread };
  });

  const decision = (action: Action): RouteHandler<'approveInboxThread' | 'rejectInboxThread' | 'replyInboxThread'> => async (req, reply, caller) => {
    const threadId = threadIdOf(req.params);
    const body: DecisionBody = req.body;
    const owner = req.query.owner_agent;
    return idempotentWrite(ctx, req, reply, caller, `inbox.${action}:${threadId}`, (tx) => decide(ctx, tx, caller, threadId, owner, action, body));
  };
  r.handle('approveInboxThread', decision('approve'));
  r.handle('rejectInboxThread', decision('reject'));
  r.handle('replyInboxThread', decision('reply'));
}
