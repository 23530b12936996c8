// The reference server's current delivery after a lease expired (DLV-006, DLV-011, DLV-017,
// RES-013, INT-016), its input checks (INT-007, AGT-008, AGT-022, TERM-004, TERM-006, ERR-007,
// SEC-001) and the shapes of its answers (LC-016, RES-007, EVT-009, EVT-010, ERR-003, INBOX-013):
// the places where a conformance run once found it wrong.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, startServer, uniqueAddress, type TestServer } from './helpers/server.js';
import { Receiver } from './helpers/receiver.js';
import { eventsOf, nextEvent } from './helpers/events.js';

const path = (address: string) => address.replace('agent://', '');
const types = (events: { event_type: string }[]) => events.map((e) => e.event_type);

describe.each(STORE_KINDS)('the current delivery under the test clock (%s store)', (kind) => {
  let server: TestServer;
  let senderKey: string;
  const receivers: Receiver[] = [];
  beforeAll(async () => {
    server = await startServer(kind, { testClock: true, allowPrivateCallbacks: true });
    senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
  });
  afterEach(async () => { await Promise.all(receivers.splice(0).map((r) => r.close())); });
  afterAll(async () => { await server.dispose(); });

  const advance = async (ms: number) => expect((await server.request('POST', '/v1/_test/clock', { body: { advance_ms: ms } })).status).toBe(200);
  /** A poll agent (lease 30 s, retry after ~1 s, 2 attempts), one intent, and its first delivery. */
  const delivered = async () => {
    const receiver = uniqueAddress('poll');
    const key = await server.registerAgent(receiver, { binding: 'poll', lease_seconds: 30, initial_delay_ms: 1000, max_delivery_attempts: 2 });
    const id = (await server.send(senderKey, receiver)).body.intent_id as string;
    const poll = async () => (await server.request('GET', `/v1/agents/${path(receiver)}/intents?wait_seconds=0`, { key })).body.deliveries as any[];
    const [first] = await poll();
    expect(first).toMatchObject({ intent_id: id, attempt: 1 });
    return { receiver, key, id, first, poll };
  };
  const intentOf = async (id: string) => (await server.request('GET', `/v1/intents/${id}`, { key: senderKey })).body.intent;

  it('accepts an ack of the expired delivery before a newer one is issued, and cancels the redelivery (DLV-017)', async () => {
    const { key, id, first, poll } = await delivered();
    await advance(31_000); // lease expired; the retry is scheduled, not issued
    const ack = await server.request('POST', `/v1/intents/${id}/ack`, { key, body: { delivery_id: first.delivery_id } });
    expect(ack.status).toBe(200);
    expect(ack.body.event).toMatchObject({ event_type: 'intent.acknowledged', details: { delivery_id: first.delivery_id, attempt: 1 } });
    await advance(120_000);
    expect(await poll()).toEqual([]);
    expect(await intentOf(id)).toMatchObject({ status: 'ACKNOWLEDGED', delivery_attempt: 1 });
    expect(types(await eventsOf(server, id))).toEqual(['intent.created', 'intent.submitted', 'intent.delivered', 'intent.delivery_attempt', 'intent.acknowledged']);
  });

  it('never treats a retry that fell due but was not handed out as the current delivery (DLV-006, DLV-011)', async () => {
    const { key, id, first, poll } = await delivered();
    await advance(33_500); // lease expired and the retry fell due; nobody polled
    expect((await intentOf(id)).delivery_attempt).toBe(1);
    const stranger = await server.request('POST', `/v1/intents/${id}/ack`, { key, body: { delivery_id: crypto.randomUUID() } });
    expect(stranger.status).toBe(409);
    expect(stranger.body.code).toBe('stale_delivery');
    const ack = await server.request('POST', `/v1/intents/${id}/ack`, { key, body: {} });
    expect(ack.status).toBe(200);
    expect(ack.body.event.details).toEqual({ delivery_id: first.delivery_id, attempt: 1 });
    expect(await poll()).toEqual([]);
    expect(ack.body.intent.delivery_attempt).toBe(1);
  });

  it('after a newer delivery is issued, refuses the old one on ack but accepts it on resume (DLV-012, RES-013)', async () => {
    const { key, id, first, poll } = await delivered();
    await advance(33_500);
    const [second] = await poll();
    expect(second).toMatchObject({ attempt: 2 });
    const stale = await server.request('POST', `/v1/intents/${id}/ack`, { key, body: { delivery_id: first.delivery_id } });
    expect(stale.body.code).toBe('stale_delivery');
    const unknown = await server.request('POST', `/v1/intents/${id}/resume`, { key, body: { action: 'progress', delivery_id: crypto.randomUUID() } });
    expect(unknown.status).toBe(409);
    expect(unknown.body.code).toBe('stale_delivery');
    const older = await server.request('POST', `/v1/intents/${id}/resume`, { key, body: { action: 'progress', delivery_id: first.delivery_id } });
    expect(older.status).toBe(200);
    expect(older.body.intent).toMatchObject({ status: 'IN_PROGRESS', delivery_attempt: 2 });
  });

  it('a resume after the lease expired cancels the scheduled retry (DLV-018, INT-016)', async () => {
    const { key, id, poll } = await delivered();
    await advance(30_001); // lease expired, retry not yet due
    expect((await server.request('POST', `/v1/intents/${id}/resume`, { key, body: { action: 'progress' } })).status).toBe(200);
    await advance(120_000);
    expect(await poll()).toEqual([]);
    expect(await intentOf(id)).toMatchObject({ status: 'IN_PROGRESS', delivery_attempt: 1 });
  });

  it('counts the 2xx of a retry pushed over http after a binding switch, even when the clock passes its lease (AGT-024, LC-013)', async () => {
    let release: (status: number) => void = () => {};
    const held = new Promise<number>((resolve) => { release = resolve; });
    const r = await Receiver.start(() => held);
    receivers.push(r);
    const { receiver, id, first } = await delivered();
    const switched = await server.request('PUT', `/v1/agents/${path(receiver)}`, { body: { delivery: { binding: 'http', url: r.url, initial_delay_ms: 1000, max_delivery_attempts: 2 } } });
    expect(switched.status).toBe(200);
    await advance(40_000); // the poll lease expires and the retry goes out over http, in one advance
    const [push] = await r.waitForPushes(1);
    expect(push.json).toMatchObject({ intent_id: id, attempt: 2 });
    await advance(60_000); // past the push's lease while the receiver still holds the answer
    release(200);
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged' || e.status === 'FAILED');
    expect(types(events).slice(-3)).toEqual(['intent.delivery_attempt', 'intent.delivered', 'intent.acknowledged']);
    expect(events[events.length - 2].details).toMatchObject({ delivery_id: push.json.delivery_id, attempt: 2, binding: 'http' });
    expect(first.delivery_id).not.toBe(push.json.delivery_id);
  });
});

describe.each(STORE_KINDS)('input checks and answer shapes (%s store)', (kind) => {
  let server: TestServer;
  let sender: string;
  let senderKey: string;
  let worker: string;
  let workerKey: string;
  beforeAll(async () => {
    server = await startServer(kind);
    sender = uniqueAddress('sender');
    senderKey = await server.registerAgent(sender, { binding: 'poll' });
    worker = uniqueAddress('worker');
    workerKey = await server.registerAgent(worker, { binding: 'poll' });
  });
  afterAll(async () => { await server.dispose(); });

  const expectViolation = (res: { status: number; body: any }, pointer: string, location = 'body') => {
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer, location })]));
  };

  it('refuses a deadline_at that is not after now and creates nothing (INT-007)', async () => {
    const before = (await server.request('GET', '/v1/intents?role=sender', { key: senderKey })).body.intents.length;
    expectViolation(await server.send(senderKey, worker, { deadline_at: '2000-01-01T00:00:00.000Z' }), '/deadline_at');
    expect((await server.request('GET', '/v1/intents?role=sender', { key: senderKey })).body.intents).toHaveLength(before);
    expect((await server.send(senderKey, worker, { deadline_at: new Date(Date.now() + 3_600_000).toISOString() })).status).toBe(200);
  });

  it('stores result {} on a COMPLETED resolve without one, error {code: failure} on an outcome failure (LC-016, RES-007)', async () => {
    const a = (await server.send(senderKey, worker)).body.intent_id;
    const done = await server.request('POST', `/v1/intents/${a}/resolve`, { key: workerKey, body: { status: 'COMPLETED' } });
    expect(done.body.intent).toMatchObject({ status: 'COMPLETED', result: {} });
    const b = (await server.send(senderKey, worker)).body.intent_id;
    const failed = await server.request('POST', `/v1/intents/${b}/resume`, { key: workerKey, body: { outcome: 'failure' } });
    expect(failed.body.intent).toMatchObject({ status: 'FAILED', error: { code: 'failure' } });
  });

  it('names the admin key `admin` as actor; delivered names its binding (EVT-009, EVT-010)', async () => {
    const own = uniqueAddress('worker');
    const ownKey = await server.registerAgent(own, { binding: 'poll' });
    const created = await server.request('POST', '/v1/intents', { body: { intent_type: 'test.work.v1', to_agent: own, payload: {} } });
    expect(created.body.intent.from_agent).toBe('agent://system/admin');
    const id = created.body.intent_id;
    const delivery = (await server.request('GET', `/v1/agents/${path(own)}/intents?wait_seconds=5`, { key: ownKey })).body.deliveries[0];
    expect(delivery.intent_id).toBe(id);
    await server.request('POST', `/v1/intents/${id}/cancel`, { body: { reason: 'test' } });
    const events = await eventsOf(server, id);
    expect(events.map((e) => [e.event_type, e.actor])).toEqual([
      ['intent.created', 'admin'], ['intent.submitted', 'admin'], ['intent.delivered', 'system'], ['intent.canceled', 'admin'],
    ]);
    expect(events[2].details).toMatchObject({ delivery_id: delivery.delivery_id, attempt: 1, binding: 'poll' });
  });

  it('authors an admin decision in an inbox thread as `admin` (INBOX-013)', async () => {
    const owner = uniqueAddress('inbox');
    await server.registerAgent(owner, { binding: 'inbox' });
    const id = (await server.send(senderKey, owner)).body.intent_id;
    await nextEvent(server, id, (e) => e.event_type === 'intent.human_task_assigned');
    const decided = await server.request('POST', `/v1/inbox/${id}/approve?owner_agent=${encodeURIComponent(owner)}`, { body: { comment: 'fine' } });
    expect(decided.status).toBe(200);
    expect(decided.body.event.actor).toBe('admin');
    const thread = (await server.request('GET', `/v1/inbox/${id}?owner_agent=${encodeURIComponent(owner)}`)).body.thread;
    expect(thread.messages).toEqual([expect.objectContaining({ author: 'admin', text: 'fine' })]);
  });

  it('refuses inconsistent or reserved registrations (AGT-022, AGT-008, TERM-006, TERM-004)', async () => {
    const put = (address: string, body: unknown) => server.request('PUT', `/v1/agents/${address}`, { body });
    const fresh = path(uniqueAddress('agt'));
    expectViolation(await put(fresh, { delivery: { binding: 'poll', initial_delay_ms: 1000, max_delay_ms: 999 } }), '/delivery/max_delay_ms');
    expectViolation(await put(fresh, { delivery: { binding: 'poll' }, rotate_secret: true }), '/rotate_secret');
    expectViolation(await put('system/someone', { delivery: { binding: 'poll' } }), '/address', 'params');
    expectViolation(await put('single-segment', { delivery: { binding: 'poll' } }), '/address', 'params');
    expectViolation(await put('a/b/c/d', { delivery: { binding: 'poll' } }), '/address', 'params');
    expect((await server.request('GET', `/v1/agents/${fresh}`)).body.code).toBe('agent_not_found');
  });

  it('refuses two different keys in x-api-key and Authorization (SEC-001)', async () => {
    const read = (headers: Record<string, string>) => server.request('GET', `/v1/agents/${path(worker)}`, { key: workerKey, headers });
    expect((await read({ authorization: `Bearer ${workerKey}` })).status).toBe(200);
    const both = await read({ authorization: `Bearer ${senderKey}` });
    expect(both.status).toBe(401);
    expect(both.body.code).toBe('unauthorized');
  });

  it('types problems https://axp.dev/problems/<code> (ERR-003)', async () => {
    const res = await server.request('GET', `/v1/intents/${crypto.randomUUID()}`, { key: senderKey });
    expect(res.body).toMatchObject({ code: 'intent_not_found', type: 'https://axp.dev/problems/intent_not_found' });
  });

  it('answers a deeply nested body with a 4xx problem, never 503, and accepts moderate nesting (ERR-007)', async () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const create = (payload: string) => server.request('POST', '/v1/intents', { key: senderKey, rawBody: `{"intent_type":"test.work.v1","to_agent":"${worker}","payload":{"x":${payload}}}`, headers: { 'content-type': 'application/json' } });
    const deep = await create(nest(5000));
    expect(deep.status).toBe(422);
    expect(deep.body.code).toBe('validation_failed');
    expect(deep.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await create(`"${'['.repeat(5000)}"`)).status).toBe(200); // brackets inside a string do not nest
    expect((await create(nest(200))).status).toBe(200);
    const bad = await fetch(`${server.url}/v1/inbox/%ZZ`, { headers: { 'x-api-key': senderKey } });
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(bad.status).toBeLessThan(500);
  });
});
