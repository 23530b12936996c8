// PROP-004..006: scheduled interleavings (fc.scheduler) of requests that race on the server:
// concurrent duplicate creates, a resolve racing its deadline, an ack racing its lease expiry.
// The scheduler picks the order in which the racing requests start; the server sees them
// concurrently. Afterwards the same invariants as the stateful suite hold.
import fc from 'fast-check';
import type { CaseContext, ConformanceCase, HttpResponse } from '../case.js';
import { canonicalize } from '../wire/idempotency.js';
import { lifecycleBodyArb, type CreateBody } from './arbitraries.js';
import { PLACEHOLDER } from './commands.js';
import { checkProperty, type PropertyPlan, type RunLog } from './harness.js';
import { viewOf, type WireDelivery, type WireIntent } from './model.js';
import { receive } from './receive.js';
import { newWorld, policyFor } from './stateful.js';
import { advanceClock } from './timers.js';
import type { ModelIntent, World } from './world.js';

/** Creates an intent and takes it into the world's model. */
export async function send(w: World, body: CreateBody): Promise<ModelIntent> {
  const res = await w.call({ method: 'POST', path: '/v1/intents', key: w.sender.key, json: { ...body, to_agent: w.worker.address } });
  if (res.status !== 200) w.fail(`a valid create answered ${res.status}`, 200, res.body);
  const intent = res.body.intent as WireIntent;
  w.time.observe(intent.created_at, res.sentAt);
  const mi: ModelIntent = { id: intent.intent_id, body, createAnswer: res.body, events: [], intent, maxAttempts: Number(intent.max_delivery_attempts), keyedWrites: [] };
  w.intents.push(mi);
  await w.sync(mi);
  return mi;
}

/** Starts each request when the scheduler releases it, so its order is part of the counterexample. */
async function race(s: fc.Scheduler, w: World, starts: Array<[string, () => Promise<HttpResponse>]>): Promise<HttpResponse[]> {
  const running = starts.map(([label, start]) => s.schedule(Promise.resolve(label), label).then((l) => {
    w.log.add(`start ${l}`);
    return start();
  }));
  // A request failing while the scheduler still releases the others is reported by Promise.all
  // below; until then it must not count as an unhandled rejection.
  for (const r of running) r.catch(() => undefined);
  await s.waitAll();
  return Promise.all(running);
}

const DUPLICATES: PropertyPlan = { caseId: 'PROP-004', runs: 15, deepRuns: 150, budgetMs: 2_500 };

const duplicatesCase: ConformanceCase = {
  id: 'PROP-004',
  group: 'PROP',
  title: 'concurrent creates with one Idempotency-Key, in any start order: one intent, one first answer, the rest replay or conflict',
  level: 'MUST',
  requirements: ['IDEM-001', 'IDEM-002', 'IDEM-003', 'IDEM-004', 'IDEM-008', 'EVT-002', 'ERR-007', 'ERR-008'],
  needsCapabilities: ['binding.stream'],
  needsAdmin: true,
  timeoutMs: 90_000,
  async run(ctx) {
    const kinds = fc.array(fc.constantFrom('same', 'new-correlation-id', 'other-body'), { minLength: 2, maxLength: 6 });
    await checkProperty(ctx, DUPLICATES, fc.tuple(lifecycleBodyArb(PLACEHOLDER), kinds, fc.scheduler()), async ([body, list, s], log) => {
      const w = await newWorld(ctx, log);
      const key = ctx.unique('dup');
      const bodies = list.map((kind, i) => {
        const b: CreateBody = { ...body, to_agent: w.worker.address };
        if (kind === 'new-correlation-id') b.correlation_id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
        if (kind === 'other-body') b.payload = { other: i };
        return b;
      });
      const answers = await race(s, w, bodies.map((b, i) => [`create #${i} (${list[i]})`, () => w.call({ method: 'POST', path: '/v1/intents', key: w.sender.key, json: b, headers: { 'idempotency-key': key } })]));
      const firsts = answers.map((a, i) => ({ a, i })).filter(({ a }) => a.status === 200 && a.headers['idempotent-replayed'] !== 'true');
      if (firsts.length !== 1) w.fail(`exactly one create may be answered as the first (without Idempotent-Replayed), got ${firsts.length} (IDEM-002, IDEM-008)`, 1, answers.map((a) => [a.status, a.headers['idempotent-replayed'] ?? '-']));
      const winner = bodies[firsts[0].i];
      const id = firsts[0].a.body.intent_id as string;
      answers.forEach((a, i) => {
        const same = canonicalize({ ...bodies[i], correlation_id: undefined }) === canonicalize({ ...winner, correlation_id: undefined });
        if (same && (a.status !== 200 || a.body.intent_id !== id)) w.fail(`create #${i} has the winning body and must be answered with intent ${id} (IDEM-008, IDEM-004)`, id, { status: a.status, body: a.body });
        if (!same && (a.status !== 409 || a.body.code !== 'idempotency_key_conflict')) w.fail(`create #${i} has another body and must get 409 idempotency_key_conflict (IDEM-003)`, 409, { status: a.status, body: a.body });
      });
      const intent = firsts[0].a.body.intent as WireIntent;
      w.intents.push({ id, body: winner, createAnswer: firsts[0].a.body, events: [], intent, maxAttempts: Number(intent.max_delivery_attempts), keyedWrites: [] });
      await w.syncAll();
      await w.expectSentIntents('after concurrent duplicates');
    });
  },
};

const ENDINGS = [
  { label: 'resolve COMPLETED', path: 'resolve', worker: true, json: { status: 'COMPLETED', result: { raced: true } }, status: 'COMPLETED' },
  { label: 'resume fail', path: 'resume', worker: true, json: { action: 'fail', error: { code: 'raced' } }, status: 'FAILED' },
  { label: 'cancel', path: 'cancel', worker: false, json: { reason: 'raced' }, status: 'CANCELED' },
] as const;

const DEADLINE: PropertyPlan = { caseId: 'PROP-005', runs: 12, deepRuns: 120, budgetMs: 2_500 };

const deadlineCase: ConformanceCase = {
  id: 'PROP-005',
  group: 'PROP',
  title: 'a resolve racing the deadline, in any order: exactly one terminal outcome, and the loser is refused intent_terminal',
  level: 'MUST',
  requirements: ['LC-009', 'LC-017', 'LC-020', 'LC-023', 'LC-015', 'EVT-002', 'CLK-002', 'CLK-006'],
  needsCapabilities: ['binding.stream', 'ext.test-clock'],
  needsAdmin: true,
  timeoutMs: 90_000,
  async run(ctx) {
    const arb = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.boolean(), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 60, max: 600 }), fc.scheduler());
    await checkProperty(ctx, DEADLINE, arb, async ([which, delivered, beforeMs, ttl, s], log) => {
      const w = await newWorld(ctx, log);
      const mi = await send(w, { intent_type: 'kit.race.deadline.v1', to_agent: PLACEHOLDER, payload: { ttl }, ttl_seconds: ttl });
      if (delivered) await receive(w, 'poll');
      const deadline = Date.parse(String(mi.intent.deadline_at));
      await advanceClock(w, Math.max(0, deadline - w.time.window().low - beforeMs));
      const ending = ENDINGS[which];
      const [write, clock] = await race(s, w, [
        [ending.label, () => w.call({ method: 'POST', path: `/v1/intents/${mi.id}/${ending.path}`, key: ending.worker ? w.worker.key : w.sender.key, json: ending.json })],
        [`clock +${beforeMs + 1000} ms (past the deadline)`, () => w.call({ method: 'POST', path: '/v1/_test/clock', key: ctx.adminKey, json: { advance_ms: beforeMs + 1000 } })],
      ]);
      w.time.reset(clock.body?.now, performance.now());
      await w.syncAll();
      const view = viewOf(mi.events);
      const terminals = mi.events.filter((e) => ['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT'].includes(e.status));
      if (terminals.length !== 1) w.fail(`exactly one terminal event must be appended, got ${terminals.length} (LC-009, LC-017)`, 1, mi.events.map((e) => e.event_type));
      if (write.status === 200 && view.status !== ending.status) w.fail(`the ${ending.label} was answered 200 but the intent ended ${view.status}`, ending.status, view.status);
      if (write.status !== 200 && !(write.status === 409 && write.body.code === 'intent_terminal' && view.status === 'TIMED_OUT')) {
        w.fail(`the ${ending.label} must either win (200) or lose to the deadline (409 intent_terminal, TIMED_OUT), got ${write.status} ${write.body?.code ?? ''} with ${view.status} (LC-023)`, '200, or 409 with TIMED_OUT', { status: write.status, body: write.body, intent: view.status });
      }
      await advanceClock(w, 60_000);
      await receive(w, 'poll');
      if (mi.events.length !== view.lastSeq) w.fail('a terminal intent got more events afterwards (LC-015)', view.lastSeq, mi.events.map((e) => e.event_type));
    });
  },
};

const LEASE: PropertyPlan = { caseId: 'PROP-006', runs: 12, deepRuns: 120, budgetMs: 2_500 };

const leaseCase: ConformanceCase = {
  id: 'PROP-006',
  group: 'PROP',
  title: 'an ack racing its lease expiry, in any order: acknowledged and never redelivered, or (last attempt) FAILED by delivery_failed',
  level: 'MUST',
  requirements: ['DLV-010', 'DLV-017', 'DLV-020', 'DLV-025', 'DLV-030', 'LC-017', 'EVT-002', 'CLK-002'],
  needsCapabilities: ['binding.stream', 'ext.test-clock'],
  needsAdmin: true,
  timeoutMs: 90_000,
  async run(ctx) {
    const arb = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 400 }), fc.boolean(), fc.scheduler());
    await checkProperty(ctx, LEASE, arb, async ([attempts, beforeMs, namesDelivery, s], log) => {
      const w = await newWorld(ctx, log, policyFor(ctx, 2));
      const mi = await send(w, { intent_type: 'kit.race.lease.v1', to_agent: PLACEHOLDER, payload: {}, max_delivery_attempts: attempts });
      await receive(w, 'poll');
      const current = viewOf(mi.events).attempts.at(-1);
      const lease = current?.deliveryId ? w.leases.get(current.deliveryId) : undefined;
      if (!current?.deliveryId || lease === undefined) return w.fail(`intent ${mi.id} was not delivered on the first poll (DLV-006)`, 'a delivery', mi.events.map((e) => e.event_type));
      await advanceClock(w, Math.max(0, lease - w.time.window().low - beforeMs));
      const [ack, clock] = await race(s, w, [
        ['ack', () => w.call({ method: 'POST', path: `/v1/intents/${mi.id}/ack`, key: w.worker.key, json: namesDelivery ? { delivery_id: current.deliveryId } : {} })],
        [`clock +${beforeMs + 1000} ms (past the lease)`, () => w.call({ method: 'POST', path: '/v1/_test/clock', key: ctx.adminKey, json: { advance_ms: beforeMs + 1000 } })],
      ]);
      w.time.reset(clock.body?.now, performance.now());
      await w.syncAll();
      const view = viewOf(mi.events);
      if (ack.status === 200 && view.status !== 'ACKNOWLEDGED') w.fail(`the ack was answered 200 but the intent is ${view.status}`, 'ACKNOWLEDGED', view.status);
      if (ack.status !== 200) {
        const lost = ack.status === 409 && ack.body.code === 'intent_terminal' && attempts === 1 && view.status === 'FAILED' && view.deliveryFailed;
        if (!lost) w.fail(`an ack of the current delivery must be accepted, even after its lease expired (DLV-017), unless that was the last attempt; got ${ack.status} ${ack.body?.code ?? ''} with ${view.status}`, 200, { status: ack.status, body: ack.body, events: mi.events.map((e) => e.event_type) });
      }
      // An acknowledged intent is never delivered again (DLV-010); the poll checks it must not be.
      await advanceClock(w, 30_000);
      await receive(w, 'poll');
    });
  },
};

export const concurrencyCases: ConformanceCase[] = [duplicatesCase, deadlineCase, leaseCase];
