// Chapter 4, deadlines: deadline_at / ttl_seconds → TIMED_OUT, and what follows a time-out.
import { NotApplicable, type CaseContext } from '../case.js';
import {
  agent, check, equal, events, gapMs, getIntent, group, hasTestClock, intentBody, needs, ok, passTime, poll, problem, send, write, type Wire, scaled
} from './support.js';
import { pair, polledIntent, sentIntent } from './flows.js';

const pollCap = needs('binding.poll');

/** Lets `ms` pass and waits for the intent to be terminal. */
async function timedOut(ctx: CaseContext, id: string, key: string, ms: number): Promise<Wire> {
  const advanced = await passTime(ctx, ms);
  return (await ctx.waitForTerminal(id, key, advanced ? 3000 : ms + 3000)).intent;
}

export const deadlineCases = group('TMO', [
  {
    id: 'TMO-001',
    title: 'an intent past its deadline is TIMED_OUT by system, not before deadline_at',
    level: 'MUST',
    requirements: ['LC-020', 'INT-015'],
    ...pollCap,
    async run(ctx) {
      const { sender, i } = await polledIntent(ctx, { intent: { ttl_seconds: 2 } });
      if (hasTestClock(ctx)) {
        await passTime(ctx, 1500);
        equal((await getIntent(ctx, i.intent_id, sender.key)).status, 'DELIVERED', 'status 0.5 s before the deadline');
      }
      const end = await timedOut(ctx, i.intent_id, sender.key, hasTestClock(ctx) ? 500 : 2000);
      equal({ s: end.status, p: end.pending_with }, { s: 'TIMED_OUT', p: null }, 'the timed-out intent');
      const last = (await events(ctx, i.intent_id, sender.key)).at(-1);
      equal({ t: last.event_type, a: last.actor, s: last.status }, { t: 'intent.timed_out', a: 'system', s: 'TIMED_OUT' }, 'the last event');
      check(Date.parse(last.at) >= Date.parse(i.deadline_at), 'timed out before deadline_at', i.deadline_at, last.at);
    },
  },
  {
    id: 'TMO-002',
    title: 'the time-out lands within one second and carries error deadline_exceeded',
    level: 'SHOULD',
    requirements: ['LC-021', 'LC-022'],
    ...pollCap,
    async run(ctx) {
      const { sender, i } = await sentIntent(ctx, { intent: { ttl_seconds: 1 } });
      const end = await timedOut(ctx, i.intent_id, sender.key, 1000);
      equal(end.error?.code, 'deadline_exceeded', 'error.code of a TIMED_OUT intent');
      const last = (await events(ctx, i.intent_id, sender.key)).at(-1);
      check(gapMs(i.deadline_at, last.at) <= scaled(ctx, 1000), 'the time-out came too long after deadline_at', `<= ${scaled(ctx, 1000)} ms`, gapMs(i.deadline_at, last.at));
    },
  },
  {
    id: 'TMO-003',
    title: 'after a time-out every write is 409 intent_terminal and nothing is delivered',
    level: 'MUST',
    requirements: ['LC-023', 'LC-015'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i, d } = await polledIntent(ctx, { intent: { ttl_seconds: 1 } });
      await timedOut(ctx, i.intent_id, sender.key, 1000);
      problem(await write(ctx, i.intent_id, 'ack', worker.key, { delivery_id: d.delivery_id }), 409, 'intent_terminal', 'ack after the time-out');
      problem(await write(ctx, i.intent_id, 'resume', worker.key, { action: 'complete' }), 409, 'intent_terminal', 'resume after the time-out');
      problem(await write(ctx, i.intent_id, 'resolve', worker.key, { status: 'COMPLETED' }), 409, 'intent_terminal', 'resolve after the time-out');
      problem(await write(ctx, i.intent_id, 'cancel', sender.key, {}), 409, 'intent_terminal', 'cancel after the time-out');
      const j = await send(ctx, sender, worker.address, { ttl_seconds: 1 });
      await timedOut(ctx, j.intent_id, sender.key, 1000);
      equal((await poll(ctx, worker)).deliveries.filter((x: Wire) => x.intent_id === j.intent_id).length, 0, 'deliveries of a timed-out intent');
    },
  },
  {
    id: 'TMO-004',
    title: 'after a time-out an inbox decision is 409 thread_closed',
    level: 'MUST',
    requirements: ['LC-023', 'INBOX-010'],
    ...needs('binding.poll', 'binding.inbox'),
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const inbox = await agent(ctx, 'inbox', 'inbox');
      const i = await send(ctx, sender, inbox.address, { ttl_seconds: 1 });
      await ctx.eventually('the task assigned', async () => ((await getIntent(ctx, i.intent_id, sender.key)).status === 'WAITING' ? true : undefined));
      equal((await timedOut(ctx, i.intent_id, sender.key, 1000)).status, 'TIMED_OUT', 'status');
      problem(await ctx.request({ method: 'POST', path: `/v1/inbox/${i.intent_id}/approve`, key: inbox.key, json: {} }), 409, 'thread_closed', 'approve after the time-out');
    },
  },
  {
    id: 'TMO-005',
    title: 'the deadline applies to an intent still SUBMITTED for an unregistered receiver',
    level: 'MUST',
    requirements: ['LC-025', 'AGT-030'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const res = await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, `agent://${ctx.unique('tmo')}/nobody`, { ttl_seconds: 1 }) });
      if (res.status === 404) throw new NotApplicable('the target runs in strict-address mode; to run it, start the target without it (reference server: without --strict-addresses)');
      const i = ok(res, 'create to an unregistered address').intent;
      equal((await timedOut(ctx, i.intent_id, sender.key, 1000)).status, 'TIMED_OUT', 'status after the deadline');
    },
  },
  {
    id: 'TMO-006',
    title: 'an explicit deadline_at times the intent out at that instant',
    level: 'MUST',
    requirements: ['LC-020', 'INT-007'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const probe = await send(ctx, sender, worker.address);
      const deadline = new Date(Date.parse(probe.created_at) + 1500).toISOString();
      const i = await send(ctx, sender, worker.address, { deadline_at: deadline });
      equal(Date.parse(i.deadline_at), Date.parse(deadline), 'stored deadline_at');
      const end = await timedOut(ctx, i.intent_id, sender.key, 1500);
      equal(end.status, 'TIMED_OUT', 'status after deadline_at');
    },
  },
]);
