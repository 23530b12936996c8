// Chapter 8: the poll binding (long poll for deliveries).
import type { CaseContext } from '../case.js';
import { agent, check, equal, events, fit, group, needs, ok, poll, problem, send, types, validationError, scaled, started, timedTries, type Wire } from './support.js';
import { pair } from './flows.js';

const pollCap = needs('binding.poll');
const longLease = (ctx: CaseContext) => ({ lease_seconds: fit(ctx, 'lease_seconds', 60) });

export const pollCases = group('POLL', [
  {
    id: 'POLL-001',
    title: 'a poll answers {ok, deliveries} with deliveries issued by that answer',
    level: 'MUST',
    requirements: ['POLL-001', 'POLL-004', 'DLV-001', 'DLV-006'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: longLease(ctx) });
      const i = await send(ctx, sender, worker.address, { reply_to: sender.address, metadata: { a: 'b' } });
      equal(types(await events(ctx, i.intent_id, sender.key)), ['intent.created', 'intent.submitted'], 'events before any poll (DLV-006)');
      const answer = await poll(ctx, worker);
      equal(answer.deliveries.length, 1, 'deliveries');
      const d = answer.deliveries[0];
      equal({ id: d.intent_id, payload: d.payload, reply_to: d.reply_to, metadata: d.metadata, attempt: d.attempt, seq: d.seq }, { id: i.intent_id, payload: i.payload, reply_to: sender.address, metadata: { a: 'b' }, attempt: 1, seq: 1 }, 'delivery fields');
      const list = await events(ctx, i.intent_id, sender.key);
      equal(types(list), ['intent.created', 'intent.submitted', 'intent.delivered'], 'events after the poll');
      equal((await poll(ctx, worker)).deliveries.length, 0, 'a second poll while the lease runs (POLL-004)');
    },
  },
  {
    id: 'POLL-002',
    title: 'wait_seconds defaults to 0; a long poll answers as soon as a delivery is ready, else empty after the wait',
    level: 'MUST',
    requirements: ['POLL-002', 'CLK-007'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: longLease(ctx) });
      const idlePoll = (query?: Record<string, number>) => () => ctx.request({ method: 'GET', path: `/v1/agents/${worker.path}/intents`, key: worker.key, query });
      const atOnce = scaled(ctx, 1000);
      const quick = await timedTries(ctx, 'a poll without wait_seconds', idlePoll(), (r) => r.durationMs < atOnce);
      equal(ok(quick, 'poll without wait_seconds').deliveries, [], 'deliveries of an idle agent');
      check(quick.durationMs < atOnce, 'a poll without wait_seconds must answer at once', `< ${atOnce} ms`, quick.durationMs);
      // The lower bound of the range given explicitly: the same as the default (POLL-002).
      const zero = await timedTries(ctx, 'a poll with wait_seconds=0', idlePoll({ wait_seconds: 0 }), (r) => r.durationMs < atOnce);
      equal(ok(zero, 'poll with wait_seconds=0').deliveries, [], 'deliveries of an idle agent with wait_seconds=0');
      check(zero.durationMs < atOnce, 'a poll with wait_seconds=0 must answer at once', `< ${atOnce} ms`, zero.durationMs);
      const afterWait = scaled(ctx, 3000);
      const idle = await timedTries(ctx, 'an idle long poll', idlePoll({ wait_seconds: 1 }), (r) => r.durationMs < afterWait);
      equal(ok(idle, 'idle long poll').deliveries, [], 'deliveries after an idle wait');
      check(idle.durationMs >= 900 && idle.durationMs < afterWait, 'an idle long poll must wait about wait_seconds=1', `900..${afterWait} ms`, idle.durationMs);
      // Measured again only when the slow answer carried the delivery (a late wake-up, not a missing
      // one). Each try sends a new intent; the earlier one stays leased (long lease), so it is not
      // polled again.
      const whenReady = scaled(ctx, 5000);
      const { res, i } = await timedTries(ctx, 'a long poll while a delivery is sent', async () => {
        const waiting = started(ctx.request({ method: 'GET', path: `/v1/agents/${worker.path}/intents`, key: worker.key, query: { wait_seconds: 10 } }));
        const i = await send(ctx, sender, worker.address);
        return { res: await waiting, i };
      }, (m) => m.res.durationMs < whenReady || !(m.res.body?.deliveries?.length > 0));
      const got = ok(res, 'long poll').deliveries;
      equal(got.map((d: Wire) => d.intent_id), [i.intent_id], 'deliveries of the long poll');
      check(res.durationMs < whenReady, 'the long poll must answer when the delivery is ready', `< ${whenReady} ms`, res.durationMs);
    },
  },
  {
    id: 'POLL-003',
    title: 'limit bounds the answer (default 10) in ascending seq order',
    level: 'MUST',
    requirements: ['POLL-003', 'DLV-002'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: longLease(ctx) });
      for (let n = 0; n < 13; n++) await send(ctx, sender, worker.address);
      const two = (await poll(ctx, worker, { limit: 2 })).deliveries;
      equal(two.map((d: Wire) => d.seq), [1, 2], 'seqs with limit=2');
      const ten = (await poll(ctx, worker)).deliveries;
      equal(ten.map((d: Wire) => d.seq), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'seqs with the default limit');
      const rest = (await poll(ctx, worker, { limit: 500 })).deliveries;
      equal(rest.map((d: Wire) => d.seq), [13], 'the remaining delivery');
      equal(new Set([...two, ...ten, ...rest].map((d: Wire) => d.intent_id)).size, 13, 'distinct intents across the polls');
    },
  },
  {
    id: 'POLL-004',
    title: 'another agent\'s poll is 403; an unregistered address is 404 agent_not_found',
    level: 'MUST',
    requirements: ['POLL-005', 'SEC-004'],
    ...pollCap,
    async run(ctx) {
      const a = await agent(ctx, 'a', 'poll');
      const b = await agent(ctx, 'b', 'poll');
      problem(await ctx.request({ method: 'GET', path: `/v1/agents/${b.path}/intents`, key: a.key }), 403, 'forbidden', 'poll of another agent');
      problem(await ctx.request({ method: 'GET', path: `/v1/agents/${b.path}-ghost/intents`, key: ctx.adminKey }), 404, 'agent_not_found', 'poll of an unregistered address');
      ok(await ctx.request({ method: 'GET', path: `/v1/agents/${b.path}/intents`, key: ctx.adminKey }), 'the admin polls for an agent');
    },
  },
  {
    id: 'POLL-005',
    title: 'the poll endpoint serves a stream agent and answers an empty list for an inbox agent',
    level: 'MUST',
    requirements: ['POLL-006'],
    ...needs('binding.poll', 'binding.stream', 'binding.inbox'),
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const streamer = await agent(ctx, 'streamer', 'stream', longLease(ctx));
      const i = await send(ctx, sender, streamer.address);
      equal((await poll(ctx, streamer)).deliveries.map((d: Wire) => d.intent_id), [i.intent_id], 'a stream agent\'s poll');
      const inbox = await agent(ctx, 'inbox', 'inbox');
      await send(ctx, sender, inbox.address);
      equal((await poll(ctx, inbox)).deliveries, [], 'an inbox agent\'s poll');
    },
  },
  {
    id: 'POLL-006',
    title: 'a poll abandoned before its answer issues nothing',
    level: 'MUST',
    requirements: ['POLL-007'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: longLease(ctx) });
      // A raw long poll the kit abandons (ctx.request cannot be cut short on purpose).
      const controller = new AbortController();
      const abandoned = fetch(new URL(`/v1/agents/${worker.path}/intents?wait_seconds=5`, ctx.baseUrl), { headers: { 'x-api-key': worker.key }, signal: controller.signal }).catch(() => undefined);
      await poll(ctx, worker);
      controller.abort();
      await abandoned;
      await ctx.request({ method: 'GET', path: '/health' });
      const i = await send(ctx, sender, worker.address);
      const got = (await poll(ctx, worker, { wait_seconds: 2 })).deliveries;
      equal(got.map((d: Wire) => [d.intent_id, d.attempt]), [[i.intent_id, 1]], 'the next poll gets the first attempt');
    },
  },
  {
    id: 'POLL-007',
    title: 'a poll answer carries next_seq',
    level: 'SHOULD',
    requirements: ['POLL-008'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: longLease(ctx) });
      await send(ctx, sender, worker.address);
      await send(ctx, sender, worker.address);
      const answer = await poll(ctx, worker);
      equal(answer.next_seq, 2, 'next_seq of an answer with seqs 1 and 2');
      equal((await poll(ctx, worker)).next_seq, 2, 'next_seq of an empty answer (latest issued seq)');
    },
  },
  {
    id: 'POLL-008',
    title: 'poll query parameters are validated (limit 1–500, wait_seconds 0–60, no unknown ones)',
    level: 'MUST',
    requirements: ['ERR-012', 'POLL-003'],
    ...pollCap,
    async run(ctx) {
      const worker = await agent(ctx, 'worker', 'poll');
      for (const query of [{ limit: 0 }, { limit: 501 }, { wait_seconds: 61 }, { wait_seconds: -1 }, { colour: 'red' }, { limit: 'ten' }] as Record<string, string | number>[]) {
        validationError(await ctx.request({ method: 'GET', path: `/v1/agents/${worker.path}/intents`, key: worker.key, query }), /.*/, `poll with ${JSON.stringify(query)}`, 'query');
      }
    },
  },
]);
