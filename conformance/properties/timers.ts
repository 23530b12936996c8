// Time in the stateful suite: advancing the test clock (CLK-002, CLK-006) and checking that every
// timer due by then fired and none before its time; letting one lease expire (DLV-025), on the test
// clock when advertised, else in real time waiting on the expiry event itself; and the final
// drain proving that no accepted intent is silently lost (DLV-030, DLV-020).
import { isTerminalStatus } from '../model/lifecycle.js';
import { viewOf } from './model.js';
import { receive } from './receive.js';
import type { ModelIntent, World } from './world.js';

/** Advances the target's test clock by `ms` and checks the timers that came due (CLK-002). */
export async function advanceClock(w: World, ms: number): Promise<void> {
  const before = new Map(w.intents.map((mi) => [mi, viewOf(mi.events)]));
  const res = await w.call({ method: 'POST', path: '/v1/_test/clock', key: w.ctx.adminKey, json: { advance_ms: Math.max(0, Math.round(ms)) } });
  if (res.status !== 200) w.fail(`advancing the test clock answered ${res.status}`, 200, res.body);
  w.time.reset(res.body.now, res.sentAt);
  const now = Date.parse(res.body.now);
  await w.syncAll();
  for (const [mi, view] of before) {
    for (const e of mi.events.slice(view.lastSeq)) {
      if (Date.parse(e.at) > now) w.fail(`event ${e.event_type} of intent ${mi.id} is stamped ${e.at}, after the server clock ${res.body.now} (CLK-004)`, `<= ${res.body.now}`, e.at);
    }
    if (isTerminalStatus(view.status)) continue;
    const open = view.attempts.at(-1);
    const lease = open?.deliveryId ? w.leases.get(open.deliveryId) : undefined;
    if (!open || open.closed || lease === undefined || lease > now) continue;
    // That lease expired during the advance: its attempt failed, and the last one ends the intent (DLV-025, DLV-020).
    const after = viewOf(mi.events);
    const failed = after.attempts.find((a) => a.deliveryId === open.deliveryId)?.failedAt !== undefined;
    if (!failed) w.fail(`the lease of delivery ${open.deliveryId} (intent ${mi.id}) expired at ${new Date(lease).toISOString()} but no intent.delivery_attempt followed by ${res.body.now} (DLV-025, CLK-002)`, 'intent.delivery_attempt', mi.events.map((e) => e.event_type));
    if (open.attempt >= mi.maxAttempts && !(after.status === 'FAILED' && after.deliveryFailed)) {
      w.fail(`the last attempt (${open.attempt} of ${mi.maxAttempts}) of intent ${mi.id} expired but the intent is ${after.status}, not FAILED by delivery_failed (DLV-020)`, 'FAILED + intent.delivery_failed', mi.events.map((e) => e.event_type));
    }
  }
}

/** Lets the open delivery of `mi` go un-acknowledged until its lease expires (DLV-025). */
export async function dropLease(w: World, mi: ModelIntent): Promise<void> {
  const open = viewOf(mi.events).attempts.at(-1);
  const lease = open?.deliveryId ? w.leases.get(open.deliveryId) : undefined;
  if (!open || open.closed || lease === undefined || isTerminalStatus(w.status(mi))) {
    w.log.add(`drop: intent ${mi.id} holds no open delivery the kit saw; nothing to let expire`);
    return;
  }
  if (w.options.clock) return advanceClock(w, Math.max(0, lease - w.time.window().low) + 1);
  await w.ctx.waitForEvent(mi.id, w.sender.key, (e) => e.event_type === 'intent.delivery_attempt' && e.details?.attempt === open.attempt, w.options.policy.leaseSeconds * 1000 + 5_000);
  await w.syncAll();
}

/**
 * Ends a run: the agent keeps receiving without acknowledging until every attempt is used. Then
 * every intent is either held by the agent (ACKNOWLEDGED, IN_PROGRESS, WAITING) or terminal, and
 * each one the agent never took ended FAILED with intent.delivery_failed: none is lost (DLV-030).
 */
export async function drain(w: World): Promise<void> {
  const { leaseSeconds, maxDelayMs, maxAttempts } = w.options.policy;
  const unsettled = () => w.intents.filter((mi) => ['SUBMITTED', 'DELIVERED'].includes(w.status(mi)));
  const pending = new Set(unsettled());
  const attempts = Math.max(maxAttempts, ...w.intents.map((m) => m.maxAttempts));
  const rounds = attempts + 2;
  if (w.options.clock) {
    for (let round = 0; round < rounds && unsettled().length > 0; round++) {
      await receive(w, 'poll');
      if (unsettled().length === 0) break;
      await advanceClock(w, leaseSeconds * 1000 + maxDelayMs * 1.2 + 1_000);
    }
  } else {
    // Real time: a long poll answers as soon as any one delivery is ready, so rounds would run out
    // on many intents; bound the drain by time instead: every attempt's lease and longest backoff,
    // scaled like every other bound of the run.
    const waitSeconds = Math.min(60, Math.ceil(leaseSeconds + (maxDelayMs * 1.2) / 1000) + 1);
    const deadline = performance.now() + (attempts + 1) * waitSeconds * 1000 * w.ctx.timeoutScale;
    while (unsettled().length > 0 && performance.now() < deadline) await receive(w, 'poll', { waitSeconds });
  }
  for (const mi of w.intents) {
    const view = viewOf(mi.events);
    if (['SUBMITTED', 'DELIVERED'].includes(view.status)) {
      w.fail(`intent ${mi.id} is still ${view.status} after every attempt was used: an accepted intent ends delivered or FAILED with delivery_failed (DLV-030)`, 'settled', mi.events.map((e) => e.event_type));
    }
    if (pending.has(mi) && !(view.status === 'FAILED' && view.deliveryFailed)) {
      w.fail(`intent ${mi.id} was never acknowledged, yet it ended ${view.status} without intent.delivery_failed (DLV-020, DLV-030)`, 'FAILED + intent.delivery_failed', mi.events.map((e) => e.event_type));
    }
  }
}
