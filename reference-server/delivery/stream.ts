// STR-001..STR-008: the stream binding. GET /v1/agents/{addr}/intents/stream is SSE of
// deliveries, each written the moment it is handed out; `id:` is the agent's delivery cursor.
// A reconnect with since / Last-Event-ID first re-sends leased, un-acked deliveries after the
// cursor (their frames may have been lost), then continues with new ones.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Problem } from '../errors.js';
import { SseSession } from '../sse.js';
import { addressFromParams, assertSelfOrAdmin, sinceFrom } from '../routes/common.js';
import type { BindingAdapter } from './engine.js';
import type { Caller, Delivery } from '../model.js';
import type { ServerContext } from '../context.js';

export const streamAdapter: BindingAdapter = { binding: 'stream', mode: 'pull' };

/** How many deliveries one claim hands out. */
const CLAIM_BATCH = 32;
const DEFAULT_WAIT_SECONDS = 15;

/** STR-010 / POLL-006: pull endpoints serve agents whose binding is a pull binding. */
export async function pullAgent(ctx: ServerContext, req: FastifyRequest, caller: Caller): Promise<{ address: string; pull: boolean }> {
  const address = addressFromParams(req);
  assertSelfOrAdmin(caller, address);
  const agent = await ctx.store.read((tx) => tx.getAgent(address));
  if (!agent) throw new Problem('agent_not_found', `no agent ${address}`);
  return { address, pull: ctx.engine.adapterFor(agent.delivery.binding)?.mode === 'pull' };
}

export async function serveStream(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, caller: Caller): Promise<void> {
  const { address, pull } = await pullAgent(ctx, req, caller);
  const since = sinceFrom(req);
  const wait = (req.query as { wait_seconds?: number }).wait_seconds ?? DEFAULT_WAIT_SECONDS;
  const session = new SseSession(reply, ctx.sse, { waitSeconds: wait, since, keepaliveMs: ctx.settings.keepaliveSeconds * 1000, highWaterMark: ctx.settings.sseHighWaterMark });

  const send = (deliveries: Delivery[]): boolean => {
    for (const d of deliveries) if (!session.write({ id: d.seq, event: 'intent.delivered', data: d })) return false;
    return true;
  };
  let busy = false;
  let again = false;
  const pump = async (): Promise<void> => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        for (;;) {
          if (session.closed) return;
          const claimed = await ctx.engine.claim(address, { limit: CLAIM_BATCH });
          if (!send(claimed) || claimed.length < CLAIM_BATCH) break;
        }
      } while (again);
    } finally {
      busy = false;
    }
  };

  if (pull) {
    session.onEnd(ctx.notifier.subscribe(`agent:${address}`, () => void pump().catch(() => session.end('shutdown'))));
    const resend = ctx.faults.has('stream-no-resend') ? [] : await ctx.engine.resendable(address, since);
    if (send(resend)) await pump();
  }
  if (wait === 0) session.end('wait_elapsed');
  await session.done;
}
