// STR-001..STR-008: the stream binding's route. GET /v1/agents/{addr}/intents/stream is SSE of
// deliveries, each written the moment it is handed out; `id:` is the agent's delivery cursor.
// A reconnect with since / Last-Event-ID first re-sends leased, un-acked deliveries after the
// cursor (their frames may have been lost), then continues with new ones.
import type { FastifyReply } from 'fastify';
import { SseSession } from '../sse.js';
import { pullAgent, sinceFrom } from './common.js';
import { DEFAULT_WAIT_SECONDS, STREAM_CLAIM_BATCH } from '../limits.js';
import type { Caller, Delivery } from '../model.js';
import type { RouteRegistrar, RouteRequest } from './registrar.js';
import type { ServerContext } from '../context.js';
import { claimUnit } from '../delivery/engine.js';

export function streamRoutes(r: RouteRegistrar, ctx: ServerContext): void {
  r.handle('streamDeliveries', (req, reply, caller) => serveStream(ctx, req, reply, caller));
}

async function serveStream(ctx: ServerContext, req: RouteRequest<'streamDeliveries'>, reply: FastifyReply, caller: Caller): Promise<void> {
  const { address, pull } = await pullAgent(ctx, req, caller);
  const since = sinceFrom(req);
  const wait = req.query.wait_seconds ?? DEFAULT_WAIT_SECONDS;
  const session = new SseSession(reply, ctx.sse, { waitSeconds: wait, since, keepaliveMs: ctx.settings.keepaliveSeconds * 1000, highWaterMark: ctx.settings.sseHighWaterMark });

  const send = (deliveries: Delivery[]): boolean => session.batch(() => {
    for (const d of deliveries) if (!session.write({ id: d.seq, event: 'intent.delivered', data: d })) return false;
    return true;
  });
  // A wake-up needs a claim unless one is submitted and not yet started: that one will see the
  // delivery. On an ordered store a new claim may start while another is in flight, so a delivery
  // issued in a group commit is claimed in that same commit, not the next one; on other stores
  // claims run one at a time. Frames go out in claim order either way (agent seq order).
  let queued = false;
  let inFlight = 0;
  let again = false;
  let frames = Promise.resolve();
  const pump = (): void => {
    if (session.closed || queued) return;
    if (inFlight > 0 && !ctx.store.ordered) { again = true; return; }
    queued = true;
    inFlight += 1;
    const claim = ctx.store.write((tx) => {
      queued = false;
      return ctx.engine.claimInTx(tx, address, { limit: STREAM_CLAIM_BATCH });
    }, claimUnit(address));
    frames = frames.then(async () => {
      const claimed = await claim.finally(() => { inFlight -= 1; });
      if (!send(claimed)) return;
      if (claimed.length === STREAM_CLAIM_BATCH || again) {
        again = false;
        pump();
      }
    }).catch(() => session.end('shutdown'));
  };
  /** Until every claim submitted so far (and any it led to) has written its frames. */
  const drained = async (): Promise<void> => {
    for (let seen = frames; ; seen = frames) {
      await seen;
      if (seen === frames) return;
    }
  };

  if (pull) {
    // STR-004: re-send first, then issue. Wake-ups are heard only after the re-send list is read:
    // a claim committed while it was read would be on the list and sent by the claim too. A
    // delivery issued meanwhile is still pending and taken by the pump() below.
    const resend = await ctx.engine.resendable(address, since);
    session.onEnd(ctx.notifier.subscribe(`agent:${address}`, pump));
    if (send(resend)) {
      pump();
      await drained();
    }
  }
  if (wait === 0) session.end('wait_elapsed');
  await session.done;
}
