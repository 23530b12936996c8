// Helpers shared by route modules: addresses from paths, access rules, answer shapes, waits.
import type { FastifyRequest } from 'fastify';
import commonDefs from '../../schemas/common.defs.json' with { type: 'json' };
import { Problem } from '../errors.js';
import { isTerminal } from '../lifecycle.js';
import type { Applied } from '../transitions.js';
import type { Caller, Intent } from '../model.js';
import type * as Wire from '../../schemas/types.js';
import type { StoreTx } from '../store/store.js';
import type { ServerContext } from '../context.js';
import type { Topic } from '../notifier.js';
import type { IntentOperation } from '../policies.js';

const ADDRESS = new RegExp(commonDefs.$defs.address.pattern);

/** TERM-003: the address from a path (`/v1/agents/acme/prod/payments` → agent://acme/prod/payments). */
export function addressFromParams(req: FastifyRequest): string {
  const p = req.params as { seg1: string; seg2: string; seg3?: string };
  const address = `agent://${[p.seg1, p.seg2, p.seg3].filter((s) => s !== undefined).join('/')}`;
  if (!ADDRESS.test(address)) {
    throw new Problem('validation_failed', `not an agent address: ${address}`, [{ pointer: '/address', message: 'must be agent://<seg>/<seg>[/<seg>]', keyword: 'pattern', location: 'params' }]);
  }
  return address;
}

/** STR-010 / POLL-006: pull endpoints serve agents whose binding is a pull binding. */
export async function pullAgent(ctx: ServerContext, req: FastifyRequest, caller: Caller): Promise<{ address: string; pull: boolean }> {
  const address = addressFromParams(req);
  assertSelfOrAdmin(caller, address);
  const agent = await ctx.store.read((tx) => tx.getAgent(address));
  if (!agent) throw new Problem('agent_not_found', `no agent ${address}`);
  return { address, pull: ctx.engine.adapterFor(agent.delivery.binding)?.mode === 'pull' };
}

/** The agent's own routes: the agent itself or the admin. */
export function assertSelfOrAdmin(caller: Caller, address: string): void {
  if (!caller.admin && caller.address !== address) throw new Problem('forbidden', 'an agent may only use its own agent routes');
}

const REFUSED: Record<IntentOperation, string> = {
  read: 'this agent may not read the intent',
  ack: 'only the receiving agent may do this',
  result: 'only the receiving agent may do this',
  cancel: 'only the sending agent may do this',
};

/** SEC-010: the intent, if the access policy lets the caller do `operation` to it (else 404 or 403). */
export async function loadIntent(ctx: ServerContext, tx: StoreTx, intentId: string, caller: Caller, operation: IntentOperation): Promise<Intent> {
  const intent = await tx.getIntent(intentId);
  const decision = intent ? ctx.policies.access.decide(caller, intent, operation) : 'hidden';
  if (!intent || decision === 'hidden') throw new Problem('intent_not_found', `no intent ${intentId}`);
  if (decision === 'forbidden') throw new Problem('forbidden', REFUSED[operation]);
  return intent;
}

export function intentResponse(intent: Intent): Wire.IntentResponse {
  return { ok: true, intent_id: intent.intent_id, status: intent.status, lifecycle_status: intent.status, intent };
}

/** RES-001: every write answers the intent after it and the event it appended. */
export function writeResponse(applied: Applied): Wire.IntentWriteResponse {
  return { ok: true, intent: applied.intent, event: applied.event, ...applied.extras };
}

export function isTerminalIntent(intent: Intent): boolean {
  return isTerminal(intent.status);
}

/** SSE-005: Last-Event-ID wins over ?since (EventSource resends the original URL). */
export function sinceFrom(req: FastifyRequest<{ Querystring: { since?: number } }>): number {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header.trim() !== '') {
    const value = Number(header.trim());
    if (!Number.isInteger(value) || value < 0) {
      throw new Problem('validation_failed', 'Last-Event-ID must be a non-negative integer', [{ pointer: '/last-event-id', message: 'must be a non-negative integer', keyword: 'type', location: 'headers' }]);
    }
    return value;
  }
  return req.query.since ?? 0;
}

/**
 * Waits until `ready()` is true, re-checking whenever the topic fires; bounded by `ms` and by
 * shutdown. Subscribes before the first check so no wake-up is lost.
 */
export async function waitUntil(ctx: ServerContext, topic: Topic, ms: number, ready: () => Promise<boolean>): Promise<boolean> {
  let wake: () => void = () => {};
  let signalled = false;
  const unsubscribe = ctx.notifier.subscribe(topic, () => { signalled = true; wake(); });
  const onAbort = () => wake();
  ctx.shutdown.addEventListener('abort', onAbort);
  const deadline = Date.now() + ms;
  try {
    for (;;) {
      signalled = false;
      if (await ready()) return true;
      const left = deadline - Date.now();
      if (left <= 0 || ctx.shutdown.aborted) return false;
      if (signalled) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => { clearTimeout(timer); resolve(); };
      });
      wake = () => {};
    }
  } finally {
    unsubscribe();
    ctx.shutdown.removeEventListener('abort', onAbort);
  }
}
