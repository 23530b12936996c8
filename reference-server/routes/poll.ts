// POLL-001..POLL-005: the poll binding's route. A long poll that answers as soon as at least one
// delivery is handed out, or with an empty list after wait_seconds.
import { pullAgent, waitUntil } from './common.js';
import { DEFAULT_POLL_LIMIT } from '../limits.js';
import type { Caller, Delivery } from '../model.js';
import type { RouteRegistrar, RouteRequest } from './registrar.js';
import type { ServerContext } from '../context.js';

export function pollRoutes(r: RouteRegistrar, ctx: ServerContext): void {
  r.handle('pollDeliveries', (req, _reply, caller) => servePoll(ctx, req, caller));
}

async function servePoll(ctx: ServerContext, req: RouteRequest<'pollDeliveries'>, caller: Caller) {
  const { address, pull } = await pullAgent(ctx, req, caller);
  const q = req.query;
  let deliveries: Delivery[] = [];
  if (pull) {
    await waitUntil(ctx, `agent:${address}`, (q.wait_seconds ?? 0) * 1000, async () => {
      // A poller that hung up gets nothing handed out (it would only wait for the lease).
      if (req.raw.destroyed || req.socket.destroyed) return true;
      deliveries = await ctx.engine.claim(address, { limit: q.limit ?? DEFAULT_POLL_LIMIT });
      return deliveries.length > 0;
    });
  }
  if (deliveries.length > 0) return { ok: true, deliveries, next_seq: deliveries[deliveries.length - 1].seq };
  const agent = await ctx.store.read((tx) => tx.getAgent(address));
  return { ok: true, deliveries, next_seq: agent?.last_delivery_seq ?? 0 };
}
