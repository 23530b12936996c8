// Bounded SSE responses: read whole, reconnect with the cursor, see every event and every delivery
// exactly once; since and Last-Event-ID; keepalive; the final stream.timeout frame.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, addressPath, startServer, startWithSender, uniqueAddress, type TestServer } from './helpers/server.js';

describe.each(STORE_KINDS)('SSE (%s store)', (kind) => {
  let server: TestServer;
  let senderKey: string;
  beforeAll(async () => { ({ server, senderKey } = await startWithSender(kind)); });
  afterAll(async () => { await server.dispose(); });

  it('a reconnecting stream client sees every delivery exactly once', async () => {
    const receiver = uniqueAddress('stream');
    const key = await server.registerAgent(receiver, { binding: 'stream' });
    const total = 12;
    const sent: string[] = [];
    const sending = (async () => {
      for (let i = 0; i < total; i++) sent.push((await server.send(senderKey, receiver)).body.intent_id);
    })();
    const received: string[] = [];
    const seqs: number[] = [];
    let since = 0;
    const deadline = Date.now() + 20_000;
    while (received.length < total && Date.now() < deadline) {
      const res = await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?since=${since}&wait_seconds=1`, { key });
      const last = res.frames[res.frames.length - 1];
      expect(last.event).toBe('stream.timeout');
      for (const f of res.frames.slice(0, -1)) {
        expect(f.event).toBe('intent.delivered');
        received.push(f.data.intent_id);
        seqs.push(Number(f.id));
        expect(f.data.seq).toBe(Number(f.id));
      }
      since = last.data.next_seq;
    }
    await sending;
    expect([...received].sort()).toEqual([...sent].sort());
    expect(new Set(received).size).toBe(total);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it('re-sends leased, un-acked deliveries after the cursor on reconnect', async () => {
    const receiver = uniqueAddress('stream');
    const key = await server.registerAgent(receiver, { binding: 'stream' });
    const a = (await server.send(senderKey, receiver)).body.intent_id;
    const b = (await server.send(senderKey, receiver)).body.intent_id;
    const first = await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?wait_seconds=0`, { key });
    expect(first.frames.filter((f) => f.event === 'intent.delivered').map((f) => f.data.intent_id)).toEqual([a, b]);
    await server.request('POST', `/v1/intents/${b}/ack`, { key });
    // The client lost everything after seq 0: a (still un-acked) comes again, b (acked) does not.
    const again = await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?wait_seconds=0`, { key, headers: { 'last-event-id': '0' } });
    expect(again.frames.filter((f) => f.event === 'intent.delivered').map((f) => f.data.intent_id)).toEqual([a]);
    const none = await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?since=2&wait_seconds=0`, { key });
    expect(none.frames.map((f) => f.event)).toEqual(['stream.timeout']);
  });

  it('sends a delivery claimed while the stream reads its re-send list once, not twice', async () => {
    const receiver = uniqueAddress('stream');
    const key = await server.registerAgent(receiver, { binding: 'stream' });
    const engine = server.app.axp.engine;
    const original = engine.resendable;
    let created: string | undefined;
    // An intent created while the stream starts: its commit (and any claim a wake-up joined to it)
    // lands before the re-send list is read.
    engine.resendable = async (address, since) => {
      if (address === receiver && created === undefined) created = (await server.send(senderKey, receiver)).body.intent_id;
      return original.call(engine, address, since);
    };
    try {
      const res = await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?wait_seconds=0`, { key });
      expect(res.frames.filter((f) => f.event === 'intent.delivered').map((f) => f.data.intent_id)).toEqual([created]);
    } finally {
      engine.resendable = original;
    }
  });

  it('an observer that reconnects with its cursor sees every event exactly once', async () => {
    const receiver = uniqueAddress('poll');
    const key = await server.registerAgent(receiver, { binding: 'poll' });
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    const writer = (async () => {
      for (let i = 0; i < 8; i++) await server.request('POST', `/v1/intents/${id}/resume`, { key, body: { action: 'progress' } });
      await server.request('POST', `/v1/intents/${id}/resume`, { key, body: { action: 'complete' } });
    })();
    const seqs: number[] = [];
    let since = 0;
    for (let round = 0; round < 50; round++) {
      const res = await server.sse(`/v1/intents/${id}/events/stream?since=${since}&wait_seconds=1`, { key: senderKey });
      const last = res.frames[res.frames.length - 1];
      expect(last.event).toBe('stream.timeout');
      for (const f of res.frames.slice(0, -1)) seqs.push(f.data.seq);
      since = last.data.next_seq;
      if (last.data.reason === 'terminal') break;
    }
    await writer;
    expect(seqs).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
  });

  it('resumes with since and with Last-Event-ID, exclusive, with no gap', async () => {
    const receiver = uniqueAddress('poll');
    const key = await server.registerAgent(receiver, { binding: 'poll' });
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    await server.request('POST', `/v1/intents/${id}/resume`, { key, body: { action: 'progress' } });
    const bySince = await server.sse(`/v1/intents/${id}/events/stream?since=1&wait_seconds=0`, { key: senderKey });
    expect(bySince.frames.map((f) => f.id)).toEqual(['2', '3', undefined]);
    const byHeader = await server.sse(`/v1/intents/${id}/events/stream?since=0&wait_seconds=0`, { key: senderKey, headers: { 'last-event-id': '2' } });
    expect(byHeader.frames.map((f) => f.id)).toEqual(['3', undefined]);
    expect(byHeader.frames[1].data).toEqual({ ok: true, next_seq: 3, reason: 'wait_elapsed' });
    const list = await server.request('GET', `/v1/intents/${id}/events?since=2`, { key: senderKey });
    expect(list.body.events.map((e: { seq: number }) => e.seq)).toEqual([3]);
  });

  it('writes keepalive comments and ends after wait_seconds with stream.timeout', async () => {
    const receiver = uniqueAddress('poll');
    const key = await server.registerAgent(receiver, { binding: 'poll' });
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    const res = await server.sse(`/v1/intents/${id}/events/stream?since=2&wait_seconds=2`, { key: senderKey });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.comments).toContain('keepalive');
    expect(res.frames).toEqual([{ id: undefined, event: 'stream.timeout', data: { ok: true, next_seq: 2, reason: 'wait_elapsed' } }]);
    void key;
  });

  it('ends an observe at once for a terminal intent the client has fully seen', async () => {
    const receiver = uniqueAddress('poll');
    const key = await server.registerAgent(receiver, { binding: 'poll' });
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    await server.request('POST', `/v1/intents/${id}/resolve`, { key, body: { status: 'COMPLETED' } });
    const res = await server.sse(`/v1/intents/${id}/events/stream?since=3&wait_seconds=30`, { key: senderKey });
    expect(res.frames).toEqual([{ id: undefined, event: 'stream.timeout', data: { ok: true, next_seq: 3, reason: 'terminal' } }]);
  });

  it('cuts a slow consumer past the high-water mark with the final frame', async () => {
    const small = await startServer(kind, { sseHighWaterMark: 64 });
    try {
      const sKey = await small.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const receiver = uniqueAddress('poll');
      await small.registerAgent(receiver, { binding: 'poll' });
      const id = (await small.send(sKey, receiver, { payload: { blob: 'x'.repeat(4096) } })).body.intent_id;
      const res = await small.sse(`/v1/intents/${id}/events/stream?since=0&wait_seconds=30`, { key: sKey });
      const last = res.frames[res.frames.length - 1];
      expect(last).toMatchObject({ event: 'stream.timeout', data: { reason: 'slow_consumer' } });
      expect(last.data.next_seq).toBe(res.frames.length - 1);
    } finally {
      await small.dispose();
    }
  });

  it('ends open SSE responses with the final frame on shutdown', async () => {
    const closing = await startServer(kind);
    try {
      const sKey = await closing.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const receiver = uniqueAddress('poll');
      await closing.registerAgent(receiver, { binding: 'poll' });
      const id = (await closing.send(sKey, receiver)).body.intent_id;
      const reading = closing.sse(`/v1/intents/${id}/events/stream?since=0&wait_seconds=60`, { key: sKey });
      await closing.waitForEvent(id, (e) => e.seq === 2, { key: sKey });
      const closed = closing.close();
      const res = await reading;
      await closed;
      expect(res.frames[res.frames.length - 1]).toEqual({ id: undefined, event: 'stream.timeout', data: { ok: true, next_seq: 2, reason: 'shutdown' } });
    } finally {
      await closing.dispose();
    }
  });
});
