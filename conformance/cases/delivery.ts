// Chapter 6: the delivery model — acks, leases, retries with bounded backoff, exhaustion, dead
// letters and redeliver. Timings use the test clock when advertised, short leases otherwise.
import type { CaseContext, RegisteredAgent } from '../case.js';
import { allowedDelayBounds, delayWithin } from '../wire/backoff.js';
import {
  agent, check, checkContiguous, equal, events, eventuallyEvent, fit, gapMs, getIntent, group, needs, ok, passTime, poll, pollFor, problem, send, types, UUID, write, writeOk, type Wire, scaled
} from './support.js';
import { ackOk, pair, polledIntent, sentIntent } from './flows.js';

const pollCap = needs('binding.poll');

function leaseMs(who: RegisteredAgent): number {
  return Number(who.delivery.lease_seconds) * 1000;
}

function policyOf(who: RegisteredAgent) {
  return { initial_delay_ms: Number(who.delivery.initial_delay_ms), max_delay_ms: Number(who.delivery.max_delay_ms), multiplier: Number(who.delivery.multiplier) };
}

/** Lets the lease of attempt `n` expire un-acked; returns its intent.delivery_attempt event. */
async function expire(ctx: CaseContext, who: RegisteredAgent, intentId: string, n: number): Promise<Wire> {
  const advanced = await passTime(ctx, leaseMs(who));
  return eventuallyEvent(ctx, intentId, ctx.adminKey, `intent.delivery_attempt for attempt ${n} after its lease`, (e) => e.event_type === 'intent.delivery_attempt' && e.details?.attempt === n, advanced ? 2000 : leaseMs(who) + 2000);
}

/**
 * Waits out the retry delay, then polls the next attempt. The wait is the longer of the delay the
 * failure announced and the policy's longest allowed one (DLV-013): whether the announcement is
 * right is DLV-005's to judge, not every case that needs the retry.
 */
async function retried(ctx: CaseContext, who: RegisteredAgent, intentId: string, failure: Wire): Promise<Wire> {
  const announced = gapMs(failure.at, failure.details.next_attempt_at);
  const delay = Math.max(Number.isFinite(announced) ? announced : 0, allowedDelayBounds(policyOf(who), Number(failure.details?.attempt ?? 1)).max);
  const advanced = await passTime(ctx, delay + 1);
  return pollFor(ctx, who, intentId, advanced ? 3000 : delay + 3000);
}

/** Drives an intent through `attempts` expired leases; returns the last failure event. */
async function exhaust(ctx: CaseContext, who: RegisteredAgent, intentId: string, attempts: number): Promise<Wire> {
  let failure: Wire;
  await pollFor(ctx, who, intentId);
  for (let n = 1; ; n++) {
    failure = await expire(ctx, who, intentId, n);
    if (n === attempts) return failure;
    await retried(ctx, who, intentId, failure);
  }
}

async function deadLetters(ctx: CaseContext, who: RegisteredAgent, query: Record<string, string | number> = {}): Promise<Wire> {
  return ok(await ctx.request({ method: 'GET', path: '/v1/dead-letters', key: ctx.adminKey, query: { agent: who.address, ...query }, expectSchema: 'dead-letter-list-response' }), 'GET /v1/dead-letters');
}

export const deliveryCases = group('DLV', [
  {
    id: 'DLV-001',
    title: 'a delivery carries the intent flat, a UUID delivery_id and lease_expires_at = issue + lease_seconds',
    level: 'MUST',
    requirements: ['DLV-001', 'DLV-005', 'TERM-011', 'DLV-004'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i, d } = await polledIntent(ctx, { worker: { lease_seconds: fit(ctx, 'lease_seconds', 45) }, intent: { ttl_seconds: 3600, human_task: { title: 'Check', task_type: 'review' } } });
      for (const f of ['intent_id', 'intent_type', 'from_agent', 'to_agent', 'correlation_id', 'payload', 'deadline_at', 'human_task']) equal(d[f], i[f], `delivery.${f}`);
      check(UUID.test(d.delivery_id), 'delivery_id must be a lower-case UUID', 'uuid', d.delivery_id);
      equal({ attempt: d.attempt, max: d.max_delivery_attempts, status: d.status }, { attempt: 1, max: i.max_delivery_attempts, status: 'DELIVERED' }, 'attempt, max_delivery_attempts, status');
      const delivered = (await events(ctx, i.intent_id, sender.key)).find((e) => e.event_type === 'intent.delivered');
      const lease = gapMs(delivered.at, d.lease_expires_at);
      check(Math.abs(lease - leaseMs(worker)) <= 50, 'lease_expires_at must be the issue time plus lease_seconds', leaseMs(worker), lease);
      equal((await getIntent(ctx, i.intent_id, sender.key)).delivery_attempt, 1, 'intent.delivery_attempt after the first attempt');
    },
  },
  {
    id: 'DLV-002',
    title: 'an ack without delivery_id acknowledges the current delivery and no redelivery follows',
    level: 'MUST',
    requirements: ['DLV-010', 'DLV-011'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i, d } = await polledIntent(ctx);
      const acked = await ackOk(ctx, i.intent_id, worker.key, undefined);
      equal(acked.event.details?.delivery_id, d.delivery_id, 'the acknowledged delivery');
      const advanced = await passTime(ctx, leaseMs(worker) + 1.2 * Number(worker.delivery.initial_delay_ms) + 10);
      const again = await poll(ctx, worker, { wait_seconds: advanced ? 0 : Math.ceil(leaseMs(worker) / 1000) + 1 });
      equal(again.deliveries.length, 0, 'redeliveries after the ack');
      equal(types(await events(ctx, i.intent_id, sender.key)).at(-1), 'intent.acknowledged', 'the last event');
    },
  },
  {
    id: 'DLV-003',
    title: 'an ack naming a delivery that is not current is 409 stale_delivery and changes nothing',
    level: 'MUST',
    requirements: ['DLV-012'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i, d: d1 } = await polledIntent(ctx);
      problem(await write(ctx, i.intent_id, 'ack', worker.key, { delivery_id: crypto.randomUUID() }), 409, 'stale_delivery', 'ack with a delivery_id of no delivery');
      const failure = await expire(ctx, worker, i.intent_id, 1);
      const d2 = await retried(ctx, worker, i.intent_id, failure);
      const before = await getIntent(ctx, i.intent_id, sender.key);
      problem(await write(ctx, i.intent_id, 'ack', worker.key, { delivery_id: d1.delivery_id }), 409, 'stale_delivery', 'ack with the previous attempt\'s delivery_id');
      const after = await getIntent(ctx, i.intent_id, sender.key);
      equal([after.status, after.last_seq], [before.status, before.last_seq], 'status and last_seq after a stale ack');
      await ackOk(ctx, i.intent_id, worker.key, { delivery_id: d2.delivery_id });
    },
  },
  {
    id: 'DLV-004',
    title: 'the sender cannot ack (403) and a stranger gets 404',
    level: 'MUST',
    requirements: ['DLV-016', 'RES-012'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, stranger, i } = await polledIntent(ctx, { stranger: true });
      problem(await write(ctx, i.intent_id, 'ack', sender.key, {}), 403, 'forbidden', 'ack by the sender');
      problem(await write(ctx, i.intent_id, 'ack', stranger.key, {}), 404, 'intent_not_found', 'ack by a stranger');
      await ackOk(ctx, i.intent_id, ctx.adminKey, {});
    },
  },
  {
    id: 'DLV-005',
    title: 'an expired lease is a failed attempt (lease_expired); retries follow the bounded backoff with a new delivery_id',
    level: 'MUST',
    requirements: ['DLV-025', 'DLV-013', 'DLV-014', 'DLV-003', 'DLV-004', 'EVT-004', 'LC-008', 'LC-012', 'DLV-030'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { worker: { max_delivery_attempts: 3 } });
      let d = await pollFor(ctx, worker, i.intent_id);
      for (let n = 1; n <= 2; n++) {
        const failure = await expire(ctx, worker, i.intent_id, n);
        check(Date.parse(failure.at) >= Date.parse(d.lease_expires_at), 'the lease was declared expired before lease_expires_at', d.lease_expires_at, failure.at);
        const bounds = allowedDelayBounds(policyOf(worker), n);
        const delay = gapMs(failure.at, failure.details.next_attempt_at);
        check(delayWithin(bounds, delay, 5), `delay after failed attempt ${n} outside [0.8d, 1.2d] (DLV-013)`, bounds, delay);
        const next = await retried(ctx, worker, i.intent_id, failure);
        equal(next.attempt, n + 1, 'attempt of the redelivery');
        check(next.delivery_id !== d.delivery_id && next.seq === d.seq + 1, 'a redelivery needs a new delivery_id and the next seq', { seq: d.seq + 1 }, next);
        equal(next.intent_id, i.intent_id, 'intent_id of the redelivery');
        const delivered = (await events(ctx, i.intent_id, sender.key)).filter((e) => e.event_type === 'intent.delivered').at(-1);
        check(Date.parse(delivered.at) >= Date.parse(failure.details.next_attempt_at), 'the next attempt was issued before next_attempt_at (DLV-014)', failure.details.next_attempt_at, delivered.at);
        equal(delivered.status, 'DELIVERED', 'status after the redelivery (LC-012)');
        // The failure's names after its timing, so a missing backoff is not hidden behind them.
        equal({ error: failure.details.error, status: failure.status }, { error: 'lease_expired', status: 'DELIVERED' }, `attempt ${n} failure (no status change, LC-008)`);
        d = next;
      }
      equal((await getIntent(ctx, i.intent_id, sender.key)).delivery_attempt, 3, 'intent.delivery_attempt (DLV-004)');
    },
  },
  {
    id: 'DLV-006',
    title: 'an expired lease is recorded within one second',
    level: 'SHOULD',
    requirements: ['DLV-026'],
    ...pollCap,
    async run(ctx) {
      const { worker, i, d } = await polledIntent(ctx);
      const failure = await expire(ctx, worker, i.intent_id, 1);
      const late = gapMs(d.lease_expires_at, failure.at);
      check(late <= scaled(ctx, 1000), 'the lease expiry was recorded too late', `<= ${scaled(ctx, 1000)} ms`, late);
    },
  },
  {
    id: 'DLV-007',
    title: 'a late ack of the still-current delivery is accepted and cancels the redelivery',
    level: 'MUST',
    requirements: ['DLV-017'],
    ...pollCap,
    async run(ctx) {
      const { worker, i, d } = await polledIntent(ctx, { worker: { initial_delay_ms: fit(ctx, 'initial_delay_ms', 1500), max_delay_ms: fit(ctx, 'max_delay_ms', 5000) } });
      const failure = await expire(ctx, worker, i.intent_id, 1);
      const acked = await ackOk(ctx, i.intent_id, worker.key, { delivery_id: d.delivery_id });
      equal(acked.event.details?.delivery_id, d.delivery_id, 'acknowledged delivery');
      const delay = gapMs(failure.at, failure.details.next_attempt_at);
      const advanced = await passTime(ctx, delay + 10);
      const again = await poll(ctx, worker, { wait_seconds: advanced ? 0 : Math.ceil(delay / 1000) + 1 });
      equal(again.deliveries.length, 0, 'redeliveries after the late ack');
    },
  },
  {
    id: 'DLV-008',
    title: 'resume closes the open delivery without intent.acknowledged and without redelivery',
    level: 'MUST',
    requirements: ['DLV-018'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await polledIntent(ctx);
      await writeOk(ctx, i.intent_id, 'resume', worker.key, { action: 'progress' }, 'intent.in_progress', 'IN_PROGRESS');
      const advanced = await passTime(ctx, leaseMs(worker) + 1.2 * Number(worker.delivery.initial_delay_ms) + 10);
      const again = await poll(ctx, worker, { wait_seconds: advanced ? 0 : Math.ceil(leaseMs(worker) / 1000) + 1 });
      equal(again.deliveries.length, 0, 'redeliveries after resume');
      equal(types(await events(ctx, i.intent_id, sender.key)), ['intent.created', 'intent.submitted', 'intent.delivered', 'intent.in_progress'], 'events');
    },
  },
  {
    id: 'DLV-009',
    title: 'exhausted attempts: next_attempt_at null, intent.delivery_failed, FAILED delivery_failed and a dead letter',
    level: 'MUST',
    requirements: ['DLV-019', 'DLV-020', 'DLV-021', 'INT-015'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { worker: { max_delivery_attempts: 2 } });
      const last = await exhaust(ctx, worker, i.intent_id, 2);
      equal(last.details.next_attempt_at, null, 'next_attempt_at of the last failed attempt');
      const list = await events(ctx, i.intent_id, sender.key);
      equal(types(list).slice(-2), ['intent.delivery_attempt', 'intent.delivery_failed'], 'the last two events');
      equal(list.at(-1).status, 'FAILED', 'status of intent.delivery_failed');
      const failed = await getIntent(ctx, i.intent_id, sender.key);
      equal({ s: failed.status, c: failed.error?.code, p: failed.pending_with }, { s: 'FAILED', c: 'delivery_failed', p: null }, 'the failed intent');
      check(typeof failed.error.message === 'string', 'error.message must be set', 'message', failed.error);
      const dl = await deadLetters(ctx, worker);
      equal(dl.dead_letters.length, 1, 'dead letters for the agent');
      const entry = dl.dead_letters[0];
      equal({ id: entry.intent_id, to: entry.to_agent, b: entry.binding, n: entry.attempts, e: entry.last_error }, { id: i.intent_id, to: worker.address, b: 'poll', n: 2, e: 'lease_expired' }, 'dead-letter entry');
      check(!entry.redelivered_at, 'a fresh dead-letter entry has no redelivered_at', null, entry.redelivered_at);
      const extra = await poll(ctx, worker);
      equal(extra.deliveries.length, 0, 'deliveries after exhaustion');
    },
  },
  {
    id: 'DLV-010',
    title: 'redeliver reopens a dead-lettered intent with a fresh round; a second exhaustion replaces the entry',
    level: 'MUST',
    requirements: ['DLV-022', 'DLV-024', 'LC-014', 'INT-016'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { worker: { max_delivery_attempts: 1 } });
      await exhaust(ctx, worker, i.intent_id, 1);
      const answer = await writeOk(ctx, i.intent_id, 'redeliver', ctx.adminKey, undefined, 'intent.submitted', 'SUBMITTED');
      equal(answer.event.details?.redelivery, true, 'details.redelivery');
      equal({ a: answer.intent.delivery_attempt, e: answer.intent.error ?? null }, { a: 0, e: null }, 'delivery_attempt and error after redeliver');
      const marked = (await deadLetters(ctx, worker)).dead_letters;
      check(marked.length === 1 && typeof marked[0].redelivered_at === 'string', 'the dead-letter entry must get redelivered_at', 'a timestamp', marked);
      const d = await pollFor(ctx, worker, i.intent_id);
      equal(d.attempt, 1, 'the first attempt of the new round');
      await expire(ctx, worker, i.intent_id, 1);
      await eventuallyEvent(ctx, i.intent_id, sender.key, 'a second intent.delivery_failed', (e) => e.event_type === 'intent.delivery_failed' && e.seq > answer.event.seq);
      const again = (await deadLetters(ctx, worker)).dead_letters;
      equal(again.length, 1, 'dead-letter entries of the intent after a second exhaustion');
      check(!again[0].redelivered_at, 'the replaced entry must have redelivered_at null', null, again[0].redelivered_at);
    },
  },
  {
    id: 'DLV-011',
    title: 'agent keys get 403 on dead letters and redeliver',
    level: 'MUST',
    requirements: ['DLV-023', 'SEC-003'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx);
      problem(await ctx.request({ method: 'GET', path: '/v1/dead-letters', key: worker.key }), 403, 'forbidden', 'dead letters with an agent key');
      problem(await write(ctx, i.intent_id, 'redeliver', sender.key, undefined), 403, 'forbidden', 'redeliver with the sender key');
      problem(await write(ctx, i.intent_id, 'redeliver', worker.key, undefined), 403, 'forbidden', 'redeliver with the receiver key');
    },
  },
  {
    id: 'DLV-012',
    title: 'a receiver that never connects uses up no attempts',
    level: 'MUST',
    requirements: ['DLV-006', 'DLV-030'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { worker: { max_delivery_attempts: 1 } });
      if (!(await passTime(ctx, 10 * leaseMs(worker) + 60_000))) {
        await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: sender.key, query: { wait_seconds: Math.ceil((2 * leaseMs(worker)) / 1000) } });
      }
      const still = await getIntent(ctx, i.intent_id, sender.key);
      equal({ s: still.status, a: still.delivery_attempt }, { s: 'SUBMITTED', a: 0 }, 'status and delivery_attempt while nobody polls');
      equal(types(await events(ctx, i.intent_id, sender.key)), ['intent.created', 'intent.submitted'], 'events while nobody polls');
      equal((await pollFor(ctx, worker, i.intent_id)).attempt, 1, 'the first poll gets attempt 1');
    },
  },
  {
    id: 'DLV-013',
    title: 'an intent\'s max_delivery_attempts bounds its round: one expired lease fails it',
    level: 'MUST',
    requirements: ['DLV-019', 'INT-014'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { worker: { max_delivery_attempts: 3 }, intent: { max_delivery_attempts: 1 } });
      const last = await exhaust(ctx, worker, i.intent_id, 1);
      equal(last.details.next_attempt_at, null, 'next_attempt_at after the only attempt');
      const failed = await eventuallyEvent(ctx, i.intent_id, sender.key, 'intent.delivery_failed', (e) => e.event_type === 'intent.delivery_failed');
      equal(failed.status, 'FAILED', 'status');
    },
  },
  {
    id: 'DLV-014',
    title: 'resume and resolve accept an older delivery_id but refuse one of no delivery (stale_delivery)',
    level: 'MUST',
    requirements: ['RES-013'],
    ...pollCap,
    async run(ctx) {
      const { worker, i, d: d1 } = await polledIntent(ctx);
      await retried(ctx, worker, i.intent_id, await expire(ctx, worker, i.intent_id, 1));
      problem(await write(ctx, i.intent_id, 'resume', worker.key, { action: 'progress', delivery_id: crypto.randomUUID() }), 409, 'stale_delivery', 'resume naming no delivery of the intent');
      await writeOk(ctx, i.intent_id, 'resume', worker.key, { action: 'progress', delivery_id: d1.delivery_id }, 'intent.in_progress', 'IN_PROGRESS');
      problem(await write(ctx, i.intent_id, 'resolve', worker.key, { status: 'COMPLETED', delivery_id: crypto.randomUUID() }), 409, 'stale_delivery', 'resolve naming no delivery of the intent');
      await writeOk(ctx, i.intent_id, 'resolve', worker.key, { status: 'COMPLETED', delivery_id: d1.delivery_id }, 'intent.completed', 'COMPLETED');
    },
  },
  {
    id: 'DLV-015',
    title: 'dead letters are listed newest first and paginated by limit and cursor',
    level: 'MUST',
    requirements: ['DLV-021'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: { max_delivery_attempts: 1 } });
      const a = await send(ctx, sender, worker.address);
      await exhaust(ctx, worker, a.intent_id, 1);
      const b = await send(ctx, sender, worker.address);
      await exhaust(ctx, worker, b.intent_id, 1);
      await eventuallyEvent(ctx, b.intent_id, sender.key, 'intent.delivery_failed', (e) => e.event_type === 'intent.delivery_failed');
      const first = await deadLetters(ctx, worker, { limit: 1 });
      check(first.dead_letters.length === 1 && typeof first.next_cursor === 'string', 'limit=1 must give one entry and a next_cursor', 1, first);
      const second = await deadLetters(ctx, worker, { limit: 1, cursor: first.next_cursor });
      equal(second.dead_letters.length, 1, 'entries on the second page');
      const third = second.next_cursor ? await deadLetters(ctx, worker, { limit: 1, cursor: second.next_cursor }) : { dead_letters: [], next_cursor: null };
      equal({ n: third.dead_letters.length, c: third.next_cursor }, { n: 0, c: null }, 'after the last entry');
      const ids = [first.dead_letters[0].intent_id, second.dead_letters[0].intent_id];
      equal([...ids].sort(), [a.intent_id, b.intent_id].sort(), 'both entries, once each');
      check(Date.parse(first.dead_letters[0].failed_at) >= Date.parse(second.dead_letters[0].failed_at), 'dead letters must be newest failed_at first', 'descending', ids);
    },
  },
  {
    id: 'DLV-016',
    title: 'seq stays contiguous across a failed attempt, its redelivery and the result',
    level: 'MUST',
    // EVT-002 under the writers a retry adds (the lease expiry, the next attempt); concurrent
    // writers are EVT-002's own case.
    requirements: ['EVT-002'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { worker: { max_delivery_attempts: 2 } });
      await pollFor(ctx, worker, i.intent_id);
      const failure = await expire(ctx, worker, i.intent_id, 1);
      const next = await retried(ctx, worker, i.intent_id, failure);
      await writeOk(ctx, i.intent_id, 'resolve', worker.key, { status: 'COMPLETED', delivery_id: next.delivery_id }, 'intent.completed', 'COMPLETED');
      checkContiguous(await events(ctx, i.intent_id, sender.key));
    },
  },
]);
