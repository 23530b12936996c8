// HTTP-*: the http binding against real receivers on 127.0.0.1: signed pushes, retries with
// backoff and Retry-After, 410, timeouts, refused connections, per-agent concurrency, dead
// letters and redelivery, and a push interrupted by a restart.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../schemas/index.js';
import { STORE_KINDS, startServer, startWithSender, tempDbFile, uniqueAddress, type TestServer } from './helpers/server.js';
import { Receiver, deadUrl, type Push, type Script } from './helpers/receiver.js';
import { eventsOf, nextEvent } from './helpers/events.js';
import { verifies } from './helpers/signatures.js';

const fast = { initial_delay_ms: 20, max_delay_ms: 100, timeout_ms: 2000 };

const types = (events: { event_type: string }[]) => events.map((e) => e.event_type);

describe.each(STORE_KINDS)('http push (%s store)', (kind) => {
  let server: TestServer;
  let senderKey: string;
  const receivers: Receiver[] = [];
  const receiver = async (script?: Script) => {
    const r = await Receiver.start(script);
    receivers.push(r);
    return r;
  };
  /** Registers an http agent at the receiver's url; returns its key and the secret shown once. */
  const register = async (url: string, policy: Record<string, unknown> = {}) => {
    const address = uniqueAddress('http');
    const res = await server.request('PUT', `/v1/agents/${address.replace('agent://', '')}`, { body: { delivery: { binding: 'http', url, ...fast, ...policy } } });
    expect(res.status).toBe(200);
    return { address, key: res.body.api_key as string, secret: res.body.secret as string };
  };

  beforeAll(async () => { ({ server, senderKey } = await startWithSender(kind, { allowPrivateCallbacks: true })); });
  afterEach(async () => { await Promise.all(receivers.splice(0).map((r) => r.close())); });
  afterAll(async () => { await server.dispose(); });

  it('delivers on attempt N+1 after N failures, every attempt signed afresh with the shown secret', async () => {
    const r = await receiver((n) => (n < 2 ? 500 : 200));
    const agent = await register(r.url, { max_delivery_attempts: 5 });
    expect(agent.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = (await server.send(senderKey, agent.address)).body.intent_id;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
    expect(types(events)).toEqual([
      'intent.created', 'intent.submitted', 'intent.delivery_attempt', 'intent.delivery_attempt', 'intent.delivered', 'intent.acknowledged',
    ]);
    for (const [i, e] of events.filter((e) => e.event_type === 'intent.delivery_attempt').entries()) {
      expect(validate('event', e)).toEqual({ ok: true });
      expect(e.details).toMatchObject({ attempt: i + 1, error: 'http_status', status_code: 500 });
      expect(Date.parse(e.details.next_attempt_at)).toBeGreaterThan(Date.parse(e.at));
    }
    const pushes = await r.waitForPushes(3);
    expect(pushes.map((p) => p.json.attempt)).toEqual([1, 2, 3]);
    expect(new Set(pushes.map((p) => p.json.delivery_id)).size).toBe(3);
    for (const push of pushes) {
      expect(validate('delivery', push.json)).toEqual({ ok: true });
      expect(push.headers['webhook-id']).toBe(id);
      expect(push.headers['content-type']).toBe('application/json');
      expect(Math.abs(Number(push.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(verifies(agent.secret, push)).toBe(true);
      expect(verifies(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, push)).toBe(false);
    }
    const intent = (await server.request('GET', `/v1/intents/${id}`, { key: senderKey })).body.intent;
    expect(intent.status).toBe('ACKNOWLEDGED');
  });

  it('stops at once on 410 and dead-letters the intent', async () => {
    const r = await receiver(() => 410);
    const agent = await register(r.url, { max_delivery_attempts: 5 });
    const id = (await server.send(senderKey, agent.address)).body.intent_id;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.delivery_failed');
    const attempts = events.filter((e) => e.event_type === 'intent.delivery_attempt');
    expect(attempts).toHaveLength(1);
    expect(attempts[0].details).toMatchObject({ attempt: 1, status_code: 410, next_attempt_at: null });
    expect(r.pushes).toHaveLength(1);
    const letters = await server.request('GET', `/v1/dead-letters?agent=${encodeURIComponent(agent.address)}`);
    expect(letters.body.dead_letters).toMatchObject([{ intent_id: id, attempts: 1, binding: 'http', last_status_code: 410 }]);
  });

  it('counts a receiver that does not answer within timeout_ms as a timed-out attempt', async () => {
    const r = await receiver(() => 'hang');
    const agent = await register(r.url, { timeout_ms: 200, max_delivery_attempts: 1 });
    const id = (await server.send(senderKey, agent.address)).body.intent_id;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.delivery_failed');
    expect(events.find((e) => e.event_type === 'intent.delivery_attempt').details).toMatchObject({ attempt: 1, error: 'timeout', next_attempt_at: null });
    expect(events.at(-1).status).toBe('FAILED');
  });

  it('honours Retry-After within [the jittered minimum, max_delay_ms]', async () => {
    const r = await receiver((n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : n === 1 ? { status: 429, headers: { 'retry-after': '3600' } } : 200));
    const agent = await register(r.url, { max_delivery_attempts: 3, initial_delay_ms: 20, max_delay_ms: 1500 });
    const id = (await server.send(senderKey, agent.address)).body.intent_id;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
    const [first, second] = events.filter((e) => e.event_type === 'intent.delivery_attempt');
    // The event's `at` is taken a moment after the delay was computed: the gap is the delay less
    // that moment, which a loaded machine can stretch. The backoff alone would be 20 to 40 ms, so a
    // gap of more than half the asked delay shows the header was honoured.
    const gap = (e: any) => Date.parse(e.details.next_attempt_at) - Date.parse(e.at);
    expect(gap(first)).toBeGreaterThan(500);
    expect(gap(first)).toBeLessThanOrEqual(1000);
    expect(gap(second)).toBeGreaterThan(750);
    expect(gap(second)).toBeLessThanOrEqual(1500);
    const pushes = await r.waitForPushes(3);
    expect(pushes[1].at).toBeGreaterThanOrEqual(Date.parse(first.details.next_attempt_at));
  });

  it('keeps a hanging receiver to its own lane: a healthy agent is served meanwhile', async () => {
    const dead = await receiver(() => 'hang');
    const healthy = await receiver(() => 200);
    const slow = await register(dead.url, { timeout_ms: 10_000, max_concurrency: 2, max_delivery_attempts: 1 });
    const fine = await register(healthy.url);
    const stuck = [];
    for (let i = 0; i < 5; i++) stuck.push((await server.send(senderKey, slow.address)).body.intent_id);
    await dead.waitForPushes(2);
    const id = (await server.send(senderKey, fine.address)).body.intent_id;
    await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
    // HTTP-030: only max_concurrency pushes went out to the hanging receiver; none has timed out yet.
    expect(dead.pushes).toHaveLength(2);
    for (const stuckId of stuck) expect(types(await eventsOf(server, stuckId))).not.toContain('intent.delivery_attempt');
  });

  it('exhausts attempts on a refused connection, dead-letters, and completes after redeliver', async () => {
    const url = await deadUrl();
    const agent = await register(url, { max_delivery_attempts: 2 });
    const id = (await server.send(senderKey, agent.address)).body.intent_id;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.delivery_failed');
    expect(events.filter((e) => e.event_type === 'intent.delivery_attempt').map((e) => e.details.error)).toEqual(['connection_refused', 'connection_refused']);
    expect((await server.request('GET', `/v1/dead-letters?agent=${encodeURIComponent(agent.address)}`)).body.dead_letters).toMatchObject([{ intent_id: id, last_error: 'connection_refused' }]);

    // The receiver comes up at a new url; the admin points the agent there and redelivers.
    const r = await receiver(() => 200);
    await server.request('PUT', `/v1/agents/${agent.address.replace('agent://', '')}`, { body: { delivery: { binding: 'http', url: r.url, ...fast, max_delivery_attempts: 2 } } });
    const redelivered = await server.request('POST', `/v1/intents/${id}/redeliver`);
    expect(redelivered.status).toBe(200);
    expect(redelivered.body.event).toMatchObject({ event_type: 'intent.submitted', details: { redelivery: true } });
    await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged', { since: redelivered.body.event.seq });
    const [push] = await r.waitForPushes(1);
    expect(push.json.attempt).toBe(1);
    expect(verifies(agent.secret, push)).toBe(true);
    const done = await server.request('POST', `/v1/intents/${id}/resolve`, { key: agent.key, body: { status: 'COMPLETED', result: { ok: 1 } } });
    expect(done.status).toBe(200);
    expect(done.body.intent.status).toBe('COMPLETED');
  });

  it('a 2xx after the receiver already resumed adds no event (LC-013)', async () => {
    let release: (answer: number) => void = () => {};
    const held = new Promise<number>((resolve) => { release = resolve; });
    const r = await receiver((n) => (n === 0 ? held : 200));
    // One lane slot: the second intent is pushed only once the first push's outcome is recorded.
    const agent = await register(r.url, { timeout_ms: 5000, max_concurrency: 1 });
    const id = (await server.send(senderKey, agent.address)).body.intent_id;
    await r.waitForPushes(1);
    const resumed = await server.request('POST', `/v1/intents/${id}/resume`, { key: agent.key, body: { action: 'progress' } });
    expect(resumed.status).toBe(200);
    const next = (await server.send(senderKey, agent.address)).body.intent_id;
    release(200);
    const pushes = await r.waitForPushes(2);
    expect(pushes[1].json.intent_id).toBe(next);
    expect(types(await eventsOf(server, id))).toEqual(['intent.created', 'intent.submitted', 'intent.in_progress']);
  });
});

describe('http push across a restart (sqlite)', () => {
  it('retries a push that was in flight when the server stopped, after its lease', async () => {
    const { dir, file } = tempDbFile();
    const r = await Receiver.start((n) => (n === 0 ? 'hang' : 200));
    let server = await startServer('sqlite', { file, dir, allowPrivateCallbacks: true, testClock: true });
    try {
      const senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const address = uniqueAddress('http');
      await server.request('PUT', `/v1/agents/${address.replace('agent://', '')}`, { body: { delivery: { binding: 'http', url: r.url, initial_delay_ms: 20, timeout_ms: 60_000 } } });
      const id = (await server.send(senderKey, address)).body.intent_id;
      await r.waitForPushes(1);
      await server.close();
      server = await startServer('sqlite', { file, dir, allowPrivateCallbacks: true, testClock: true });
      // The lease (timeout_ms + margin) runs out on the (test) clock; the retry follows.
      const advanced = await server.request('POST', '/v1/_test/clock', { body: { advance_ms: 120_000 } });
      expect(advanced.body.fired).toBeGreaterThanOrEqual(2);
      const events = await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
      expect(events.find((e) => e.event_type === 'intent.delivery_attempt').details).toMatchObject({ attempt: 1, error: 'lease_expired' });
      const pushes = await r.waitForPushes(2);
      expect(pushes[1].json.attempt).toBe(2);
    } finally {
      await r.close();
      await server.dispose();
    }
  });
});
