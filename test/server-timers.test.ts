// LC-020..LC-025, INTL-001..INTL-015, CLK-*: internal delays, reminders, escalation and
// deadlines, in real time and under the test clock, and durable across a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../reference-server/clock.js';
import { STORE_KINDS, startServer, startWithSender, tempDbFile, uniqueAddress, type TestServer } from './helpers/server.js';
import { eventsOf, nextEvent } from './helpers/events.js';

const DELAY = 'intent.internal.delay.v1';
const types = (events: { event_type: string }[]) => events.map((e) => e.event_type);
const agentPath = (address: string) => address.replace('agent://', '');

describe('timers in real time', () => {
  let server: TestServer;
  let senderKey: string;
  beforeAll(async () => { ({ server, senderKey } = await startWithSender('memory')); });
  afterAll(async () => { await server.dispose(); });

  it('advertises the internal handler and its intent type', async () => {
    const caps = (await server.request('GET', '/v1/capabilities', { key: null })).body;
    expect(caps.supported_intent_types).toContain(DELAY);
    expect(caps.capabilities).toEqual(expect.arrayContaining(['binding.http', 'binding.inbox', 'binding.internal']));
    expect(caps.capabilities).not.toContain('ext.test-clock');
    const off = await server.request('POST', '/v1/_test/clock', { body: { advance_ms: 1 } });
    expect(off.status).toBe(404);
    expect(off.body.code).toBe('extension_disabled');
  });

  it('completes a delay intent after its seconds, whatever the to_agent', async () => {
    const created = await server.send(senderKey, uniqueAddress('nobody'), { intent_type: DELAY, payload: { seconds: 1 } });
    expect(created.status).toBe(200);
    const id = created.body.intent_id;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.completed');
    expect(types(events)).toEqual(['intent.created', 'intent.submitted', 'intent.delivered', 'intent.waiting', 'intent.completed']);
    expect(events[3]).toMatchObject({ status: 'WAITING', waiting_reason: 'WAITING_FOR_TIME' });
    expect(Date.parse(events[4].at) - Date.parse(events[2].at)).toBeGreaterThanOrEqual(1000);
    const intent = (await server.request('GET', `/v1/intents/${id}`, { key: senderKey })).body.intent;
    expect(intent.result).toEqual({ delayed_seconds: 1 });
  });

  it('refuses a delay without valid seconds at create when the receiver is an internal agent', async () => {
    const internal = uniqueAddress('platform');
    await server.registerAgent(internal, { binding: 'internal' });
    for (const payload of [{}, { seconds: -1 }, { seconds: 1.5 }, { seconds: '3' }]) {
      const res = await server.send(senderKey, internal, { intent_type: DELAY, payload });
      expect(res.status).toBe(422);
      expect(res.body.errors).toMatchObject([{ pointer: '/payload/seconds' }]);
    }
  });

  it('fails a delay without valid seconds on delivery when the receiver is not known to be internal', async () => {
    const res = await server.send(senderKey, uniqueAddress('nobody'), { intent_type: DELAY, payload: { seconds: 'soon' } });
    expect(res.status).toBe(200);
    const events = await nextEvent(server, res.body.intent_id, (e) => e.event_type === 'intent.failed');
    expect(types(events)).toEqual(['intent.created', 'intent.submitted', 'intent.delivered', 'intent.failed']);
    expect((await server.request('GET', `/v1/intents/${res.body.intent_id}`)).body.intent.error.code).toBe('invalid_payload');
  });

  it('refuses escalate_to without remind_after_seconds', async () => {
    const res = await server.send(senderKey, uniqueAddress('nobody'), { escalate_to: uniqueAddress('boss') });
    expect(res.status).toBe(422);
    expect(res.body.errors).toMatchObject([{ pointer: '/escalate_to' }]);
  });

  it('fails an unsupported type sent to an internal agent', async () => {
    const internal = uniqueAddress('platform');
    await server.registerAgent(internal, { binding: 'internal' });
    const id = (await server.send(senderKey, internal)).body.intent_id;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.failed');
    expect(types(events)).toEqual(['intent.created', 'intent.submitted', 'intent.delivered', 'intent.failed']);
    expect((await server.request('GET', `/v1/intents/${id}`)).body.intent.error.code).toBe('unsupported_intent_type');
  });

  it('times out at the deadline, cancels delivery, and refuses later writes', async () => {
    const receiver = uniqueAddress('late');
    const id = (await server.send(senderKey, receiver, { ttl_seconds: 1 })).body.intent_id;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.timed_out');
    expect(events.at(-1)).toMatchObject({ status: 'TIMED_OUT', actor: 'system' });
    expect((await server.request('GET', `/v1/intents/${id}`)).body.intent.error.code).toBe('deadline_exceeded');
    // The receiver registers only now: nothing is delivered for the timed-out intent.
    const key = await server.registerAgent(receiver, { binding: 'poll' });
    expect((await server.request('GET', `/v1/agents/${agentPath(receiver)}/intents?wait_seconds=0`, { key })).body.deliveries).toEqual([]);
    const write = await server.request('POST', `/v1/intents/${id}/resolve`, { key, body: { status: 'COMPLETED' } });
    expect(write.status).toBe(409);
    expect(write.body.code).toBe('intent_terminal');
    expect(types(await eventsOf(server, id)).at(-1)).toBe('intent.timed_out');
  });
});

describe.each(STORE_KINDS)('timers under the test clock (%s store)', (kind) => {
  let server: TestServer;
  let senderKey: string;
  const advance = async (ms: number) => {
    const res = await server.request('POST', '/v1/_test/clock', { body: { advance_ms: ms } });
    expect(res.status).toBe(200);
    return res.body as { ok: true; now: string; fired: number };
  };
  beforeAll(async () => { ({ server, senderKey } = await startWithSender(kind, { testClock: true })); });
  afterAll(async () => { await server.dispose(); });

  it('is advertised, admin-only, and never moves backwards', async () => {
    const caps = (await server.request('GET', '/v1/capabilities', { key: null })).body;
    expect(caps.capabilities).toContain('ext.test-clock');
    expect(caps.extensions['test-clock']).toEqual({ endpoint: '/v1/_test/clock' });
    expect((await server.request('POST', '/v1/_test/clock', { key: senderKey, body: { advance_ms: 1 } })).status).toBe(403);
    const a = await advance(0);
    const b = await advance(0);
    expect(b.now).toBe(a.now);
  });

  it('completes an hour-long delay when the clock reaches it', async () => {
    const id = (await server.send(senderKey, uniqueAddress('nobody'), { intent_type: DELAY, payload: { seconds: 3600 } })).body.intent_id;
    const waiting = await nextEvent(server, id, (e) => e.event_type === 'intent.waiting');
    await advance(3599_000);
    expect(types(await eventsOf(server, id))).not.toContain('intent.completed');
    const step = await advance(1000);
    expect(step.fired).toBeGreaterThanOrEqual(1);
    const events = await eventsOf(server, id);
    expect(events.at(-1)).toMatchObject({ event_type: 'intent.completed', status: 'COMPLETED' });
    expect(Date.parse(events.at(-1).at) - Date.parse(waiting.at(-1).at)).toBe(3600_000);
  });

  it('appends at most max_reminders reminders, each at its own time', async () => {
    const receiver = uniqueAddress('slow');
    await server.registerAgent(receiver, { binding: 'poll' });
    const created = await server.send(senderKey, receiver, { remind_after_seconds: 60, remind_interval_seconds: 30, max_reminders: 3 });
    const id = created.body.intent_id;
    const start = Date.parse(created.body.intent.created_at);
    await advance(59_000);
    expect(types(await eventsOf(server, id))).not.toContain('intent.reminder');
    await advance(1000);
    expect(types(await eventsOf(server, id)).filter((t) => t === 'intent.reminder')).toHaveLength(1);
    await advance(3600_000);
    const reminders = (await eventsOf(server, id)).filter((e) => e.event_type === 'intent.reminder');
    expect(reminders.map((e) => e.details.reminder)).toEqual([1, 2, 3]);
    expect(reminders.map((e) => Date.parse(e.at) - start)).toEqual([60_000, 90_000, 120_000]);
    expect(reminders.every((e) => e.status === 'SUBMITTED' && e.actor === 'system')).toBe(true);
  });

  it('escalates once after the last reminder, delivering to escalate_to on its own binding', async () => {
    const receiver = uniqueAddress('absent');
    await server.registerAgent(receiver, { binding: 'poll' });
    const helper = uniqueAddress('helper');
    const helperKey = await server.registerAgent(helper, { binding: 'poll' });
    const created = await server.send(senderKey, receiver, { remind_after_seconds: 10, max_reminders: 1, escalate_to: helper });
    const id = created.body.intent_id;
    const start = Date.parse(created.body.intent.created_at);
    await advance(20_000);
    const events = await eventsOf(server, id);
    expect(types(events)).toEqual(['intent.created', 'intent.submitted', 'intent.reminder', 'intent.escalated']);
    expect(events[3]).toMatchObject({ details: { escalate_to: helper }, status: 'SUBMITTED' });
    expect(Date.parse(events[3].at) - start).toBe(20_000);
    const polled = await server.request('GET', `/v1/agents/${agentPath(helper)}/intents?wait_seconds=5`, { key: helperKey });
    expect(polled.body.deliveries).toMatchObject([{ intent_id: id, escalated_from: receiver, to_agent: receiver }]);
    expect((await server.request('GET', `/v1/intents/${id}`, { key: helperKey })).body.intent.pending_with).toBe(helper);
    await advance(3600_000);
    expect(types(await eventsOf(server, id)).filter((t) => t === 'intent.escalated')).toHaveLength(1);
    const done = await server.request('POST', `/v1/intents/${id}/resolve`, { key: helperKey, body: { status: 'COMPLETED', result: { by: 'helper' } } });
    expect(done.status).toBe(200);
  });

  it('an escalation that runs out of attempts does not fail the intent', async () => {
    const receiver = uniqueAddress('inbox');
    const receiverKey = await server.registerAgent(receiver, { binding: 'inbox' });
    const helper = uniqueAddress('flaky');
    const helperKey = await server.registerAgent(helper, { binding: 'poll', lease_seconds: 1, max_delivery_attempts: 1 });
    const id = (await server.send(senderKey, receiver, { remind_after_seconds: 5, max_reminders: 0, escalate_to: helper })).body.intent_id;
    await nextEvent(server, id, (e) => e.event_type === 'intent.human_task_assigned');
    await advance(5000);
    const polled = await server.request('GET', `/v1/agents/${agentPath(helper)}/intents?wait_seconds=5`, { key: helperKey });
    expect(polled.body.deliveries).toHaveLength(1);
    await advance(60_000);
    const events = await eventsOf(server, id);
    expect(types(events)).not.toContain('intent.delivery_failed');
    expect(events.at(-1).status).toBe('WAITING');
    // INTL-013: the original receiver keeps its rights and its open task.
    const approved = await server.request('POST', `/v1/inbox/${id}/approve`, { key: receiverKey });
    expect(approved.body.intent.status).toBe('COMPLETED');
  });

  it('times out at deadline_at: nothing is delivered, reminded or accepted afterwards', async () => {
    const receiver = uniqueAddress('busy');
    const key = await server.registerAgent(receiver, { binding: 'poll' });
    const now = Date.parse((await advance(0)).now);
    const deadline = new Date(now + 60_000).toISOString();
    const created = await server.send(senderKey, receiver, { deadline_at: deadline, remind_after_seconds: 120, reply_to: uniqueAddress('mailbox') });
    const id = created.body.intent_id;
    await advance(59_999);
    expect((await eventsOf(server, id)).at(-1).status).toBe('SUBMITTED');
    await advance(1);
    const timedOut = (await eventsOf(server, id)).at(-1);
    expect(timedOut).toMatchObject({ event_type: 'intent.timed_out', status: 'TIMED_OUT', at: deadline });
    await advance(3600_000);
    expect(types(await eventsOf(server, id)).at(-1)).toBe('intent.timed_out');
    expect((await server.request('GET', `/v1/agents/${agentPath(receiver)}/intents?wait_seconds=0`, { key })).body.deliveries).toEqual([]);
    for (const [path, body] of [['ack', {}], ['resume', { action: 'progress' }], ['resolve', { status: 'COMPLETED' }]] as const) {
      const res = await server.request('POST', `/v1/intents/${id}/${path}`, { key, body });
      expect(res.status).toBe(409);
    }
    expect((await server.request('POST', `/v1/intents/${id}/cancel`, { key: senderKey, body: {} })).status).toBe(409);
    const mailbox = created.body.intent.reply_to;
    expect((await server.request('GET', `/v1/inbox?owner_agent=${encodeURIComponent(mailbox)}`)).body.threads).toMatchObject([{ thread_id: id, status: 'TIMED_OUT' }]);
  });
});

describe('timers across a restart (sqlite)', () => {
  it('fires timers that fell due while the server was down, at once and in due order', async () => {
    const { dir, file } = tempDbFile();
    let server = await startServer('sqlite', { file, dir, testClock: true });
    try {
      const senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const receiver = uniqueAddress('gone');
      await server.registerAgent(receiver, { binding: 'poll' });
      const helper = uniqueAddress('helper');
      await server.registerAgent(helper, { binding: 'poll' });
      const now = Date.parse((await server.request('POST', '/v1/_test/clock', { body: { advance_ms: 0 } })).body.now);
      const chain = (await server.send(senderKey, receiver, {
        remind_after_seconds: 20, max_reminders: 1, escalate_to: helper, deadline_at: new Date(now + 60_000).toISOString(),
      })).body.intent_id;
      const delay = (await server.send(senderKey, uniqueAddress('nobody'), { intent_type: DELAY, payload: { seconds: 30 } })).body.intent_id;
      await nextEvent(server, delay, (e) => e.event_type === 'intent.waiting');
      await server.close();

      // Ten minutes later: every timer is late and fires on start, without any advance.
      server = await startServer('sqlite', { file, dir, testClock: true, clock: new TestClock(now + 600_000) });
      const events = await nextEvent(server, chain, (e) => e.event_type === 'intent.timed_out');
      expect(types(events)).toEqual(['intent.created', 'intent.submitted', 'intent.reminder', 'intent.escalated', 'intent.timed_out']);
      const done = await nextEvent(server, delay, (e) => e.event_type === 'intent.completed');
      expect(done.at(-1).status).toBe('COMPLETED');
    } finally {
      await server.dispose();
    }
  });

  it('fires a timer that is still due after a restart in real time', async () => {
    const { dir, file } = tempDbFile();
    let server = await startServer('sqlite', { file, dir });
    try {
      const senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const id = (await server.send(senderKey, uniqueAddress('nobody'), { intent_type: DELAY, payload: { seconds: 1 } })).body.intent_id;
      await nextEvent(server, id, (e) => e.event_type === 'intent.waiting');
      await server.close();
      server = await startServer('sqlite', { file, dir });
      const events = await nextEvent(server, id, (e) => e.event_type === 'intent.completed');
      expect(events.filter((e) => e.event_type === 'intent.completed')).toHaveLength(1);
    } finally {
      await server.dispose();
    }
  });
});
