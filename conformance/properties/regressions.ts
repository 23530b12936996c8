// Fixed regression cases (PROP-1NN): shrunk counterexamples the property layer found (in a server
// or in the kit's own model), replayed as fixed sequences with the same model and checks, so they
// run the same way on every target.
import { CaseFailure, type CaseContext, type ConformanceCase } from '../case.js';
import { send } from './concurrency.js';
import { RunLog } from './harness.js';
import { viewOf } from './model.js';
import { receive } from './receive.js';
import { newWorld, policyFor } from './stateful.js';
import { advanceClock } from './timers.js';
import type { World } from './world.js';

/** Runs a fixed sequence; a failure carries the sequence's transcript like a property failure. */
async function sequence(ctx: CaseContext, steps: (w: World) => Promise<void>, policy = policyFor(ctx, 2)): Promise<void> {
  const log = new RunLog();
  try {
    await steps(await newWorld(ctx, log, policy));
  } catch (err) {
    if (!(err instanceof CaseFailure)) throw err;
    throw new CaseFailure(err.message, err.expected, { cause: err.actual, transcript: log.lines });
  }
}

/** Create, deliver by poll, and let the first lease expire on the test clock (+ extra ms). */
async function expiredFirstLease(w: World, extraMs: number) {
  const mi = await send(w, { intent_type: 'kit.regression.lease.v1', to_agent: w.worker.address, payload: {} });
  await receive(w, 'poll');
  const first = viewOf(mi.events).attempts.at(-1);
  const lease = first?.deliveryId ? w.leases.get(first.deliveryId) : undefined;
  if (!first?.deliveryId || lease === undefined) return w.fail('the first poll did not deliver the intent (DLV-006)', 'a delivery', mi.events.map((e) => e.event_type));
  await advanceClock(w, lease - w.time.window().low + extraMs);
  return { mi, deliveryId: first.deliveryId };
}

const clockCase = { group: 'PROP', level: 'MUST' as const, needsCapabilities: ['binding.stream', 'ext.test-clock'], needsAdmin: true, timeoutMs: 30_000 };

export const regressionCases: ConformanceCase[] = [
  {
    ...clockCase,
    id: 'PROP-101',
    title: 'regression: an ack naming the current delivery after its lease expired (no newer delivery issued) is accepted',
    requirements: ['DLV-017', 'DLV-011', 'DLV-010'],
    run: (ctx) => sequence(ctx, async (w) => {
      const { mi, deliveryId } = await expiredFirstLease(w, 1_000);
      const res = await w.call({ method: 'POST', path: `/v1/intents/${mi.id}/ack`, key: w.worker.key, json: { delivery_id: deliveryId } });
      if (res.status !== 200) w.fail(`ack of delivery ${deliveryId}, still the latest issued, answered ${res.status} ${res.body?.code ?? ''} (DLV-017)`, 200, res.body);
      await w.expectOneEvent(mi, 'intent.acknowledged', res.body, 'the late ack');
    }),
  },
  {
    ...clockCase,
    id: 'PROP-102',
    title: 'regression: after a lease expired and the retry fell due with no agent connected, an ack acknowledges the delivery actually issued',
    requirements: ['DLV-006', 'DLV-011', 'DLV-017', 'INT-016'],
    run: (ctx) => sequence(ctx, async (w) => {
      const { mi, deliveryId } = await expiredFirstLease(w, w.options.policy.maxDelayMs * 1.2 + 1_000);
      const res = await w.call({ method: 'POST', path: `/v1/intents/${mi.id}/ack`, key: w.worker.key, json: {} });
      if (res.status !== 200) w.fail(`ack without delivery_id answered ${res.status} ${res.body?.code ?? ''} (DLV-011, DLV-017)`, 200, res.body);
      const named = res.body.event?.details?.delivery_id;
      if (named !== undefined && named !== deliveryId) w.fail(`the ack acknowledged delivery ${String(named)}, which was never issued; the latest issued is ${deliveryId} (DLV-006, DLV-011)`, deliveryId, res.body.event);
      await w.expectOneEvent(mi, 'intent.acknowledged', res.body, 'the ack');
    }),
  },
  {
    group: 'PROP',
    level: 'MUST',
    needsCapabilities: ['binding.stream'],
    needsAdmin: true,
    id: 'PROP-103',
    title: 'regression: a create whose deadline_at is already past is refused 422 at /deadline_at and creates nothing',
    requirements: ['INT-007', 'ERR-008'],
    run: (ctx) => sequence(ctx, async (w) => {
      const body = { intent_type: 'kit.regression.deadline.v1', to_agent: w.worker.address, payload: {}, deadline_at: '2000-01-01T00:00:00.000Z' };
      const res = await w.call({ method: 'POST', path: '/v1/intents', key: w.sender.key, json: body });
      const errors = (res.body?.errors ?? []) as Array<{ pointer?: string }>;
      if (res.status !== 422 || res.body?.code !== 'validation_failed' || !errors.some((e) => e.pointer === '/deadline_at')) {
        w.fail(`a deadline_at in the past must be answered 422 validation_failed pointing at /deadline_at (INT-007), got ${res.status} ${res.body?.code ?? ''}`, 422, res.body);
      }
      await w.expectSentIntents('after the refused create');
    }),
  },
  {
    group: 'PROP',
    level: 'MUST',
    needsCapabilities: ['binding.stream'],
    needsAdmin: true,
    timeoutMs: 30_000,
    id: 'PROP-104',
    title: 'regression: a lease that expires while a long poll is open makes the retry in that poll legitimate (not a delivery that must not be)',
    requirements: ['DLV-025', 'POLL-002', 'POLL-004'],
    // The model once judged what a long poll may hand out on the clock when the poll was sent:
    // in real time the 1 s lease ran out during a 3 s poll, and the correct retry failed PROP-003.
    run: (ctx) => sequence(ctx, async (w) => {
      const mi = await send(w, { intent_type: 'kit.regression.longpoll.v1', to_agent: w.worker.address, payload: {} });
      await receive(w, 'poll');
      const first = viewOf(mi.events).attempts.at(-1);
      if (!first?.deliveryId) return w.fail('the first poll did not deliver the intent (DLV-006)', 'a delivery', mi.events.map((e) => e.event_type));
      const { leaseSeconds, maxDelayMs } = w.options.policy;
      // Real time: the lease and the backoff run out inside this one long poll. A test clock that
      // stands still: the poll ends empty after its wait; the model accepts either.
      await receive(w, 'poll', { waitSeconds: Math.min(60, Math.ceil(leaseSeconds + (maxDelayMs * 1.2) / 1000) + 1) });
    }, policyFor(ctx, 2, true)),
  },
];
