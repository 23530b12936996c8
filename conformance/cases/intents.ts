// Chapter 3: creating, reading and listing intents (INT), and create-body validation (VAL).
import type { CaseContext, HttpResponse, RegisteredAgent } from '../case.js';
import {
  agent, check, create, equal, getIntent, group, intentBody, limits, needs, ok, pollFor, problem, send, TIMESTAMP_Z, UUID, validationError, writeOk, type Wire,
} from './support.js';
import { ackOk, pair, polledIntent, sentIntent } from './flows.js';

const pollCap = needs('binding.poll');

function post(ctx: CaseContext, key: string, body: unknown): Promise<HttpResponse> {
  return ctx.request({ method: 'POST', path: '/v1/intents', key, json: body });
}

async function sentCount(ctx: CaseContext, sender: RegisteredAgent): Promise<number> {
  const list = ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { role: 'sender', limit: 100 } }), 'GET /v1/intents');
  return list.intents.length;
}

/** Sends each bad body, expects 422 at its pointer, and checks that nothing was created. */
async function refuseAll(ctx: CaseContext, bad: [string, Record<string, unknown>, string | RegExp][]): Promise<void> {
  const { sender, worker } = await pair(ctx);
  for (const [what, patch, pointer] of bad) {
    const body: Record<string, unknown> = { ...intentBody(ctx, worker.address), ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete body[k];
    validationError(await post(ctx, sender.key, body), pointer, what);
  }
  equal(await sentCount(ctx, sender), 0, 'intents created by refused requests (INT-003, ERR-008)');
}

export const intentCases = group('INT', [
  {
    id: 'INT-001',
    title: 'a create answers 200 with the stored intent and every server-set field',
    level: 'MUST',
    requirements: ['INT-001', 'INT-005', 'INT-013', 'INT-014', 'INT-015', 'INT-016', 'LC-004', 'TERM-010', 'TERM-011', 'TERM-012'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const body = intentBody(ctx, worker.address, { metadata: { order: '42' } });
      const answer = await create(ctx, sender.key, body);
      const i = answer.intent;
      equal(answer.intent_id, i.intent_id, 'intent_id repeats intent.intent_id');
      equal([answer.status, answer.lifecycle_status, i.lifecycle_status], [i.status, i.status, i.status], 'status and lifecycle_status agree (INT-013)');
      check(i.status !== 'CREATED', 'the create answer shows CREATED (LC-004)', 'SUBMITTED or later', i.status);
      check(UUID.test(i.intent_id), 'intent_id must be a lower-case UUID (TERM-011)', 'uuid', i.intent_id);
      check(UUID.test(i.correlation_id), 'a generated correlation_id must be a lower-case UUID (INT-005)', 'uuid', i.correlation_id);
      for (const f of ['created_at', 'updated_at']) check(TIMESTAMP_Z.test(i[f]), `${f} must be RFC 3339 UTC with Z (TERM-010)`, 'date-time Z', i[f]);
      equal({ from: i.from_agent, to: i.to_agent, type: i.intent_type, payload: i.payload, metadata: i.metadata }, { from: sender.address, to: worker.address, type: body.intent_type, payload: body.payload, metadata: { order: '42' } }, 'stored fields');
      equal(i.max_delivery_attempts, worker.delivery.max_delivery_attempts, 'max_delivery_attempts from the receiver policy (INT-014)');
      // last_seq is INT-010's (INT-017): one missing field fails one case.
      equal({ d: i.delivery_attempt, p: i.pending_with }, { d: 0, p: worker.address }, 'delivery_attempt, pending_with');
    },
  },
  {
    id: 'INT-002',
    title: 'from_agent in the body is ignored: the sender is the key\'s agent',
    level: 'MUST',
    requirements: ['INT-004', 'SEC-004'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const other = await agent(ctx, 'other', 'poll');
      const worker = await agent(ctx, 'worker', 'poll');
      const answer = await create(ctx, sender.key, intentBody(ctx, worker.address, { from_agent: other.address }));
      equal(answer.intent.from_agent, sender.address, 'from_agent');
      const d = await pollFor(ctx, worker, answer.intent_id);
      equal(d.from_agent, sender.address, 'from_agent in the delivery');
    },
  },
  {
    id: 'INT-003',
    title: 'the admin key sends as agent://system/admin',
    level: 'MUST',
    requirements: ['INT-004'],
    ...pollCap,
    async run(ctx) {
      const worker = await agent(ctx, 'worker', 'poll');
      const answer = await create(ctx, ctx.adminKey, intentBody(ctx, worker.address, { from_agent: worker.address }));
      equal(answer.intent.from_agent, 'agent://system/admin', 'from_agent of an admin-sent intent');
    },
  },
  {
    id: 'INT-004',
    title: 'a given correlation_id is stored and returned unchanged',
    level: 'MUST',
    requirements: ['INT-005'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const cid = crypto.randomUUID();
      const i = await send(ctx, sender, worker.address, { correlation_id: cid });
      equal(i.correlation_id, cid, 'correlation_id in the create answer');
      equal((await getIntent(ctx, i.intent_id, worker.key)).correlation_id, cid, 'correlation_id on read');
      equal((await pollFor(ctx, worker, i.intent_id)).correlation_id, cid, 'correlation_id in the delivery');
    },
  },
  {
    id: 'INT-005',
    title: 'ttl_seconds is stored as deadline_at = created_at + ttl_seconds',
    level: 'MUST',
    requirements: ['INT-007'],
    ...pollCap,
    async run(ctx) {
      const { i } = await sentIntent(ctx, { intent: { ttl_seconds: 3600 } });
      check(typeof i.deadline_at === 'string', 'deadline_at must be set from ttl_seconds', 'deadline_at', i.deadline_at);
      equal(Date.parse(i.deadline_at) - Date.parse(i.created_at), 3600_000, 'deadline_at − created_at in ms');
    },
  },
  {
    id: 'INT-006',
    title: 'an intent\'s own max_delivery_attempts overrides the receiver policy',
    level: 'MUST',
    requirements: ['INT-014'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: { max_delivery_attempts: 2 } });
      equal((await send(ctx, sender, worker.address)).max_delivery_attempts, 2, 'max_delivery_attempts from the policy');
      const own = (await send(ctx, sender, worker.address, { max_delivery_attempts: 1 }));
      equal(own.max_delivery_attempts, 1, 'max_delivery_attempts given on the intent');
      equal((await pollFor(ctx, worker, own.intent_id)).max_delivery_attempts, 1, 'max_delivery_attempts in the delivery');
    },
  },
  {
    id: 'INT-007',
    title: 'sender, receiver and admin read the intent; anyone else gets the same 404 as for an unknown id',
    level: 'MUST',
    requirements: ['INT-021', 'INT-022', 'EVT-007', 'SEC-004', 'ERR-015'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, stranger, i } = await sentIntent(ctx, { stranger: true, longLease: true, intent: { payload: { secret_note: 'do-not-leak-this' } } });
      for (const [who, key] of [['sender', sender.key], ['receiver', worker.key], ['admin', ctx.adminKey]] as const) {
        const got = ok(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key }), `GET as ${who}`);
        equal(got.intent_id, i.intent_id, `intent_id read by ${who}`);
        ok(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events`, key }), `events as ${who}`);
      }
      const hidden = await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: stranger.key });
      const unknownId = crypto.randomUUID();
      const unknown = await ctx.request({ method: 'GET', path: `/v1/intents/${unknownId}`, key: stranger.key });
      const a = problem(hidden, 404, 'intent_not_found', 'GET another agent\'s intent');
      const b = problem(unknown, 404, 'intent_not_found', 'GET an unknown intent');
      const strip = (p: Wire, id: string) => JSON.stringify({ ...p, instance: undefined }).split(id).join('<id>');
      equal(strip(a, i.intent_id), strip(b, unknownId), 'the 404 body for a hidden intent vs an unknown one');
      check(!hidden.text.includes('do-not-leak-this'), 'the 404 leaks the payload', 'nothing', hidden.text);
      problem(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events`, key: stranger.key }), 404, 'intent_not_found', 'events of another agent\'s intent');
    },
  },
  {
    id: 'INT-008',
    title: 'a malformed intent id is 404 intent_not_found',
    level: 'MUST',
    requirements: ['INT-022'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      for (const id of ['not-a-uuid', '12345', crypto.randomUUID().toUpperCase()]) {
        problem(await ctx.request({ method: 'GET', path: `/v1/intents/${id}`, key: sender.key }), 404, 'intent_not_found', `GET /v1/intents/${id}`);
      }
    },
  },
  {
    id: 'INT-009',
    title: 'GET /v1/intents lists by role, newest first, filters by status, and pages with cursors',
    level: 'MUST',
    requirements: ['INT-020', 'INT-023'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) ids.push((await send(ctx, sender, worker.address)).intent_id);
      await writeOk(ctx, ids[0], 'cancel', sender.key, {}, 'intent.canceled', 'CANCELED');
      const seen: Wire[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 5; page++) {
        const res = ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { role: 'sender', limit: 2, cursor } }), `page ${page + 1}`);
        check(res.intents.length <= 2, 'a page holds at most limit intents', '<= 2', res.intents.length);
        seen.push(...res.intents);
        cursor = res.next_cursor ?? undefined;
        if (res.next_cursor === null) break;
      }
      equal(seen.map((i) => i.intent_id), [...ids].reverse(), 'all pages together, newest first, none repeated or skipped');
      const asReceiver = ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: worker.key, query: { role: 'receiver' } }), 'role=receiver');
      equal(asReceiver.intents.length, 5, 'intents the worker receives');
      equal(ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: worker.key, query: { role: 'sender' } }), 'role=sender').intents.length, 0, 'intents the worker sent');
      const canceled = ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { status: 'CANCELED' } }), 'status=CANCELED');
      equal(canceled.intents.map((i: Wire) => i.intent_id), [ids[0]], 'status filter');
      validationError(await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { cursor: 'no-such-cursor' } }), /.*/, 'unknown cursor', 'query');
    },
  },
  {
    id: 'INT-010',
    title: 'updated_at changes with every event and last_seq follows the latest event',
    level: 'MUST',
    requirements: ['INT-017'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await polledIntent(ctx, { longLease: true });
      const delivered = await getIntent(ctx, i.intent_id, sender.key);
      equal(delivered.last_seq, 3, 'last_seq after the delivery');
      const events3 = (await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events`, key: sender.key })).body.events;
      equal(Date.parse(delivered.updated_at), Date.parse(events3.at(-1).at), 'updated_at after the delivery vs intent.delivered at');
      const acked = (await ackOk(ctx, i.intent_id, worker.key, {})).intent;
      const latest = (await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events`, key: sender.key })).body.events.at(-1);
      equal(Date.parse(acked.updated_at), Date.parse(latest.at), 'updated_at vs the latest event\'s at (ms since epoch)');
      check(Date.parse(acked.updated_at) >= Date.parse(delivered.updated_at), 'updated_at moved back', delivered.updated_at, acked.updated_at);
      equal(acked.last_seq, 4, 'last_seq after the ack');
    },
  },
]);

export const validationCases = group('VAL', [
  {
    id: 'VAL-001',
    title: 'missing required fields are 422 validation_failed with one entry per violation; nothing is created',
    level: 'MUST',
    requirements: ['INT-003', 'ERR-006', 'ERR-008'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const body = problem(await post(ctx, sender.key, {}), 422, 'validation_failed', 'empty create body');
      check(Array.isArray(body.errors) && body.errors.length >= 3, 'three missing fields need three errors entries', '>= 3', body.errors);
      for (const e of body.errors) {
        for (const f of ['pointer', 'message', 'keyword', 'location']) check(typeof e[f] === 'string', `errors entry lacks ${f} (ERR-006)`, f, e);
        equal(e.location, 'body', 'errors[].location');
      }
      for (const field of ['intent_type', 'to_agent', 'payload']) {
        check(body.errors.some((e: Wire) => e.keyword === 'required' && JSON.stringify(e).includes(field)), `no required-error names ${field}`, field, body.errors);
      }
      equal(await sentCount(ctx, sender), 0, 'intents created');
    },
  },
  {
    id: 'VAL-002',
    title: 'malformed intent_type values are refused at /intent_type',
    level: 'MUST',
    requirements: ['INT-003'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [
      ['upper case', { intent_type: 'Payment.Refund.v1' }, '/intent_type'],
      ['no version', { intent_type: 'payment.refund' }, '/intent_type'],
      ['single segment', { intent_type: 'refund.v1x' }, '/intent_type'],
      ['129 characters', { intent_type: `${'a'.repeat(122)}.b.v1`.padStart(129, 'a') }, '/intent_type'],
      ['not a string', { intent_type: 42 }, '/intent_type'],
    ]),
  },
  {
    id: 'VAL-003',
    title: 'a payload that is not an object is refused at /payload',
    level: 'MUST',
    requirements: ['INT-003'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [
      ['array payload', { payload: [1, 2] }, '/payload'],
      ['string payload', { payload: 'x' }, '/payload'],
      ['null payload', { payload: null }, '/payload'],
    ]),
  },
  {
    id: 'VAL-004',
    title: 'invalid addresses in to_agent, reply_to and escalate_to are refused at that field',
    level: 'MUST',
    requirements: ['TERM-001', 'TERM-002'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [
      ['one segment', { to_agent: 'agent://lonely' }, '/to_agent'],
      ['four segments', { to_agent: 'agent://a/b/c/d' }, '/to_agent'],
      ['upper case', { to_agent: 'agent://Acme/prod' }, '/to_agent'],
      ['wrong scheme', { to_agent: 'http://acme/prod' }, '/to_agent'],
      ['over 200 characters', { to_agent: `agent://${'a'.repeat(63)}/${'b'.repeat(63)}/${'c'.repeat(63)}x` }, '/to_agent'],
      ['segment starting with a dash', { to_agent: 'agent://-acme/prod' }, '/to_agent'],
      ['bad reply_to', { reply_to: 'agent://a' }, '/reply_to'],
      ['bad escalate_to', { escalate_to: 'agent://A/b', remind_after_seconds: 60 }, '/escalate_to'],
    ]),
  },
  {
    id: 'VAL-005',
    title: 'an unknown top-level property is refused',
    level: 'MUST',
    requirements: ['TERM-015', 'INT-003'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [
      ['unknown property', { priority: 'high' }, /^(\/priority)?$/],
      ['unknown human_task property', { human_task: { title: 't', task_type: 'approval', colour: 'red' } }, /^\/human_task(\/colour)?$/],
    ]),
  },
  {
    id: 'VAL-006',
    title: 'deadline_at together with ttl_seconds is refused',
    level: 'MUST',
    requirements: ['INT-006'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [['both deadline forms', { ttl_seconds: 60, deadline_at: new Date(Date.now() + 86400_000).toISOString() }, /.*/]]),
  },
  {
    id: 'VAL-007',
    title: 'a deadline_at not later than now is refused at /deadline_at',
    level: 'MUST',
    requirements: ['INT-007'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [
      ['deadline in the past', { deadline_at: '2001-01-01T00:00:00.000Z' }, '/deadline_at'],
      ['deadline not a date-time', { deadline_at: 'tomorrow' }, '/deadline_at'],
    ]),
  },
  {
    id: 'VAL-008',
    title: 'reminder settings without remind_after_seconds are refused',
    level: 'MUST',
    requirements: ['INT-008'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [
      ['remind_interval_seconds alone', { remind_interval_seconds: 60 }, /.*/],
      ['max_reminders alone', { max_reminders: 2 }, /.*/],
      ['remind_after_seconds 0', { remind_after_seconds: 0 }, '/remind_after_seconds'],
    ]),
  },
  {
    id: 'VAL-009',
    title: 'escalate_to without remind_after_seconds is refused at /escalate_to',
    level: 'MUST',
    requirements: ['INTL-011'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [['escalate_to alone', { escalate_to: 'agent://conf/backup' }, '/escalate_to']]),
  },
  {
    id: 'VAL-010',
    title: 'max_delivery_attempts outside the schema is 422; outside the advertised limits it is limit_exceeded',
    level: 'MUST',
    requirements: ['INT-009', 'ERR-020'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      validationError(await post(ctx, sender.key, intentBody(ctx, worker.address, { max_delivery_attempts: 21 })), '/max_delivery_attempts', 'max_delivery_attempts 21');
      validationError(await post(ctx, sender.key, intentBody(ctx, worker.address, { max_delivery_attempts: 0 })), '/max_delivery_attempts', 'max_delivery_attempts 0');
      const r = limits(ctx).max_delivery_attempts;
      ok(await post(ctx, sender.key, intentBody(ctx, worker.address, { max_delivery_attempts: r.max })), `max_delivery_attempts at the advertised max ${r.max}`);
      if (r.max < 20) problem(await post(ctx, sender.key, intentBody(ctx, worker.address, { max_delivery_attempts: r.max + 1 })), 422, 'limit_exceeded', 'max_delivery_attempts above the advertised max');
      if (r.min > 1) problem(await post(ctx, sender.key, intentBody(ctx, worker.address, { max_delivery_attempts: r.min - 1 })), 422, 'limit_exceeded', 'max_delivery_attempts below the advertised min');
      equal(await sentCount(ctx, sender), 1, 'intents created (only the one within limits)');
    },
  },
  {
    id: 'VAL-011',
    title: 'metadata, human_task and correlation_id are validated',
    level: 'MUST',
    requirements: ['INT-003'],
    ...pollCap,
    run: (ctx) => refuseAll(ctx, [
      ['metadata value not a string', { metadata: { n: 1 } }, '/metadata/n'],
      ['metadata with 65 keys', { metadata: Object.fromEntries(Array.from({ length: 65 }, (_, n) => [`k${n}`, 'v'])) }, '/metadata'],
      ['metadata value over 1024 characters', { metadata: { k: 'x'.repeat(1025) } }, '/metadata/k'],
      ['human_task without title', { human_task: { task_type: 'approval' } }, /^\/human_task(\/title)?$/],
      ['human_task with unknown task_type', { human_task: { title: 't', task_type: 'vote' } }, '/human_task/task_type'],
      ['correlation_id not a uuid', { correlation_id: 'abc' }, '/correlation_id'],
      ['ttl_seconds 0', { ttl_seconds: 0 }, '/ttl_seconds'],
    ]),
  },
]);
