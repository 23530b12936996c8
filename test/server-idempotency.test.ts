// IDEM-*: replay, conflict, concurrent duplicates; seq contiguity under concurrent writers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, startWithSender, uniqueAddress, type TestServer } from './helpers/server.js';

describe.each(STORE_KINDS)('idempotency and concurrency (%s store)', (kind) => {
  let server: TestServer;
  let senderKey: string;
  let receiver: string;
  let receiverKey: string;
  beforeAll(async () => {
    ({ server, senderKey } = await startWithSender(kind));
    receiver = uniqueAddress('poll');
    receiverKey = await server.registerAgent(receiver, { binding: 'poll' });
  });
  afterAll(async () => { await server.dispose(); });

  const key = () => `idem-${Math.random().toString(36).slice(2)}-key`;
  const countSent = async () => (await server.request('GET', '/v1/intents?role=sender&limit=500', { key: senderKey })).body.intents.length as number;

  it('replays the original answer, marked Idempotent-Replayed, even with a fresh correlation_id', async () => {
    const k = key();
    const first = await server.send(senderKey, receiver, { correlation_id: crypto.randomUUID() }, { 'idempotency-key': k });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const before = await countSent();
    const again = await server.send(senderKey, receiver, { correlation_id: crypto.randomUUID() }, { 'idempotency-key': k });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await countSent()).toBe(before);
  });

  it('answers 409 for the same key with a different body and changes nothing', async () => {
    const k = key();
    await server.send(senderKey, receiver, {}, { 'idempotency-key': k });
    const before = await countSent();
    const conflict = await server.send(senderKey, receiver, { payload: { n: 2 } }, { 'idempotency-key': k });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('idempotency_key_conflict');
    expect(conflict.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await countSent()).toBe(before);
  });

  it('scopes keys by sender', async () => {
    const k = key();
    const otherKey = await server.registerAgent(uniqueAddress('other'), { binding: 'poll' });
    const a = await server.send(senderKey, receiver, {}, { 'idempotency-key': k });
    const b = await server.send(otherKey, receiver, {}, { 'idempotency-key': k });
    expect(b.body.intent_id).not.toBe(a.body.intent_id);
  });

  it('creates exactly one intent for 20 concurrent duplicates', async () => {
    const k = key();
    const before = await countSent();
    const answers = await Promise.all(Array.from({ length: 20 }, () => server.send(senderKey, receiver, {}, { 'idempotency-key': k })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.body.intent_id)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect(await countSent()).toBe(before + 1);
  });

  it('replays a repeated resolve with the same key instead of 409', async () => {
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    const k = key();
    const first = await server.request('POST', `/v1/intents/${id}/resolve`, { key: receiverKey, headers: { 'idempotency-key': k }, body: { status: 'COMPLETED', result: { x: 1 } } });
    const again = await server.request('POST', `/v1/intents/${id}/resolve`, { key: receiverKey, headers: { 'idempotency-key': k }, body: { status: 'COMPLETED', result: { x: 1 } } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const unkeyed = await server.request('POST', `/v1/intents/${id}/resolve`, { key: receiverKey, body: { status: 'COMPLETED' } });
    expect(unkeyed.body.code).toBe('intent_terminal');
  });

  it('refuses a malformed Idempotency-Key', async () => {
    const res = await server.send(senderKey, receiver, {}, { 'idempotency-key': 'short' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('idempotency_key_invalid');
  });

  it('keeps seq contiguous under concurrent writers on one intent', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, async () => (await server.send(senderKey, receiver)).body.intent_id as string));
    await Promise.all(ids.flatMap((id) => Array.from({ length: 10 }, (_, i) =>
      server.request('POST', `/v1/intents/${id}/resume`, { key: receiverKey, body: i % 2 ? { action: 'progress' } : { action: 'wait', waiting_reason: 'WAITING_FOR_TOOL' } }))));
    for (const id of ids) {
      const events = (await server.request('GET', `/v1/intents/${id}/events`, { key: senderKey })).body.events as { seq: number }[];
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
      expect(events.length).toBe(12);
      const intent = (await server.request('GET', `/v1/intents/${id}`, { key: senderKey })).body.intent;
      expect(intent.last_seq).toBe(12);
    }
  });

  it('lets only one of many concurrent terminal writes win', async () => {
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      server.request('POST', `/v1/intents/${id}/resolve`, { key: receiverKey, body: { status: 'COMPLETED', result: { i } } })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'intent_terminal')).toBe(true);
  });
});
