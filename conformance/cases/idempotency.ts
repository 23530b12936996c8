// Chapter 3, idempotency: Idempotency-Key on creates and on writes (IDEM-*).
import type { CaseContext, HttpResponse, RegisteredAgent } from '../case.js';
import { sameCreateBody } from '../wire/idempotency.js';
import { agent, check, equal, fail, group, hasTestClock, intentBody, needs, ok, passTime, problem, resolve, resume, send, validationError, write, type Wire } from './support.js';
import { pair, sentIntent } from './flows.js';

const pollCap = needs('binding.poll');

function createWithKey(ctx: CaseContext, key: string, idem: string, body: unknown, raw?: string): Promise<HttpResponse> {
  return ctx.request({
    method: 'POST', path: '/v1/intents', key, headers: { 'idempotency-key': idem, ...(raw ? { 'content-type': 'application/json' } : {}) },
    ...(raw ? { raw } : { json: body }),
    expectSchema: 'intent-response',
  });
}

function replayed(res: HttpResponse): boolean {
  return (res.headers['idempotent-replayed'] ?? '').toLowerCase() === 'true';
}

async function sent(ctx: CaseContext, sender: RegisteredAgent): Promise<string[]> {
  const list = ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { role: 'sender', limit: 100 } }), 'list sent intents');
  return list.intents.map((i: { intent_id: string }) => i.intent_id);
}

/** One keyed write sent twice: the first must succeed, the repeat must succeed as a replay. */
async function writtenTwice(
  ctx: CaseContext, id: string, op: string, key: string, body: unknown, idem: string,
  what: { first: string; again: string; replay: string },
): Promise<{ first: Wire; again: HttpResponse }> {
  const first = ok(await write(ctx, id, op, key, body, { 'idempotency-key': idem }), what.first);
  const again = await write(ctx, id, op, key, body, { 'idempotency-key': idem });
  ok(again, what.again);
  check(replayed(again), what.replay, 'true', again.headers['idempotent-replayed']);
  return { first, again };
}

export const idempotencyCases = group('IDEM', [
  {
    id: 'IDEM-001',
    title: 'same key and body replays the original answer with Idempotent-Replayed: true',
    level: 'MUST',
    requirements: ['IDEM-001', 'IDEM-002'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const key = ctx.unique('idem');
      const body = intentBody(ctx, worker.address);
      const first = await createWithKey(ctx, sender.key, key, body);
      ok(first, 'first create');
      check(!replayed(first), 'a first answer must not carry Idempotent-Replayed: true', 'absent', first.headers['idempotent-replayed']);
      const second = await createWithKey(ctx, sender.key, key, body);
      equal(second.status, first.status, 'status of the replay');
      check(replayed(second), 'the replay must carry Idempotent-Replayed: true', 'true', second.headers['idempotent-replayed']);
      equal(second.body, first.body, 'body of the replay');
      equal(await sent(ctx, sender), [first.body.intent_id], 'intents that exist');
    },
  },
  {
    id: 'IDEM-002',
    title: 'a fresh correlation_id, reordered keys and white space still count as the same body',
    level: 'MUST',
    requirements: ['IDEM-004'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const key = ctx.unique('idem');
      const a: Record<string, unknown> = { ...intentBody(ctx, worker.address, { metadata: { b: '2', a: '1' } }), correlation_id: crypto.randomUUID() };
      const rawB = `{ "payload" : ${JSON.stringify(a.payload)},\n "metadata": {"a":"1","b":"2"}, "to_agent": "${worker.address}", "intent_type": "${String(a.intent_type)}", "correlation_id": "${crypto.randomUUID()}" }`;
      equal(sameCreateBody(a, rawB), 'replay', 'the kit\'s own fingerprint model (wire/idempotency.ts)');
      const first = ok(await createWithKey(ctx, sender.key, key, a), 'first create');
      const second = await createWithKey(ctx, sender.key, key, undefined, rawB);
      ok(second, 'repeat with an equivalent body');
      // The replay is recognised by its answer (IDEM-004); its header is IDEM-001's (IDEM-002).
      equal(second.body.intent_id, first.intent_id, 'intent_id of the replay (an equivalent body must be replayed)');
      equal(second.body.intent.correlation_id, a.correlation_id, 'the replay returns the original correlation_id');
    },
  },
  {
    id: 'IDEM-003',
    title: 'same key with a different body is 409 idempotency_key_conflict and creates nothing',
    level: 'MUST',
    requirements: ['IDEM-003', 'ERR-008'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const key = ctx.unique('idem');
      const first = ok(await createWithKey(ctx, sender.key, key, intentBody(ctx, worker.address)), 'first create');
      const changed = intentBody(ctx, worker.address);
      problem(await createWithKey(ctx, sender.key, key, changed), 409, 'idempotency_key_conflict', 'same key, other payload');
      problem(await createWithKey(ctx, sender.key, key, { ...changed, payload: first.intent.payload, metadata: { x: 'y' } }), 409, 'idempotency_key_conflict', 'same key, added metadata');
      equal(await sent(ctx, sender), [first.intent_id], 'intents that exist');
    },
  },
  {
    id: 'IDEM-004',
    title: 'Idempotency-Key must be 8–128 visible ASCII characters, else 400 idempotency_key_invalid',
    level: 'MUST',
    requirements: ['IDEM-005', 'ERR-008'],
    ...pollCap,
    bounds: { 'IDEM-005': ['7 characters refused', '8 characters accepted', '128 characters accepted', '129 characters refused'] },
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      for (const bad of ['1234567', 'x'.repeat(129), 'has space-123']) {
        problem(await createWithKey(ctx, sender.key, bad, intentBody(ctx, worker.address)), 400, 'idempotency_key_invalid', `Idempotency-Key of length ${bad.length} ${JSON.stringify(bad.slice(0, 20))}`);
      }
      equal((await sent(ctx, sender)).length, 0, 'intents created by refused requests');
      // The sender is fresh for this case, so fixed keys cannot collide with other runs.
      ok(await createWithKey(ctx, sender.key, 'k!~#$%&*', intentBody(ctx, worker.address)), 'an 8-character key with punctuation');
      ok(await createWithKey(ctx, sender.key, 'z'.repeat(128), intentBody(ctx, worker.address)), 'a 128-character key');
    },
  },
  {
    id: 'IDEM-005',
    title: 'keys are scoped per sender: two senders with one key create two intents',
    level: 'MUST',
    requirements: ['IDEM-006'],
    ...pollCap,
    forms: { 'IDEM-006': ['two senders, one key'] },
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const other = await agent(ctx, 'other', 'poll');
      const key = ctx.unique('idem');
      const body = intentBody(ctx, worker.address);
      const a = ok(await createWithKey(ctx, sender.key, key, body), 'sender A');
      const b = await createWithKey(ctx, other.key, key, body);
      ok(b, 'sender B with the same key');
      check(a.intent_id !== b.body.intent_id, 'two senders got the same intent', 'two intents', b.body.intent_id);
      check(!replayed(b), 'sender B\'s first use must not be a replay', 'absent', b.headers['idempotent-replayed']);
    },
  },
  {
    id: 'IDEM-006',
    title: 'concurrent creates with one key create exactly one intent',
    level: 'MUST',
    requirements: ['IDEM-008'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const key = ctx.unique('idem');
      const body = intentBody(ctx, worker.address);
      const answers = await Promise.all(Array.from({ length: 8 }, () => createWithKey(ctx, sender.key, key, body)));
      answers.forEach((r, n) => ok(r, `concurrent create #${n + 1}`));
      const ids = new Set(answers.map((r) => r.body.intent_id));
      equal(ids.size, 1, 'distinct intent_ids among 8 concurrent answers');
      equal((await sent(ctx, sender)).length, 1, 'intents that exist');
    },
  },
  {
    id: 'IDEM-007',
    title: 'a refused create is not recorded under its key',
    level: 'MUST',
    requirements: ['IDEM-009'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const key = ctx.unique('idem');
      validationError(await createWithKey(ctx, sender.key, key, { ...intentBody(ctx, worker.address), payload: 'nope' }), '/payload', 'an invalid create with the key');
      const retry = await createWithKey(ctx, sender.key, key, intentBody(ctx, worker.address));
      ok(retry, 'the same key with a valid body');
      check(!replayed(retry), 'the retry must be processed as new', 'absent', retry.headers['idempotent-replayed']);
    },
  },
  {
    id: 'IDEM-008',
    title: 'a key is still remembered after 23 hours (test clock)',
    level: 'MUST',
    requirements: ['IDEM-007'],
    ...needs('binding.poll', 'ext.test-clock'),
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const key = ctx.unique('idem');
      const body = intentBody(ctx, worker.address);
      const first = ok(await createWithKey(ctx, sender.key, key, body), 'first create');
      check(hasTestClock(ctx) && (await passTime(ctx, 23 * 3600_000)), 'advancing the test clock by 23 h');
      const later = await createWithKey(ctx, sender.key, key, body);
      check(later.status === 200 && later.body?.intent_id === first.intent_id, 'the key was forgotten within 24 h', first.intent_id, later.body?.intent_id);
    },
  },
  {
    id: 'IDEM-009',
    title: 'a resume with a key replays after the intent is terminal; another body with that key is 409',
    level: 'MUST',
    requirements: ['IDEM-010', 'RES-014'],
    ...pollCap,
    async run(ctx) {
      const { worker, i } = await sentIntent(ctx, { longLease: true });
      const key = ctx.unique('idem');
      const body = { action: 'complete', result: { n: 1 } };
      const { first, again } = await writtenTwice(ctx, i.intent_id, 'resume', worker.key, body, key, {
        first: 'resume complete', again: 'the repeated resume on a terminal intent', replay: 'the repeat must carry Idempotent-Replayed: true',
      });
      equal(again.body, first, 'the replayed body');
      problem(await resume(ctx, i.intent_id, worker.key, { action: 'complete', result: { n: 2 } }, { 'idempotency-key': key }), 409, 'idempotency_key_conflict', 'same key, other resume body');
      problem(await resume(ctx, i.intent_id, worker.key, body), 409, 'intent_terminal', 'the same resume without a key');
    },
  },
  {
    id: 'IDEM-010',
    title: 'write keys are scoped per route: the same key on resume and resolve are two writes',
    level: 'MUST',
    requirements: ['IDEM-010'],
    ...pollCap,
    forms: { 'IDEM-010': ['scoped by route (resume, resolve)'] },
    async run(ctx) {
      const { worker, i } = await sentIntent(ctx, { longLease: true });
      const key = ctx.unique('idem');
      ok(await resume(ctx, i.intent_id, worker.key, { action: 'progress' }, { 'idempotency-key': key }), 'resume progress with key K');
      const res = await resolve(ctx, i.intent_id, worker.key, { status: 'COMPLETED', result: {} }, { 'idempotency-key': key });
      const body = ok(res, 'resolve with the same key K');
      check(!replayed(res), 'a resolve must not replay a resume answer', 'absent', res.headers['idempotent-replayed']);
      equal(body.intent.status, 'COMPLETED', 'status after the resolve');
    },
  },
  {
    id: 'IDEM-011',
    title: 'a cancel with a key replays its first answer',
    level: 'MUST',
    requirements: ['IDEM-010', 'RES-014'],
    ...pollCap,
    async run(ctx) {
      const { sender, i } = await sentIntent(ctx, { longLease: true });
      const key = ctx.unique('idem');
      const { first, again } = await writtenTwice(ctx, i.intent_id, 'cancel', sender.key, { reason: 'changed my mind' }, key, {
        first: 'cancel', again: 'the repeated cancel', replay: 'the repeated cancel must be a replay',
      });
      equal(again.body.event, first.event, 'replayed event');
      if (again.body.intent.status !== 'CANCELED') fail('the replay changed the status', 'CANCELED', again.body.intent.status);
    },
  },
  {
    id: 'IDEM-012',
    title: 'write keys are scoped per intent and per caller: one key on two intents is two writes; another caller\'s key is not replayed',
    level: 'MUST',
    requirements: ['IDEM-010'],
    ...pollCap,
    forms: { 'IDEM-010': ['scoped by intent (one key on two intents)', 'scoped by caller (sender and admin on cancel)'] },
    async run(ctx) {
      const { sender, worker, i } = await ctx.setup('an intent held by its worker', () => sentIntent(ctx, { longLease: true }));
      const second = await ctx.setup('a second intent to the same worker', () => send(ctx, sender, worker.address));
      const key = ctx.unique('idem');
      const body = { action: 'progress', progress: { note: 'same body' } };
      ok(await resume(ctx, i.intent_id, worker.key, body, { 'idempotency-key': key }), 'resume of the first intent with key K');
      const other = await resume(ctx, second.intent_id, worker.key, body, { 'idempotency-key': key });
      const written = ok(other, 'resume of the second intent with the same key K and body');
      check(!replayed(other), 'a write on another intent must not replay the first intent\'s answer', 'absent', other.headers['idempotent-replayed']);
      equal(written.intent.intent_id, second.intent_id, 'intent of the second resume\'s answer');
      // (caller, route, intent): the sender's keyed cancel does not make the admin's cancel with that key a replay.
      ok(await write(ctx, second.intent_id, 'cancel', sender.key, {}, { 'idempotency-key': key }), 'cancel by the sender with key K');
      problem(await write(ctx, second.intent_id, 'cancel', ctx.adminKey, {}, { 'idempotency-key': key }), 409, 'intent_terminal', 'cancel by the admin with the sender\'s key K on the now canceled intent');
    },
  },
]);
