// Full send → deliver → ack → resume → complete on the stream and poll bindings, both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../schemas/index.js';
import { STORE_KINDS, addressPath, startServer, uniqueAddress, type TestServer } from './helpers/server.js';

function expectSchema(name: Parameters<typeof validate>[0], data: unknown): void {
  expect(validate(name, data)).toEqual({ ok: true });
}

describe.each(STORE_KINDS)('lifecycle (%s store)', (kind) => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer(kind); });
  afterAll(async () => { await server.dispose(); });

  async function senderAndReceiver(binding: 'stream' | 'poll') {
    const sender = uniqueAddress('sender');
    const receiver = uniqueAddress(binding);
    const senderKey = await server.registerAgent(sender, { binding: 'poll' });
    const receiverKey = await server.registerAgent(receiver, { binding });
    return { sender, receiver, senderKey, receiverKey };
  }

  async function finish(intentId: string, deliveryId: string, receiverKey: string, senderKey: string) {
    const ack = await server.request('POST', `/v1/intents/${intentId}/ack`, { key: receiverKey, body: { delivery_id: deliveryId } });
    expect(ack.status).toBe(200);
    expectSchema('intent-write-response', ack.body);
    expect(ack.body.event.event_type).toBe('intent.acknowledged');

    const progress = await server.request('POST', `/v1/intents/${intentId}/resume`, { key: receiverKey, body: { action: 'progress' } });
    expect(progress.body.intent.status).toBe('IN_PROGRESS');
    const complete = await server.request('POST', `/v1/intents/${intentId}/resume`, { key: receiverKey, body: { action: 'complete', result: { answer: 42 } } });
    expect(complete.status).toBe(200);
    expect(complete.body.intent.status).toBe('COMPLETED');
    expect(complete.body.intent.result).toEqual({ answer: 42 });

    const got = await server.request('GET', `/v1/intents/${intentId}`, { key: senderKey });
    expectSchema('intent-response', got.body);
    expect(got.body).toMatchObject({ ok: true, status: 'COMPLETED', lifecycle_status: 'COMPLETED' });

    const events = await server.request('GET', `/v1/intents/${intentId}/events?since=0`, { key: senderKey });
    expectSchema('event-list-response', events.body);
    expect(events.body.events.map((e: { event_type: string }) => e.event_type)).toEqual([
      'intent.created', 'intent.submitted', 'intent.delivered', 'intent.acknowledged', 'intent.in_progress', 'intent.completed',
    ]);
    expect(events.body.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);

    const after = await server.request('POST', `/v1/intents/${intentId}/resume`, { key: receiverKey, body: { action: 'complete' } });
    expect(after.status).toBe(409);
    expect(after.body.code).toBe('intent_terminal');
  }

  it('delivers over the stream binding and completes', async () => {
    const { receiver, senderKey, receiverKey } = await senderAndReceiver('stream');
    const created = await server.send(senderKey, receiver);
    expect(created.status).toBe(200);
    expectSchema('intent-response', created.body);
    expect(created.body).toMatchObject({ ok: true, status: 'SUBMITTED', lifecycle_status: 'SUBMITTED' });

    const stream = await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?since=0&wait_seconds=0`, { key: receiverKey });
    expect(stream.status).toBe(200);
    const deliveries = stream.frames.filter((f) => f.event === 'intent.delivered');
    expect(deliveries).toHaveLength(1);
    const delivery = deliveries[0].data;
    expectSchema('delivery', delivery);
    expect(delivery).toMatchObject({ intent_id: created.body.intent_id, attempt: 1, seq: 1, payload: { n: 1 } });
    expect(deliveries[0].id).toBe('1');
    const last = stream.frames[stream.frames.length - 1];
    expect(last).toMatchObject({ event: 'stream.timeout', data: { ok: true, next_seq: 1 } });
    expect(last.id).toBeUndefined();

    await finish(created.body.intent_id, delivery.delivery_id, receiverKey, senderKey);
  });

  it('delivers over the poll binding and completes', async () => {
    const { receiver, senderKey, receiverKey } = await senderAndReceiver('poll');
    const created = await server.send(senderKey, receiver);
    const polled = await server.request('GET', `/v1/agents/${addressPath(receiver)}/intents?wait_seconds=5&limit=10`, { key: receiverKey });
    expect(polled.status).toBe(200);
    expectSchema('delivery-list-response', polled.body);
    expect(polled.body.deliveries).toHaveLength(1);
    expect(polled.body.deliveries[0].intent_id).toBe(created.body.intent_id);
    await finish(created.body.intent_id, polled.body.deliveries[0].delivery_id, receiverKey, senderKey);
  });

  it('answers a long poll as soon as an intent arrives', async () => {
    const { receiver, senderKey, receiverKey } = await senderAndReceiver('poll');
    const polling = server.request('GET', `/v1/agents/${addressPath(receiver)}/intents?wait_seconds=20`, { key: receiverKey });
    const created = await server.send(senderKey, receiver);
    const polled = await polling;
    expect(polled.body.deliveries.map((d: { intent_id: string }) => d.intent_id)).toEqual([created.body.intent_id]);
  });

  it('long-polls GET /v1/intents/{id} until terminal', async () => {
    const { receiver, senderKey, receiverKey } = await senderAndReceiver('poll');
    const created = await server.send(senderKey, receiver);
    const id = created.body.intent_id;
    const waiting = server.request('GET', `/v1/intents/${id}?wait_seconds=20`, { key: senderKey });
    const resolved = await server.request('POST', `/v1/intents/${id}/resolve`, { key: receiverKey, body: { status: 'COMPLETED', result: { done: true } } });
    expect(resolved.status).toBe(200);
    expect((await waiting).body.status).toBe('COMPLETED');
  });

  it('accepts the outcome and wait shapes of resume, and cancel by the sender', async () => {
    const { receiver, senderKey, receiverKey } = await senderAndReceiver('poll');
    const a = (await server.send(senderKey, receiver)).body.intent_id;
    const wait = await server.request('POST', `/v1/intents/${a}/resume`, { key: receiverKey, body: { action: 'wait', waiting_reason: 'WAITING_FOR_TOOL' } });
    expect(wait.body.intent).toMatchObject({ status: 'WAITING', waiting_reason: 'WAITING_FOR_TOOL' });
    const failed = await server.request('POST', `/v1/intents/${a}/resume`, { key: receiverKey, body: { outcome: 'failure', error: { code: 'boom' } } });
    expect(failed.body.intent).toMatchObject({ status: 'FAILED', error: { code: 'boom' } });

    const b = (await server.send(senderKey, receiver)).body.intent_id;
    const canceled = await server.request('POST', `/v1/intents/${b}/cancel`, { key: senderKey, body: { reason: 'changed my mind' } });
    expect(canceled.body.intent).toMatchObject({ status: 'CANCELED', reason: 'changed my mind', pending_with: null });
  });

  it('keeps an intent to an unregistered address SUBMITTED until the agent registers', async () => {
    const { senderKey } = await senderAndReceiver('poll');
    const later = uniqueAddress('later');
    const created = await server.send(senderKey, later);
    expect(created.body.intent).toMatchObject({ status: 'SUBMITTED', pending_with: later });
    const key = await server.registerAgent(later, { binding: 'poll' });
    const polled = await server.request('GET', `/v1/agents/${addressPath(later)}/intents?wait_seconds=5`, { key });
    expect(polled.body.deliveries.map((d: { intent_id: string }) => d.intent_id)).toEqual([created.body.intent_id]);
  });

  it('lists intents with a status filter and a cursor', async () => {
    const { receiver, senderKey, receiverKey } = await senderAndReceiver('poll');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await server.send(senderKey, receiver)).body.intent_id);
    await server.request('POST', `/v1/intents/${ids[0]}/cancel`, { key: senderKey });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Record<string, any> } = await server.request('GET', `/v1/intents?role=sender&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: senderKey });
      expectSchema('intent-list-response', page.body);
      seen.push(...page.body.intents.map((i: { intent_id: string }) => i.intent_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const canceled = await server.request('GET', '/v1/intents?status=CANCELED', { key: receiverKey });
    expect(canceled.body.intents.map((i: { intent_id: string }) => i.intent_id)).toEqual([ids[0]]);
  });
});
