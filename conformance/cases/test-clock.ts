// Chapter 16: the test-clock extension (only when advertised; CLK-001 for the disabled case is DISC-010).
import type { CaseContext } from '../case.js';
import { check, equal, events, eventuallyEvent, gapMs, group, needs, ok, pollFor, send, validationError, type Wire } from './support.js';
import { pair, polledIntent } from './flows.js';

const clockCap = needs('ext.test-clock', 'binding.poll');

async function advance(ctx: CaseContext, ms: number): Promise<Wire> {
  return ok(await ctx.request({ method: 'POST', path: '/v1/_test/clock', key: ctx.adminKey, json: { advance_ms: ms }, expectSchema: 'test-clock-response' }), `advance ${ms} ms`);
}

/**
 * The test clock may stand still between advances or run on at real speed (CLK-005): a server
 * time read after `from` lies in [from + movedMs, from + movedMs + the real time since], never
 * earlier (the clock does not go back) and never later than real time allows.
 */
function checkClockGap(from: string, to: string, movedMs: number, sinceLocal: number, what: string): void {
  const gap = gapMs(from, to);
  const realMs = Math.ceil(performance.now() - sinceLocal) + 1;
  check(gap >= movedMs && gap <= movedMs + realMs, `${what}: ${gap} ms after ${from}`, { min: movedMs, max: movedMs + realMs }, gap);
}

export const testClockCases = group('CLK', [
  {
    id: 'CLK-001',
    title: 'advance moves the clock forward by advance_ms and reports now and fired; 0 changes nothing',
    level: 'MUST',
    requirements: ['CLK-002', 'CLK-005'],
    ...clockCap,
    async run(ctx) {
      let mark = performance.now();
      const a = await advance(ctx, 0);
      const b = await advance(ctx, 0);
      checkClockGap(a.now, b.now, 0, mark, 'now after advance_ms 0 (no jump; the clock never goes back)');
      mark = performance.now();
      const c = await advance(ctx, 90_000);
      checkClockGap(b.now, c.now, 90_000, mark, 'now after advance_ms 90000');
      check(Number.isInteger(c.fired) && c.fired >= 0, 'fired must be a count', 'integer >= 0', c.fired);
      mark = performance.now();
      for (const bad of [-1, 'soon', 31_536_000_001]) validationError(await ctx.request({ method: 'POST', path: '/v1/_test/clock', key: ctx.adminKey, json: { advance_ms: bad } }), '/advance_ms', `advance_ms ${JSON.stringify(bad)}`);
      checkClockGap(c.now, (await advance(ctx, 0)).now, 0, mark, 'now after refused advances (they do not move the clock)');
    },
  },
  {
    id: 'CLK-002',
    title: 'server timestamps follow the test clock',
    level: 'MUST',
    requirements: ['CLK-004'],
    ...clockCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const mark = performance.now();
      const before = await advance(ctx, 3_600_000);
      const i = await send(ctx, sender, worker.address);
      checkClockGap(before.now, i.created_at, 0, mark, 'created_at on the test clock (an hour ahead of the wall clock)');
      const d = await pollFor(ctx, worker, i.intent_id);
      checkClockGap(before.now, d.lease_expires_at, Number(worker.delivery.lease_seconds) * 1000, mark, 'lease_expires_at on the test clock');
      const list = await events(ctx, i.intent_id, sender.key);
      for (const e of list) checkClockGap(before.now, e.at, 0, mark, `at of ${e.event_type} on the test clock`);
    },
  },
  {
    id: 'CLK-003',
    title: 'timers due within one advance fire in due order with the effects of real time',
    level: 'MUST',
    requirements: ['CLK-006', 'CLK-002'],
    ...clockCap,
    async run(ctx) {
      const { sender, worker, i, d } = await polledIntent(ctx, { worker: { max_delivery_attempts: 3 } });
      const lease = Number(worker.delivery.lease_seconds) * 1000;
      const answer = await advance(ctx, lease + 1.2 * Number(worker.delivery.initial_delay_ms) + 10);
      check(answer.fired >= 2, 'one advance past a lease and its retry must fire both timers', '>= 2', answer.fired);
      const failure = await eventuallyEvent(ctx, i.intent_id, sender.key, 'intent.delivery_attempt', (e) => e.event_type === 'intent.delivery_attempt', 1000);
      equal(gapMs(d.lease_expires_at, failure.at), 0, 'the lease timer fired at its due time, not at the end of the advance (ms after lease_expires_at)');
      const next = await pollFor(ctx, worker, i.intent_id, 2000);
      equal(next.attempt, 2, 'the retry fell due within the same advance');
    },
  },
]);
