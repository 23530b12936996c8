// Chapter 16: the test-clock extension (only when advertised; CLK-001 for the disabled case is DISC-010).
import type { CaseContext } from '../case.js';
import { check, equal, events, eventuallyEvent, gapMs, group, needs, ok, pollFor, send, validationError, type Wire } from './support.js';
import { pair, polledIntent } from './flows.js';

const clockCap = needs('ext.test-clock', 'binding.poll');

async function advance(ctx: CaseContext, ms: number): Promise<Wire> {
  return ok(await ctx.request({ method: 'POST', path: '/v1/_test/clock', key: ctx.adminKey, json: { advance_ms: ms }, expectSchema: 'test-clock-response' }), `advance ${ms} ms`);
}

export const testClockCases = group('CLK', [
  {
    id: 'CLK-001',
    title: 'advance moves the clock forward by advance_ms and reports now and fired; 0 changes nothing',
    level: 'MUST',
    requirements: ['CLK-002', 'CLK-005'],
    ...clockCap,
    async run(ctx) {
      const a = await advance(ctx, 0);
      const b = await advance(ctx, 0);
      equal(b.now, a.now, 'now after advance_ms 0 (the test clock does not move by itself)');
      const c = await advance(ctx, 90_000);
      equal(gapMs(b.now, c.now), 90_000, 'now moved by advance_ms');
      check(Number.isInteger(c.fired) && c.fired >= 0, 'fired must be a count', 'integer >= 0', c.fired);
      for (const bad of [-1, 'soon', 31_536_000_001]) validationError(await ctx.request({ method: 'POST', path: '/v1/_test/clock', key: ctx.adminKey, json: { advance_ms: bad } }), '/advance_ms', `advance_ms ${JSON.stringify(bad)}`);
      equal((await advance(ctx, 0)).now, c.now, 'refused advances do not move the clock');
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
      const before = await advance(ctx, 3_600_000);
      const i = await send(ctx, sender, worker.address);
      equal(gapMs(before.now, i.created_at), 0, 'created_at − the clock\'s now right after an advance (the clock is frozen between advances)');
      const d = await pollFor(ctx, worker, i.intent_id);
      equal(gapMs(before.now, d.lease_expires_at), Number(worker.delivery.lease_seconds) * 1000, 'lease_expires_at on the test clock');
      const list = await events(ctx, i.intent_id, sender.key);
      for (const e of list) equal(gapMs(before.now, e.at), 0, `at of ${e.event_type} − the clock's now`);
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
