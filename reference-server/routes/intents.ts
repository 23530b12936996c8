// INT-*, RES-*, DLV-010/022: create, read, list, and every write on an intent.
import { Problem } from '../errors.js';
import { STATUSES, type Operation } from '../lifecycle.js';
import { idempotentWrite } from '../idempotency.js';
import { intentResponse, isTerminalIntent, loadIntent, waitUntil, writeResponse } from './common.js';
import { actorOf, type Intent, type Json, type WaitingReason } from '../model.js';
import type { Caller } from '../model.js';
import type { RouteRegistrar } from './registrar.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ResolveRequest, ResumeRequest } from '../../schemas/types.js';
import type { ServerContext } from '../context.js';
import type { StoreTx } from '../store/store.js';
import { DEFAULT_LIST_LIMIT } from '../limits.js';

interface ResolvedWrite { op: Operation; patch: Partial<Intent>; waitingReason?: WaitingReason; details?: Json }

const ACTION_FIELDS = new Set(['action', 'result', 'error', 'waiting_reason', 'reason', 'progress', 'delivery_id']);

/** RES-003..RES-008: the three accepted resume shapes, mapped to one lifecycle operation. */
export function resumeToWrite(body: ResumeRequest, intent: Intent): ResolvedWrite {
  if ('action' in body) {
    switch (body.action) {
      case 'progress': return { op: 'progress', patch: {}, details: body.progress ? { progress: body.progress } : undefined };
      case 'wait': return { op: 'wait', patch: {}, waitingReason: body.waiting_reason, details: body.reason ? { reason: body.reason } : undefined };
      case 'fail': return { op: 'fail', patch: { error: body.error } };
      case 'complete': {
        // RES-004: other top-level fields of a complete become the result.
        const extra = Object.fromEntries(Object.entries(body).filter(([k]) => !ACTION_FIELDS.has(k)));
        return { op: 'complete', patch: { result: body.result ?? extra } };
      }
    }
  }
  if ('outcome' in body) {
    return body.outcome === 'success'
      ? { op: 'complete', patch: { result: body.result ?? {} } }
      : { op: 'fail', patch: { error: body.error ?? { code: 'failure' }, ...(body.result ? { result: body.result } : {}) } };
  }
  const task = body.task_result;
  const rules = intent.human_task;
  if (rules?.allowed_outcomes && !rules.allowed_outcomes.includes(task.outcome)) {
    throw new Problem('outcome_not_allowed', `outcome ${task.outcome} is not one of ${rules.allowed_outcomes.join(', ')}`);
  }
  if (rules?.required_comment && !(task.comment ?? '').trim()) throw new Problem('comment_required', 'this task requires a comment');
  const result = { task_result: task };
  return task.outcome === 'rejected'
    ? { op: 'fail', patch: { result, error: { code: 'task_rejected' } } }
    : { op: 'complete', patch: { result } };
}

/** RES-010: a resolve names the terminal status itself. */
export function resolveToWrite(body: ResolveRequest): ResolvedWrite {
  // LC-016, RES-010: a COMPLETED intent always carries a result ({} when none was given).
  const patch: Partial<Intent> = body.status === 'COMPLETED' ? { result: {} } : {};
  if (body.result) patch.result = body.result;
  if (body.error) patch.error = body.error;
  if (body.reason) patch.reason = body.reason;
  const op: Operation = body.status === 'COMPLETED' ? 'complete' : body.status === 'FAILED' ? 'fail' : 'cancel';
  return { op, patch };
}

export function intentRoutes(r: RouteRegistrar, ctx: ServerContext): void {
  const intentId = (params: unknown) => (params as { intent_id: string }).intent_id;

  r.handle('createIntent', async (req, reply, caller) => {
    // INT-004: from_agent is the key's agent; a from_agent in the body is ignored.
    const { from_agent: _ignored, ...input } = req.body;
    return idempotentWrite(ctx, req, reply, caller, 'createIntent', async (tx) => {
      const agent = await tx.getAgent(input.to_agent);
      if (!agent && ctx.settings.strictAddresses) throw new Problem('agent_not_found', `no agent ${input.to_agent}`);
      const created = await ctx.intents.create(tx, caller, input, agent);
      return intentResponse(created.intent);
      // The receiver's affinity: its claim, woken before this commit, joins this batch and sees the delivery.
    }, { affinity: input.to_agent, reads: { agents: [input.to_agent] } });
  });

  r.handle('getIntent', async (req, _reply, caller) => {
    const id = intentId(req.params);
    const wait = req.query.wait_seconds ?? 0;
    const read = (tx: StoreTx) => loadIntent(ctx, tx, id, caller, 'read');
    let intent = await ctx.store.read(read);
    if (wait > 0 && !isTerminalIntent(intent)) {
      // SSE-020: long poll until terminal or wait_seconds.
      await waitUntil(ctx, `intent:${id}`, wait * 1000, async () => {
        intent = await ctx.store.read(read);
        return isTerminalIntent(intent);
      });
    }
    return intentResponse(intent);
  });

  r.handle('listIntents', async (req, _reply, caller) => {
    const q = req.query;
    const statuses = q.status?.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
    const unknown = statuses?.find((s) => !(STATUSES as readonly string[]).includes(s));
    if (unknown) {
      throw new Problem('validation_failed', `unknown status ${unknown}`, [{ pointer: '/status', message: `must be one of ${STATUSES.join(', ')}`, keyword: 'enum', location: 'query' }]);
    }
    let cursor: string | undefined;
    if (q.cursor) {
      cursor = Buffer.from(q.cursor, 'base64url').toString();
      if (!/^\d+$/.test(cursor)) throw new Problem('validation_failed', 'invalid cursor', [{ pointer: '/cursor', message: 'not a cursor from this server', keyword: 'format', location: 'query' }]);
    }
    const participant = caller.admin && !q.role ? undefined : { address: caller.address, role: q.role ?? 'any' };
    const page = await ctx.store.read((tx) => tx.listIntents({ participant, statuses, cursor, limit: q.limit ?? DEFAULT_LIST_LIMIT }));
    return { ok: true, intents: page.items, next_cursor: page.nextCursor && Buffer.from(page.nextCursor).toString('base64url') };
  });

  r.handle('ackIntent', async (req, _reply, caller) => {
    const id = intentId(req.params);
    const { delivery_id: deliveryId } = req.body;
    return ctx.store.write(async (tx) => {
      const intent = await loadIntent(ctx, tx, id, caller, 'ack');
      return writeResponse(await ctx.engine.ackInTx(tx, intent, deliveryId, actorOf(caller)));
    }, { reads: { intents: [id] } });
  });

  /** RES-*: a result from the receiver; also acknowledges the open delivery (DLV-018). */
  const receiverWrite = (operation: string, req: FastifyRequest, reply: FastifyReply, caller: Caller, deliveryId: string | undefined, toWrite: (intent: Intent) => ResolvedWrite) => {
    const id = intentId(req.params);
    return idempotentWrite(ctx, req, reply, caller, `${operation}:${id}`, async (tx: StoreTx) => {
      const intent = await loadIntent(ctx, tx, id, caller, 'result');
      const write = toWrite(intent);
      await ctx.engine.assertDeliveryOf(tx, intent, deliveryId);
      await ctx.engine.settleOpen(tx, intent);
      const applied = await ctx.transitions.apply(tx, intent, write.op, { actor: actorOf(caller), patch: write.patch, waitingReason: write.waitingReason, details: write.details });
      return writeResponse(applied);
    }, { reads: { intents: [id] } });
  };
  r.handle('resumeIntent', (req, reply, caller) => receiverWrite('resumeIntent', req, reply, caller, req.body.delivery_id, (intent) => resumeToWrite(req.body, intent)));
  r.handle('resolveIntent', (req, reply, caller) => receiverWrite('resolveIntent', req, reply, caller, req.body.delivery_id, () => resolveToWrite(req.body)));

  r.handle('cancelIntent', async (req, reply, caller) => {
    const id = intentId(req.params);
    const { reason } = req.body;
    return idempotentWrite(ctx, req, reply, caller, `cancelIntent:${id}`, async (tx) => {
      const intent = await loadIntent(ctx, tx, id, caller, 'cancel');
      return writeResponse(await ctx.transitions.apply(tx, intent, 'cancel', { actor: actorOf(caller), patch: reason ? { reason } : {} }));
    }, { reads: { intents: [id] } });
  });

  r.handle('redeliverIntent', async (req, _reply, caller) => {
    const id = intentId(req.params);
    return ctx.store.write(async (tx) => {
      const intent = await loadIntent(ctx, tx, id, caller, 'read');
      return writeResponse(await ctx.engine.redeliverInTx(tx, intent, actorOf(caller)));
    }, { reads: { intents: [id] } });
  });
}
