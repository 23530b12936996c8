// Chapter 11: the internal binding (delay handler), reminders and escalation.
import { NotApplicable, type CaseContext, type RegisteredAgent } from '../case.js';
import {
  agent, check, equal, events, fit, gapMs, getIntent, group, intentBody, needs, ok, passTime, pollFor, send, types, validationError, writeOk, type Wire, scaled
} from './support.js';
import { ackOk, pair, polledIntent, sentIntent } from './flows.js';

const internalCap = needs('binding.internal', 'binding.poll');
const pollCap = needs('binding.poll');
const DELAY = 'intent.internal.delay.v1';

async function internalAgent(ctx: CaseContext): Promise<RegisteredAgent> {
  return agent(ctx, 'internal', 'internal');
}

/** Protocol time passes (test clock, or real time within the caller's bounds); then the intent's events. */
async function eventsAfter(ctx: CaseContext, id: string, key: string, ms: number, settle: (list: Wire[]) => boolean, what: string): Promise<Wire[]> {
  const advanced = await passTime(ctx, ms);
  return ctx.eventually(what, async () => {
    const list = await events(ctx, id, key);
    return settle(list) ? list : undefined;
  }, advanced ? 2000 : ms + 2000);
}

/** Bounded real wait for targets without a test clock, so that "nothing more happens" is observed. */
async function quietPeriod(ctx: CaseContext, id: string, key: string, ms: number, realMs = Math.min(ms, 3000)): Promise<void> {
  if (!(await passTime(ctx, ms))) await ctx.request({ method: 'GET', path: `/v1/intents/${id}`, key, query: { wait_seconds: Math.ceil(realMs / 1000) } });
}

const reminders = (list: Wire[]) => list.filter((e) => e.event_type === 'intent.reminder');

export const internalCases = group('INTL', [
  {
    id: 'INTL-001',
    title: 'intent.internal.delay.v1 is delivered at once, waits WAITING_FOR_TIME and completes after the delay',
    level: 'MUST',
    requirements: ['INTL-001', 'INTL-003', 'EVT-008', 'EVT-009'],
    ...internalCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const internal = await internalAgent(ctx);
      const i = await send(ctx, sender, internal.address, { intent_type: DELAY, payload: { seconds: 2 } });
      const early = await eventsAfter(ctx, i.intent_id, sender.key, 1000, (l) => l.some((e) => e.event_type === 'intent.waiting'), 'intent.waiting');
      equal(types(early).slice(0, 4), ['intent.created', 'intent.submitted', 'intent.delivered', 'intent.waiting'], 'events of a delay intent');
      equal([early[3].status, early[3].waiting_reason, early[2].actor], ['WAITING', 'WAITING_FOR_TIME', 'system'], 'waiting status, reason and delivery actor');
      check(!types(early).includes('intent.completed'), 'the delay completed early', 'not completed after 1 of 2 s', types(early));
      await passTime(ctx, 1000);
      const done = (await ctx.waitForTerminal(i.intent_id, sender.key, 5000)).intent;
      equal({ s: done.status, r: done.result }, { s: 'COMPLETED', r: { delayed_seconds: 2 } }, 'the completed delay');
      const list = await events(ctx, i.intent_id, sender.key);
      const took = gapMs(list[2].at, list.at(-1).at);
      check(took >= 2000, 'the delay completed before S seconds after delivery', '>= 2000 ms', took);
    },
  },
  {
    id: 'INTL-002',
    title: 'a delay intent without a valid seconds to a known internal agent is 422 at /payload/seconds',
    level: 'MUST',
    requirements: ['INTL-004'],
    ...internalCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const internal = await internalAgent(ctx);
      for (const payload of [{}, { seconds: -1 }, { seconds: 'ten' }, { seconds: 1.5 }, { seconds: 31_536_001 }]) {
        const res = await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, internal.address, { intent_type: DELAY, payload }) });
        validationError(res, /^\/payload(\/seconds)?$/, `delay payload ${JSON.stringify(payload)}`);
      }
    },
  },
  {
    id: 'INTL-003',
    title: 'an unsupported type sent to an internal agent fails on delivery with unsupported_intent_type',
    level: 'MUST',
    requirements: ['INTL-005'],
    ...internalCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const internal = await internalAgent(ctx);
      const i = await send(ctx, sender, internal.address);
      const end = await ctx.waitForTerminal(i.intent_id, sender.key, 5000);
      equal({ s: end.intent.status, c: end.intent.error?.code }, { s: 'FAILED', c: 'unsupported_intent_type' }, 'the unsupported intent');
    },
  },
  {
    id: 'INTL-004',
    title: 'a bad delay payload sent before its receiver registers as internal fails on delivery with invalid_payload',
    level: 'MUST',
    requirements: ['INTL-004'],
    ...internalCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const path = `${ctx.unique('intl')}/late`;
      const res = await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, `agent://${path}`, { intent_type: DELAY, payload: { seconds: 'soon' } }) });
      if (res.status === 404) throw new NotApplicable('the target runs in strict-address mode; to run it, start the target without it (reference server: without --strict-addresses)');
      const i = ok(res, 'create to a not yet registered address').intent;
      ok(await ctx.request({ method: 'PUT', path: `/v1/agents/${path}`, key: ctx.adminKey, json: { delivery: { binding: 'internal' } } }), 'registering the internal agent');
      const end = await ctx.waitForTerminal(i.intent_id, sender.key, 5000);
      equal({ s: end.intent.status, c: end.intent.error?.code }, { s: 'FAILED', c: 'invalid_payload' }, 'the invalid delay');
    },
  },
  {
    id: 'INTL-005',
    title: 'reminders fall at A + (k−1)×I, at most max_reminders, by system, without a status change or attempt',
    level: 'MUST',
    requirements: ['INTL-006', 'INTL-007', 'INTL-008', 'LC-008'],
    ...pollCap,
    async run(ctx) {
      const { sender, i } = await polledIntent(ctx, { worker: { lease_seconds: fit(ctx, 'lease_seconds', 3600) }, intent: { remind_after_seconds: 1, remind_interval_seconds: 1, max_reminders: 2 } });
      await eventsAfter(ctx, i.intent_id, sender.key, 1000, (l) => reminders(l).length >= 1, 'the first reminder');
      await eventsAfter(ctx, i.intent_id, sender.key, 1000, (l) => reminders(l).length >= 2, 'the second reminder');
      await quietPeriod(ctx, i.intent_id, sender.key, 3000);
      const list = await events(ctx, i.intent_id, sender.key);
      const r = reminders(list);
      equal(r.map((e) => [e.details?.reminder, e.actor, e.status]), [[1, 'system', 'DELIVERED'], [2, 'system', 'DELIVERED']], 'reminders (number, actor, status)');
      equal(list.filter((e) => e.event_type === 'intent.delivered').length, 1, 'deliveries (a reminder is not an attempt)');
      [1000, 2000].forEach((due, k) => check(gapMs(i.created_at, r[k].at) >= due, `reminder ${k + 1} came before its due time`, `>= ${due} ms after created_at`, gapMs(i.created_at, r[k].at)));
      equal((await getIntent(ctx, i.intent_id, sender.key)).delivery_attempt, 1, 'delivery_attempt after reminders');
    },
  },
  {
    id: 'INTL-006',
    title: 'max_reminders defaults to 1, 0 means none, and no reminder follows a terminal status',
    level: 'MUST',
    requirements: ['INTL-007', 'LC-015'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const byDefault = await send(ctx, sender, worker.address, { remind_after_seconds: 1 });
      const none = await send(ctx, sender, worker.address, { remind_after_seconds: 1, max_reminders: 0 });
      const ended = await send(ctx, sender, worker.address, { remind_after_seconds: 1 });
      await writeOk(ctx, ended.intent_id, 'cancel', sender.key, {}, 'intent.canceled', 'CANCELED');
      await eventsAfter(ctx, byDefault.intent_id, sender.key, 1000, (l) => reminders(l).length >= 1, 'the default reminder');
      await quietPeriod(ctx, byDefault.intent_id, sender.key, 3000);
      equal(reminders(await events(ctx, byDefault.intent_id, sender.key)).length, 1, 'reminders with the default max_reminders');
      equal(reminders(await events(ctx, none.intent_id, sender.key)).length, 0, 'reminders with max_reminders 0');
      equal(reminders(await events(ctx, ended.intent_id, sender.key)).length, 0, 'reminders after a cancel');
    },
  },
  {
    id: 'INTL-007',
    title: 'a reminder is appended within one second of its due time',
    level: 'SHOULD',
    requirements: ['INTL-009'],
    ...pollCap,
    async run(ctx) {
      const { sender, i } = await sentIntent(ctx, { intent: { remind_after_seconds: 1 } });
      const list = await eventsAfter(ctx, i.intent_id, sender.key, 1000, (l) => reminders(l).length >= 1, 'the reminder');
      const late = gapMs(i.created_at, reminders(list)[0].at) - 1000;
      check(late <= scaled(ctx, 1000), 'the reminder came too late', `<= ${scaled(ctx, 1000)} ms`, late);
    },
  },
  {
    id: 'INTL-008',
    title: 'escalation falls after the last reminder, moves pending_with and delivers to escalate_to with escalated_from',
    level: 'MUST',
    requirements: ['INTL-010', 'INTL-012', 'INTL-013', 'INTL-015', 'INT-015'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: { lease_seconds: fit(ctx, 'lease_seconds', 3600) } });
      const backup = await agent(ctx, 'backup', 'poll', { lease_seconds: fit(ctx, 'lease_seconds', 3600) });
      const i = await send(ctx, sender, worker.address, { remind_after_seconds: 1, remind_interval_seconds: 1, max_reminders: 2, escalate_to: backup.address });
      await eventsAfter(ctx, i.intent_id, sender.key, 2000, (l) => reminders(l).length >= 2, 'two reminders');
      const list = await eventsAfter(ctx, i.intent_id, sender.key, 1000, (l) => l.some((e) => e.event_type === 'intent.escalated'), 'intent.escalated');
      const escalated = list.find((e) => e.event_type === 'intent.escalated');
      equal({ to: escalated.details?.escalate_to, actor: escalated.actor, status: escalated.status }, { to: backup.address, actor: 'system', status: 'SUBMITTED' }, 'intent.escalated');
      check(gapMs(i.created_at, escalated.at) >= 3000, 'escalation before A + M×I', '>= 3000 ms', gapMs(i.created_at, escalated.at));
      equal((await getIntent(ctx, i.intent_id, backup.key)).pending_with, backup.address, 'pending_with after escalation (read by the escalation target)');
      const d = await pollFor(ctx, backup, i.intent_id);
      equal(d.escalated_from, worker.address, 'escalated_from of the escalation delivery');
      await ackOk(ctx, i.intent_id, backup.key, {});
      ok(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: worker.key }), 'the original receiver still reads the intent');
      await quietPeriod(ctx, i.intent_id, sender.key, 5000);
      equal((await events(ctx, i.intent_id, sender.key)).filter((e) => e.event_type === 'intent.escalated').length, 1, 'escalations (at most one)');
      await writeOk(ctx, i.intent_id, 'resume', worker.key, { action: 'complete' }, 'intent.completed', 'COMPLETED');
    },
  },
  {
    id: 'INTL-009',
    title: 'an escalation target whose attempts run out does not fail or dead-letter the intent',
    level: 'MUST',
    requirements: ['INTL-014'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: { lease_seconds: fit(ctx, 'lease_seconds', 3600) } });
      const backup = await agent(ctx, 'backup', 'poll', { max_delivery_attempts: 1 });
      const i = await send(ctx, sender, worker.address, { remind_after_seconds: 1, escalate_to: backup.address });
      await eventsAfter(ctx, i.intent_id, sender.key, 2000, (l) => l.some((e) => e.event_type === 'intent.escalated'), 'intent.escalated');
      await pollFor(ctx, backup, i.intent_id);
      await eventsAfter(ctx, i.intent_id, sender.key, Number(backup.delivery.lease_seconds) * 1000 + 50, (l) => l.some((e) => e.event_type === 'intent.delivery_attempt'), 'the escalation delivery\'s failed attempt');
      await quietPeriod(ctx, i.intent_id, sender.key, 2000);
      const now = await getIntent(ctx, i.intent_id, sender.key);
      check(now.status !== 'FAILED', 'the intent failed because the escalation target did not answer', 'not FAILED', now.status);
      check(!types(await events(ctx, i.intent_id, sender.key)).includes('intent.delivery_failed'), 'intent.delivery_failed was appended for an escalation delivery', 'absent', 'present');
      const dl = ok(await ctx.request({ method: 'GET', path: '/v1/dead-letters', key: ctx.adminKey, query: { agent: backup.address } }), 'dead letters');
      equal(dl.dead_letters.length, 0, 'dead letters for the escalation target');
      await writeOk(ctx, i.intent_id, 'resolve', worker.key, { status: 'COMPLETED' }, 'intent.completed', 'COMPLETED');
    },
  },
  {
    id: 'INTL-010',
    title: 'an internal delivery does not expire by lease: a long delay keeps one delivery',
    level: 'MUST',
    requirements: ['DLV-033'],
    ...internalCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const internal = await internalAgent(ctx);
      const i = await send(ctx, sender, internal.address, { intent_type: DELAY, payload: { seconds: 7200 } });
      await quietPeriod(ctx, i.intent_id, sender.key, 3600_000);
      const list = await events(ctx, i.intent_id, sender.key);
      equal(types(list), ['intent.created', 'intent.submitted', 'intent.delivered', 'intent.waiting'], 'events of a long delay');
    },
  },
]);
