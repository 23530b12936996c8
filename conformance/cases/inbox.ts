// Chapter 10: inbox tasks (approve, reject, reply, outcome rules) and reply_to completion threads.
import type { CaseContext, HttpResponse, RegisteredAgent } from '../case.js';
import {
  agent, check, equal, events, group, needs, ok, passTime, problem, resolve, resume, send, types, writeOk, type Wire,
} from './support.js';

const inboxCap = needs('binding.inbox', 'binding.poll');

interface Parties { sender: RegisteredAgent; inbox: RegisteredAgent }

async function parties(ctx: CaseContext): Promise<Parties> {
  return { sender: await agent(ctx, 'sender', 'poll'), inbox: await agent(ctx, 'inbox', 'inbox') };
}

function decide(ctx: CaseContext, threadId: string, decision: 'approve' | 'reject' | 'reply', key: string | undefined, body?: unknown, query?: Record<string, string>): Promise<HttpResponse> {
  return ctx.request({ method: 'POST', path: `/v1/inbox/${threadId}/${decision}`, key, json: body, query, expectSchema: 'intent-write-response' });
}

async function thread(ctx: CaseContext, threadId: string, key: string | undefined, owner?: string): Promise<Wire> {
  const res = await ctx.request({ method: 'GET', path: `/v1/inbox/${threadId}`, key, query: owner ? { owner_agent: owner } : undefined, expectSchema: 'inbox-thread-response' });
  return ok(res, `GET /v1/inbox/${threadId}`).thread;
}

async function threads(ctx: CaseContext, key: string | undefined, query: Record<string, string> = {}): Promise<Wire[]> {
  return ok(await ctx.request({ method: 'GET', path: '/v1/inbox', key, query, expectSchema: 'inbox-list-response' }), 'GET /v1/inbox').threads;
}

/** Sends a task to the inbox agent and waits until it is assigned (WAITING_FOR_HUMAN). */
async function task(ctx: CaseContext, p: Parties, extra: Record<string, unknown> = {}): Promise<Wire> {
  const i = await send(ctx, p.sender, p.inbox.address, extra);
  return ctx.eventually('the inbox task assigned', async () => {
    const list = await events(ctx, i.intent_id, p.sender.key);
    return list.some((e) => e.event_type === 'intent.human_task_assigned') ? i : undefined;
  });
}

async function unchanged(ctx: CaseContext, p: Parties, id: string, what: string): Promise<void> {
  const list = await events(ctx, id, p.sender.key);
  equal(list.at(-1).event_type, 'intent.human_task_assigned', `${what}: the refused decision changed nothing`);
}

export const inboxCases = group('INBOX', [
  {
    id: 'INBOX-001',
    title: 'delivery to an inbox agent appends delivered + human_task_assigned and opens a task thread',
    level: 'MUST',
    requirements: ['INBOX-001', 'INBOX-003', 'INBOX-004', 'INBOX-002', 'EVT-008'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p);
      const list = await events(ctx, i.intent_id, p.sender.key);
      equal(types(list), ['intent.created', 'intent.submitted', 'intent.delivered', 'intent.human_task_assigned'], 'events');
      equal([list[3].status, list[3].waiting_reason], ['WAITING', 'WAITING_FOR_HUMAN'], 'human_task_assigned status and waiting_reason');
      const mine = await threads(ctx, p.inbox.key);
      const t = mine.find((x) => x.thread_id === i.intent_id);
      check(t, 'the task thread is not listed in the owner\'s inbox (owner_agent defaults to the caller)', i.intent_id, mine.map((x) => x.thread_id));
      equal({ k: t.kind, o: t.owner_agent, s: t.status, open: t.open, h: t.human_task ?? null, id: t.intent_id }, { k: 'task', o: p.inbox.address, s: 'WAITING', open: true, h: null, id: i.intent_id }, 'the task thread');
      equal((await thread(ctx, i.intent_id, p.inbox.key)).thread_id, i.intent_id, 'GET the thread');
      equal((await threads(ctx, p.inbox.key, { owner_agent: p.inbox.address })).map((x) => x.thread_id), [i.intent_id], 'owner_agent given explicitly');
    },
  },
  {
    id: 'INBOX-002',
    title: 'approve completes with task_result (default outcome approved) and closes the thread',
    level: 'MUST',
    requirements: ['INBOX-005', 'INBOX-013', 'RES-001'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p);
      const answer = ok(await decide(ctx, i.intent_id, 'approve', p.inbox.key, { comment: 'looks fine', data: { amount: 5 } }), 'approve');
      equal({ s: answer.intent.status, e: answer.event.event_type }, { s: 'COMPLETED', e: 'intent.completed' }, 'approve answer');
      equal(answer.intent.result, { task_result: { outcome: 'approved', comment: 'looks fine', data: { amount: 5 } } }, 'result');
      const t = await thread(ctx, i.intent_id, p.inbox.key);
      equal({ s: t.status, open: t.open }, { s: 'COMPLETED', open: false }, 'thread after the decision');
      check((t.messages ?? []).some((m: Wire) => m.text === 'looks fine' && m.author === p.inbox.address), 'the comment must be a message by the deciding caller', { text: 'looks fine', author: p.inbox.address }, t.messages);
    },
  },
  {
    id: 'INBOX-003',
    title: 'reject fails the intent with task_rejected (default outcome rejected)',
    level: 'MUST',
    requirements: ['INBOX-007'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p);
      const answer = ok(await decide(ctx, i.intent_id, 'reject', p.inbox.key, undefined), 'reject without a body');
      equal({ s: answer.intent.status, e: answer.event.event_type, c: answer.intent.error?.code, r: answer.intent.result }, { s: 'FAILED', e: 'intent.failed', c: 'task_rejected', r: { task_result: { outcome: 'rejected' } } }, 'reject answer');
    },
  },
  {
    id: 'INBOX-004',
    title: 'reply completes with outcome replied and the message as comment',
    level: 'MUST',
    requirements: ['INBOX-008', 'INBOX-013'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p);
      const answer = ok(await decide(ctx, i.intent_id, 'reply', ctx.adminKey, { message: 'use the blue one' }), 'reply by the admin');
      equal(answer.intent.result, { task_result: { outcome: 'replied', comment: 'use the blue one' } }, 'result of a reply');
      const t = await thread(ctx, i.intent_id, p.sender.key, p.inbox.address);
      // The spec names the author "the deciding caller" without fixing the admin's spelling: both are accepted.
      check((t.messages ?? []).some((m: Wire) => m.text === 'use the blue one' && ['admin', 'agent://system/admin'].includes(m.author)), 'the reply must be a message authored by the admin', 'message', t.messages);
      problem(await decide(ctx, i.intent_id, 'reply', p.inbox.key, { message: 'again' }), 409, 'thread_closed', 'a second decision');
    },
  },
  {
    id: 'INBOX-005',
    title: 'allowed_outcomes: an outcome outside the list (given or default) is 422 outcome_not_allowed',
    level: 'MUST',
    requirements: ['INBOX-006'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p, { human_task: { title: 'Ship?', task_type: 'approval', allowed_outcomes: ['ship', 'hold'] } });
      problem(await decide(ctx, i.intent_id, 'approve', p.inbox.key, {}), 422, 'outcome_not_allowed', 'approve with the default outcome');
      problem(await decide(ctx, i.intent_id, 'reject', p.inbox.key, { outcome: 'cancel' }), 422, 'outcome_not_allowed', 'reject with an unlisted outcome');
      await unchanged(ctx, p, i.intent_id, 'outcome_not_allowed');
      equal(ok(await decide(ctx, i.intent_id, 'approve', p.inbox.key, { outcome: 'ship' }), 'approve with a listed outcome').intent.result.task_result.outcome, 'ship', 'outcome');
    },
  },
  {
    id: 'INBOX-006',
    title: 'required_comment: a decision without a non-empty comment is 422 comment_required',
    level: 'MUST',
    requirements: ['INBOX-009'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p, { human_task: { title: 'Why?', task_type: 'review', required_comment: true } });
      problem(await decide(ctx, i.intent_id, 'approve', p.inbox.key, {}), 422, 'comment_required', 'approve without comment');
      problem(await decide(ctx, i.intent_id, 'reject', p.inbox.key, { comment: '' }), 422, 'comment_required', 'reject with an empty comment');
      await unchanged(ctx, p, i.intent_id, 'comment_required');
      ok(await decide(ctx, i.intent_id, 'reject', p.inbox.key, { comment: 'too expensive' }), 'reject with a comment');
    },
  },
  {
    id: 'INBOX-007',
    title: 'a thread closed by a resolve or cancel refuses decisions with 409 thread_closed',
    level: 'MUST',
    requirements: ['INBOX-010', 'INBOX-013'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p);
      await writeOk(ctx, i.intent_id, 'cancel', p.sender.key, { reason: 'not needed' }, 'intent.canceled', 'CANCELED');
      problem(await decide(ctx, i.intent_id, 'approve', p.inbox.key, {}), 409, 'thread_closed', 'approve after a cancel');
      const t = await thread(ctx, i.intent_id, p.inbox.key);
      equal({ s: t.status, open: t.open }, { s: 'CANCELED', open: false }, 'thread of a canceled intent');
      const j = await task(ctx, p);
      ok(await resolve(ctx, j.intent_id, p.inbox.key, { status: 'COMPLETED', result: { by: 'api' } }), 'resolve by the inbox agent');
      problem(await decide(ctx, j.intent_id, 'reject', p.inbox.key, {}), 409, 'thread_closed', 'reject after a resolve');
    },
  },
  {
    id: 'INBOX-008',
    title: 'only the owner or admin decides: the sender gets 403, a stranger 404; threads are visible to owner, sender and admin only',
    level: 'MUST',
    requirements: ['INBOX-011', 'INBOX-012', 'INBOX-004'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const stranger = await agent(ctx, 'stranger', 'poll');
      const i = await task(ctx, p);
      problem(await decide(ctx, i.intent_id, 'approve', p.sender.key, {}, { owner_agent: p.inbox.address }), 403, 'forbidden', 'approve by the sender');
      problem(await decide(ctx, i.intent_id, 'approve', stranger.key, {}, { owner_agent: p.inbox.address }), 404, 'thread_not_found', 'approve by a stranger');
      await unchanged(ctx, p, i.intent_id, 'refused deciders');
      equal((await thread(ctx, i.intent_id, p.sender.key, p.inbox.address)).thread_id, i.intent_id, 'the sender reads the thread');
      equal((await thread(ctx, i.intent_id, ctx.adminKey)).kind, 'task', 'the admin reads the task thread');
      problem(await ctx.request({ method: 'GET', path: `/v1/inbox/${i.intent_id}`, key: stranger.key, query: { owner_agent: p.inbox.address } }), 404, 'thread_not_found', 'a stranger reads the thread');
      equal((await threads(ctx, stranger.key, { owner_agent: p.inbox.address })).length, 0, 'threads a stranger sees in another inbox');
      equal((await threads(ctx, p.sender.key, { owner_agent: p.inbox.address })).map((t) => t.thread_id), [i.intent_id], 'threads the sender sees');
      problem(await ctx.request({ method: 'GET', path: `/v1/inbox/${crypto.randomUUID()}`, key: p.inbox.key }), 404, 'thread_not_found', 'an unknown thread');
    },
  },
  {
    id: 'INBOX-009',
    title: 'open=true and open=false filter the inbox',
    level: 'MUST',
    requirements: ['INBOX-003'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const a = await task(ctx, p);
      await passTime(ctx, 5); // distinct created_at under a frozen test clock
      const b = await task(ctx, p);
      ok(await decide(ctx, a.intent_id, 'approve', p.inbox.key, {}), 'approve a');
      equal((await threads(ctx, p.inbox.key, { open: 'true' })).map((t) => t.thread_id), [b.intent_id], 'open threads');
      equal((await threads(ctx, p.inbox.key, { open: 'false' })).map((t) => t.thread_id), [a.intent_id], 'closed threads');
      equal((await threads(ctx, p.inbox.key)).map((t) => t.thread_id), [b.intent_id, a.intent_id], 'all threads, newest first');
    },
  },
  {
    id: 'INBOX-010',
    title: 'a terminal write on an intent with reply_to answers completion_delivery and lands a completion thread',
    level: 'MUST',
    requirements: ['INBOX-020', 'INBOX-021', 'INBOX-022', 'RES-002'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const worker = await agent(ctx, 'worker', 'poll');
      const mailbox = `agent://${ctx.unique('mbox')}/replies`;
      const i = await send(ctx, p.sender, worker.address, { reply_to: mailbox });
      const progress = ok(await resume(ctx, i.intent_id, worker.key, { action: 'progress' }), 'progress');
      check(progress.completion_delivery === undefined, 'a non-terminal write must not carry completion_delivery', undefined, progress.completion_delivery);
      const done = ok(await resolve(ctx, i.intent_id, worker.key, { status: 'COMPLETED', result: { total: 3 } }), 'resolve');
      equal(done.completion_delivery, { delivered: true, reply_to: mailbox, thread_id: i.intent_id }, 'completion_delivery');
      for (const [who, key] of [['sender', p.sender.key], ['admin', ctx.adminKey]] as const) {
        const list = await threads(ctx, key, { owner_agent: mailbox });
        const t = list.find((x) => x.thread_id === i.intent_id);
        check(t, `the completion thread is not listed for the ${who}`, i.intent_id, list);
        equal({ k: t.kind, o: t.owner_agent, s: t.status, open: t.open, r: t.result }, { k: 'completion', o: mailbox, s: 'COMPLETED', open: false, r: { total: 3 } }, `completion thread seen by the ${who}`);
      }
      problem(await decide(ctx, i.intent_id, 'approve', ctx.adminKey, {}, { owner_agent: mailbox }), 409, 'thread_closed', 'a decision on a completion thread');
      const plain = await send(ctx, p.sender, worker.address);
      const plainDone = ok(await resolve(ctx, plain.intent_id, worker.key, { status: 'COMPLETED' }), 'resolve without reply_to');
      check(plainDone.completion_delivery === undefined, 'an intent without reply_to must not answer completion_delivery', undefined, plainDone.completion_delivery);
    },
  },
  {
    id: 'INBOX-011',
    title: 'a completion thread also lands when the intent ends by deadline, for a registered reply_to agent',
    level: 'MUST',
    requirements: ['INBOX-020', 'INBOX-022'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const worker = await agent(ctx, 'worker', 'poll');
      const i = await send(ctx, p.sender, worker.address, { reply_to: p.inbox.address, ttl_seconds: 1 });
      const advanced = await passTime(ctx, 1000);
      const end = await ctx.waitForTerminal(i.intent_id, p.sender.key, advanced ? 3000 : 4000);
      equal(end.intent.status, 'TIMED_OUT', 'status after the deadline');
      const t = (await threads(ctx, p.inbox.key)).find((x) => x.thread_id === i.intent_id);
      check(t, 'the completion thread is not in the reply_to agent\'s own inbox', i.intent_id, 'missing');
      equal({ k: t.kind, s: t.status, open: t.open }, { k: 'completion', s: 'TIMED_OUT', open: false }, 'completion thread after a deadline');
    },
  },
  {
    id: 'INBOX-012',
    title: 'an inbox task is never redelivered or expired by lease',
    level: 'MUST',
    requirements: ['INBOX-014', 'DLV-033'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p);
      if (!(await passTime(ctx, 3600_000))) await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: p.sender.key, query: { wait_seconds: 2 } });
      const list = await events(ctx, i.intent_id, p.sender.key);
      equal(types(list), ['intent.created', 'intent.submitted', 'intent.delivered', 'intent.human_task_assigned'], 'events of an undecided task after an hour');
      equal((await thread(ctx, i.intent_id, p.inbox.key)).open, true, 'the task stays open');
    },
  },
  {
    id: 'INBOX-013',
    title: 'resume with task_result applies the human task rules and closes the thread',
    level: 'MUST',
    requirements: ['RES-008'],
    ...inboxCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await task(ctx, p, { human_task: { title: 'Pick', task_type: 'input', allowed_outcomes: ['red', 'rejected'], required_comment: true } });
      problem(await resume(ctx, i.intent_id, p.inbox.key, { task_result: { outcome: 'blue', comment: 'x' } }), 422, 'outcome_not_allowed', 'task_result with an unlisted outcome');
      problem(await resume(ctx, i.intent_id, p.inbox.key, { task_result: { outcome: 'red' } }), 422, 'comment_required', 'task_result without the required comment');
      const answer = ok(await resume(ctx, i.intent_id, p.inbox.key, { task_result: { outcome: 'rejected', comment: 'no' } }), 'task_result rejected');
      equal({ s: answer.intent.status, c: answer.intent.error?.code, r: answer.intent.result }, { s: 'FAILED', c: 'task_rejected', r: { task_result: { outcome: 'rejected', comment: 'no' } } }, 'the rejected task');
      equal((await thread(ctx, i.intent_id, p.inbox.key)).open, false, 'the thread after a task_result');
    },
  },
]);
