// EVT-005, SSE-001..SSE-010: the event log of an intent, as a list and as a bounded SSE observe.
import { isTerminal } from '../lifecycle.js';
import { SseSession } from '../sse.js';
import { EventFeeds } from '../event-feed.js';
import { loadIntent, sinceFrom } from './common.js';
import type { RouteRegistrar } from './registrar.js';
import type { ServerContext } from '../context.js';
import { DEFAULT_WAIT_SECONDS } from '../limits.js';

export function eventRoutes(r: RouteRegistrar, ctx: ServerContext): void {
  const feeds = new EventFeeds(ctx);
  r.handle('listEvents', async (req, _reply, caller) => {
    const id = (req.params as { intent_id: string }).intent_id;
    const since = req.query.since ?? 0;
    const events = await ctx.store.read(async (tx) => {
      await loadIntent(ctx, tx, id, caller, 'read');
      return tx.listEvents(id, since);
    });
    return { ok: true, events, next_seq: events.length ? events[events.length - 1].seq : since };
  });

  r.handle('streamEvents', async (req, reply, caller) => {
    const id = (req.params as { intent_id: string }).intent_id;
    const since = sinceFrom(req);
    const wait = req.query.wait_seconds ?? DEFAULT_WAIT_SECONDS;
    const intent = await ctx.store.read((tx) => loadIntent(ctx, tx, id, caller, 'read'));

    const session = new SseSession(reply, ctx.sse, { waitSeconds: wait, since, keepaliveMs: ctx.settings.keepaliveSeconds * 1000, highWaterMark: ctx.settings.sseHighWaterMark });
    // SSE-009: nothing more will come for a terminal intent the client has fully seen.
    if (isTerminal(intent.status) && since >= intent.last_seq) {
      session.end('terminal');
      return;
    }
    // One shared feed per intent (event-feed.ts): the backlog, then every event while the response is open.
    await feeds.observe(id, session);
    if (wait === 0) session.end('wait_elapsed');
    await session.done;
  });
}
