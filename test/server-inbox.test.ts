// INBOX-*: tasks in an inbox agent's inbox, decisions and their outcome and comment rules, who may
// see and decide a thread, and reply_to completion threads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../schemas/index.js';
import { STORE_KINDS, startServer, uniqueAddress, type TestServer } from './helpers/server.js';
import { eventsOf, nextEvent } from './helpers/events.js';

const q = (address: string) => `owner_agent=${encodeURIComponent(address)}`;

describe.each(STORE_KINDS)('inbox (%s store)', (kind) => {
  let server: TestServer;
  let sender: string;
  let senderKey: string;
  let strangerKey: string;
  beforeAll(async () => {
    server = await startServer(kind);
    sender = uniqueAddress('sender');
    senderKey = await server.registerAgent(sender, { binding: 'poll' });
    strangerKey = await server.registerAgent(uniqueAddress('stranger'), { binding: 'poll' });
  });
  afterAll(async () => { await server.dispose(); });

  /** A fresh inbox agent and one task in it (waits until the task is assigned). */
  const task = async (extra: Record<string, unknown> = {}) => {
    const owner = uniqueAddress('inbox');
    const key = await server.registerAgent(owner, { binding: 'inbox' });
    const id = (await server.send(senderKey, owner, extra)).body.intent_id as string;
    await nextEvent(server, id, (e) => e.event_type === 'intent.human_task_assigned');
    return { owner, key, id };
  };
  const decide = (id: string, action: string, key: string, body?: unknown, owner?: string) =>
    server.request('POST', `/v1/inbox/${id}/${action}${owner ? `?${q(owner)}` : ''}`, { key, body });

  it('turns a delivery into an open task thread (delivered, then human_task_assigned)', async () => {
    const humanTask = { title: 'Refund 40 EUR?', task_type: 'approval', description: 'order 7' };
    const { owner, key, id } = await task({ human_task: humanTask });
    const events = await eventsOf(server, id);
    expect(events.map((e) => e.event_type)).toEqual(['intent.created', 'intent.submitted', 'intent.delivered', 'intent.human_task_assigned']);
    expect(events[3]).toMatchObject({ status: 'WAITING', waiting_reason: 'WAITING_FOR_HUMAN' });

    const list = await server.request('GET', `/v1/inbox?${q(owner)}`, { key });
    expect(validate('inbox-list-response', list.body)).toEqual({ ok: true });
    expect(list.body.threads).toMatchObject([{ thread_id: id, intent_id: id, kind: 'task', owner_agent: owner, status: 'WAITING', open: true, human_task: humanTask, from_agent: sender }]);
    expect((await server.request('GET', '/v1/inbox', { key })).body.threads).toHaveLength(1);
    expect((await server.request('GET', `/v1/inbox?${q(owner)}&open=false`, { key })).body.threads).toHaveLength(0);
    const one = await server.request('GET', `/v1/inbox/${id}`, { key });
    expect(validate('inbox-thread-response', one.body)).toEqual({ ok: true });
    expect(one.body.thread).toMatchObject({ thread_id: id, open: true });
  });

  it('approve completes with the default outcome; the thread closes', async () => {
    const { owner, key, id } = await task();
    const res = await decide(id, 'approve', key, undefined, owner);
    expect(res.status).toBe(200);
    expect(validate('intent-write-response', res.body)).toEqual({ ok: true });
    expect(res.body.intent).toMatchObject({ status: 'COMPLETED', result: { task_result: { outcome: 'approved' } } });
    expect(res.body.event).toMatchObject({ event_type: 'intent.completed', actor: owner });
    expect(res.body.completion_delivery).toBeUndefined();
    const thread = (await server.request('GET', `/v1/inbox/${id}`, { key })).body.thread;
    expect(thread).toMatchObject({ status: 'COMPLETED', open: false, result: { task_result: { outcome: 'approved' } } });
    const again = await decide(id, 'reject', key);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('thread_closed');
  });

  it('reject fails with task_rejected and records the comment as a message', async () => {
    const { owner, key, id } = await task();
    const res = await decide(id, 'reject', key, { comment: 'not this quarter', data: { budget: 0 } });
    expect(res.status).toBe(200);
    expect(res.body.intent).toMatchObject({
      status: 'FAILED', error: { code: 'task_rejected' },
      result: { task_result: { outcome: 'rejected', comment: 'not this quarter', data: { budget: 0 } } },
    });
    const thread = (await server.request('GET', `/v1/inbox/${id}?${q(owner)}`, { key })).body.thread;
    expect(thread.messages).toMatchObject([{ author: owner, text: 'not this quarter' }]);
  });

  it('reply completes with outcome replied and the message as comment', async () => {
    const { key, id } = await task();
    const res = await decide(id, 'reply', key, { message: 'use the blue one' });
    expect(res.body.intent).toMatchObject({ status: 'COMPLETED', result: { task_result: { outcome: 'replied', comment: 'use the blue one' } } });
  });

  it('enforces allowed_outcomes, and a refused decision changes nothing', async () => {
    const { key, id } = await task({ human_task: { title: 'Ship?', task_type: 'approval', allowed_outcomes: ['ship', 'hold'] } });
    const refused = await decide(id, 'approve', key);
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('outcome_not_allowed');
    const replied = await decide(id, 'reply', key, { message: 'hm' });
    expect(replied.body.code).toBe('outcome_not_allowed');
    expect((await eventsOf(server, id)).at(-1).event_type).toBe('intent.human_task_assigned');
    const ok = await decide(id, 'approve', key, { outcome: 'ship' });
    expect(ok.body.intent.result.task_result.outcome).toBe('ship');
  });

  it('enforces required_comment on approve and reject', async () => {
    const { key, id } = await task({ human_task: { title: 'Why?', task_type: 'review', required_comment: true } });
    for (const body of [undefined, { comment: '' }, { comment: '   ' }]) {
      const res = await decide(id, 'reject', key, body);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('comment_required');
    }
    expect((await decide(id, 'approve', key, { comment: 'fine' })).status).toBe(200);
  });

  it('lets only the owner or the admin decide; the sender sees the thread but gets 403', async () => {
    const { owner, id } = await task();
    const bySender = await decide(id, 'approve', senderKey, undefined, owner);
    expect(bySender.status).toBe(403);
    expect(bySender.body.code).toBe('forbidden');
    expect((await decide(id, 'approve', senderKey)).status).toBe(403);
    const byStranger = await decide(id, 'approve', strangerKey, undefined, owner);
    expect(byStranger.status).toBe(404);
    expect(byStranger.body.code).toBe('thread_not_found');
    expect((await server.request('GET', `/v1/inbox?${q(owner)}`, { key: senderKey })).body.threads).toHaveLength(1);
    expect((await server.request('GET', `/v1/inbox?${q(owner)}`, { key: strangerKey })).body.threads).toHaveLength(0);
    expect((await server.request('GET', `/v1/inbox/${id}?${q(owner)}`, { key: strangerKey })).status).toBe(404);
    const byAdmin = await decide(id, 'approve', undefined as unknown as string);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.event.actor).toBe('admin'); // EVT-009
  });

  it('closes the thread when the intent ends another way', async () => {
    const { key, id } = await task();
    expect((await server.request('POST', `/v1/intents/${id}/cancel`, { key: senderKey, body: { reason: 'changed my mind' } })).status).toBe(200);
    const res = await decide(id, 'approve', key);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('thread_closed');
  });

  it('replays a decision with the same Idempotency-Key', async () => {
    const { key, id } = await task();
    const headers = { 'idempotency-key': `decide-${id}` };
    const first = await server.request('POST', `/v1/inbox/${id}/approve`, { key, body: { comment: 'ok' }, headers });
    const second = await server.request('POST', `/v1/inbox/${id}/approve`, { key, body: { comment: 'ok' }, headers });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
  });

  it('lands a completion thread in the reply_to inbox, registered or not', async () => {
    const mailbox = uniqueAddress('mailbox');
    const { key, id } = await task({ reply_to: mailbox });
    const res = await decide(id, 'approve', key, { comment: 'done' });
    expect(res.body.completion_delivery).toEqual({ delivered: true, reply_to: mailbox, thread_id: id });
    expect(validate('intent-write-response', res.body)).toEqual({ ok: true });
    for (const reader of [undefined, senderKey]) {
      const threads = (await server.request('GET', `/v1/inbox?${q(mailbox)}`, { key: reader })).body.threads;
      expect(threads).toMatchObject([{ thread_id: id, kind: 'completion', owner_agent: mailbox, status: 'COMPLETED', open: false, result: { task_result: { outcome: 'approved' } } }]);
    }
    expect((await server.request('GET', `/v1/inbox?${q(mailbox)}`, { key: strangerKey })).body.threads).toHaveLength(0);
    const decided = await decide(id, 'approve', undefined as unknown as string, undefined, mailbox);
    expect(decided.body.code).toBe('thread_closed');
  });

  it('reports completion_delivery on a resolve by a stream receiver, and lists it for a registered reply_to agent', async () => {
    const receiver = uniqueAddress('worker');
    const receiverKey = await server.registerAgent(receiver, { binding: 'poll' });
    const mailbox = uniqueAddress('mailbox');
    const mailboxKey = await server.registerAgent(mailbox, { binding: 'inbox' });
    const id = (await server.send(senderKey, receiver, { reply_to: mailbox })).body.intent_id;
    const progress = await server.request('POST', `/v1/intents/${id}/resume`, { key: receiverKey, body: { action: 'progress' } });
    expect(progress.body.completion_delivery).toBeUndefined();
    const resolved = await server.request('POST', `/v1/intents/${id}/resolve`, { key: receiverKey, body: { status: 'FAILED', error: { code: 'out_of_stock' } } });
    expect(resolved.body.completion_delivery).toEqual({ delivered: true, reply_to: mailbox, thread_id: id });
    const threads = (await server.request('GET', '/v1/inbox', { key: mailboxKey })).body.threads;
    expect(threads).toMatchObject([{ thread_id: id, kind: 'completion', status: 'FAILED', error: { code: 'out_of_stock' } }]);
  });
});
