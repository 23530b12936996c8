// DLV-*: lease expiry redelivers with attempt + 1; exhaustion → FAILED, delivery_failed, dead
// letter; redeliver reopens; the same under the test clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../schemas/index.js';
import { STORE_KINDS, addressPath, startServer, startWithSender, uniqueAddress, type TestServer } from './helpers/server.js';

const fast = { lease_seconds: 0.2, initial_delay_ms: 1, max_delay_ms: 5, max_delivery_attempts: 2 };

describe.each(STORE_KINDS)('leases and retries (%s store)', (kind) => {
  let server: TestServer;
  let senderKey: string;
  beforeAll(async () => { ({ server, senderKey } = await startWithSender(kind)); });
  afterAll(async () => { await server.dispose(); });

  it('redelivers an un-acked delivery with attempt + 1 and a new delivery_id', async () => {
    const receiver = uniqueAddress('poll');
    const key = await server.registerAgent(receiver, { binding: 'poll', ...fast, max_delivery_attempts: 3 });
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    const first = (await server.request('GET', `/v1/agents/${addressPath(receiver)}/intents?wait_seconds=5`, { key })).body.deliveries[0];
    expect(first.attempt).toBe(1);
    const events = await server.waitForEvent(id, (e) => e.event_type === 'intent.delivery_attempt');
    const attemptEvent = events[events.length - 1];
    expect(validate('event', attemptEvent)).toEqual({ ok: true });
    expect(attemptEvent.details).toMatchObject({ attempt: 1, error: 'lease_expired' });
    const second = (await server.request('GET', `/v1/agents/${addressPath(receiver)}/intents?wait_seconds=10`, { key })).body.deliveries[0];
    expect(second).toMatchObject({ intent_id: id, attempt: 2, seq: first.seq + 1 });
    expect(second.delivery_id).not.toBe(first.delivery_id);
    const stale = await server.request('POST', `/v1/intents/${id}/ack`, { key, body: { delivery_id: first.delivery_id } });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('stale_delivery');
    const ack = await server.request('POST', `/v1/intents/${id}/ack`, { key, body: { delivery_id: second.delivery_id } });
    expect(ack.status).toBe(200);
  });

  it('fails the intent, dead-letters it, and redelivers it on request', async () => {
    const receiver = uniqueAddress('stream');
    const key = await server.registerAgent(receiver, { binding: 'stream', ...fast });
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    let since = 0;
    // Take every attempt and never ack it.
    const attempts: number[] = [];
    for (let i = 0; i < 20 && attempts.length < 2; i++) {
      const res = await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?since=${since}&wait_seconds=1`, { key });
      attempts.push(...res.frames.filter((f) => f.event === 'intent.delivered').map((f) => f.data.attempt as number));
      since = res.frames[res.frames.length - 1].data.next_seq;
    }
    expect(attempts).toEqual([1, 2]);
    const events = await server.waitForEvent(id, (e) => e.event_type === 'intent.delivery_failed');
    expect(events.map((e) => e.event_type).filter((t) => t === 'intent.delivery_attempt')).toHaveLength(2);
    const intent = (await server.request('GET', `/v1/intents/${id}`, { key: senderKey })).body.intent;
    expect(intent).toMatchObject({ status: 'FAILED', error: { code: 'delivery_failed' } });

    const letters = await server.request('GET', `/v1/dead-letters?agent=${encodeURIComponent(receiver)}`);
    expect(validate('dead-letter-list-response', letters.body)).toEqual({ ok: true });
    expect(letters.body.dead_letters).toMatchObject([{ intent_id: id, attempts: 2, binding: 'stream', last_error: 'lease_expired' }]);

    const forbidden = await server.request('POST', `/v1/intents/${id}/redeliver`, { key: senderKey });
    expect(forbidden.status).toBe(403);
    const redelivered = await server.request('POST', `/v1/intents/${id}/redeliver`);
    expect(redelivered.status).toBe(200);
    expect(redelivered.body.event).toMatchObject({ event_type: 'intent.submitted', details: { redelivery: true } });
    expect(redelivered.body.intent.status).toBe('SUBMITTED');
    expect(redelivered.body.intent.error).toBeUndefined();
    const res = await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?since=${since}&wait_seconds=0`, { key });
    const again = res.frames.find((f) => f.event === 'intent.delivered')?.data;
    expect(again).toMatchObject({ intent_id: id, attempt: 1 });
    const done = await server.request('POST', `/v1/intents/${id}/resolve`, { key, body: { status: 'COMPLETED' } });
    expect(done.body.intent.status).toBe('COMPLETED');
    const after = (await server.request('GET', `/v1/dead-letters?agent=${encodeURIComponent(receiver)}`)).body.dead_letters;
    expect(after).toHaveLength(1);
    expect(after[0].redelivered_at).toEqual(expect.any(String));
    // Only a dead-lettered FAILED intent reopens (LC-014).
    const twice = await server.request('POST', `/v1/intents/${id}/redeliver`);
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('illegal_transition');
  });

  it('drives leases and retries from the test clock', async () => {
    const clocked = await startServer(kind, { testClock: true });
    try {
      const sKey = await clocked.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const receiver = uniqueAddress('poll');
      const key = await clocked.registerAgent(receiver, { binding: 'poll', lease_seconds: 30, initial_delay_ms: 1000, max_delivery_attempts: 2 });
      const caps = await clocked.request('GET', '/v1/capabilities', { key: null });
      expect(caps.body.capabilities).toContain('ext.test-clock');
      const id = (await clocked.send(sKey, receiver)).body.intent_id;
      const poll = () => clocked.request('GET', `/v1/agents/${addressPath(receiver)}/intents?wait_seconds=0`, { key });
      expect((await poll()).body.deliveries[0].attempt).toBe(1);
      const advanced = await clocked.request('POST', '/v1/_test/clock', { body: { advance_ms: 30_000 } });
      expect(advanced.status).toBe(200);
      expect(advanced.body.fired).toBeGreaterThanOrEqual(1);
      expect((await poll()).body.deliveries).toEqual([]);
      await clocked.request('POST', '/v1/_test/clock', { body: { advance_ms: 1_200 } });
      expect((await poll()).body.deliveries[0].attempt).toBe(2);
      await clocked.request('POST', '/v1/_test/clock', { body: { advance_ms: 30_000 } });
      const intent = (await clocked.request('GET', `/v1/intents/${id}`, { key: sKey })).body.intent;
      expect(intent).toMatchObject({ status: 'FAILED', error: { code: 'delivery_failed' } });
    } finally {
      await clocked.dispose();
    }
  });

  // LC-020 after LC-014: ending the intent cancelled its deadline timer; the reopened intent's
  // deadline must still time it out.
  it('times out a redelivered intent at its deadline', async () => {
    const clocked = await startServer(kind, { testClock: true });
    try {
      const sKey = await clocked.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const receiver = uniqueAddress('poll');
      const key = await clocked.registerAgent(receiver, { binding: 'poll', lease_seconds: 30, max_delivery_attempts: 1 });
      const id = (await clocked.send(sKey, receiver, { ttl_seconds: 120 })).body.intent_id;
      const advance = (ms: number) => clocked.request('POST', '/v1/_test/clock', { body: { advance_ms: ms } });
      expect((await clocked.request('GET', `/v1/agents/${addressPath(receiver)}/intents?wait_seconds=0`, { key })).body.deliveries).toHaveLength(1);
      await advance(30_000);
      const status = async () => (await clocked.request('GET', `/v1/intents/${id}`, { key: sKey })).body.intent.status;
      expect(await status()).toBe('FAILED');
      expect((await clocked.request('POST', `/v1/intents/${id}/redeliver`)).status).toBe(200);
      await advance(60_000);
      expect(await status()).toBe('SUBMITTED');
      await advance(31_000);
      const intent = (await clocked.request('GET', `/v1/intents/${id}`, { key: sKey })).body.intent;
      expect(intent).toMatchObject({ status: 'TIMED_OUT', error: { code: 'deadline_exceeded' } });
    } finally {
      await clocked.dispose();
    }
  });

  it('refuses the test clock when the extension is off', async () => {
    const res = await server.request('POST', '/v1/_test/clock', { body: { advance_ms: 1 } });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('extension_disabled');
  });
});
