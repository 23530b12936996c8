// DLV-021 dead letters (admin) and CLK-002 the test clock (admin, only with --test-clock).
import { Problem } from '../errors.js';
import { isoAt, TestClock } from '../clock.js';
import { advanceTestClock } from '../timers/test-clock.js';
import type { RouteRegistrar } from './registrar.js';
import type { ServerContext } from '../context.js';
import { DEFAULT_LIST_LIMIT } from '../limits.js';

export function adminRoutes(r: RouteRegistrar, ctx: ServerContext): void {
  r.handle('listDeadLetters', async (req) => {
    const q = req.query;
    const cursor = q.cursor ? Buffer.from(q.cursor, 'base64url').toString() : undefined;
    if (cursor !== undefined && !/^\d+$/.test(cursor)) {
      throw new Problem('validation_failed', 'invalid cursor', [{ pointer: '/cursor', message: 'not a cursor from this server', keyword: 'format', location: 'query' }]);
    }
    const page = await ctx.store.read((tx) => tx.listDeadLetters({ agent: q.agent, cursor, limit: q.limit ?? DEFAULT_LIST_LIMIT }));
    return { ok: true, dead_letters: page.items, next_cursor: page.nextCursor && Buffer.from(page.nextCursor).toString('base64url') };
  });

  r.handle('advanceTestClock', async (req) => {
    if (!ctx.settings.testClock || !(ctx.clock instanceof TestClock)) {
      throw new Problem('extension_disabled', 'the test-clock extension is off (start the server with --test-clock)');
    }
    const { advance_ms: advanceMs } = req.body;
    // CLK-002, CLK-006: answer once every timer due by the new time has fired, each at its due time.
    const { now, fired } = await advanceTestClock(ctx.clock, ctx.scheduler, ctx.store, advanceMs);
    return { ok: true, now: isoAt(now), fired };
  });
}
