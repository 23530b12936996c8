// SEC-*: who may call what. No key or a bad key 401; agent key on admin routes 403; strangers 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, addressPath, startServer, uniqueAddress, type TestServer } from './helpers/server.js';

describe.each(STORE_KINDS)('auth matrix (%s store)', (kind) => {
  let server: TestServer;
  let sender: string, receiver: string, stranger: string;
  let senderKey: string, receiverKey: string, strangerKey: string;
  let intentId: string;
  beforeAll(async () => {
    server = await startServer(kind);
    [sender, receiver, stranger] = [uniqueAddress('sender'), uniqueAddress('receiver'), uniqueAddress('stranger')];
    senderKey = await server.registerAgent(sender, { binding: 'poll' });
    receiverKey = await server.registerAgent(receiver, { binding: 'poll' });
    strangerKey = await server.registerAgent(stranger, { binding: 'poll' });
    intentId = (await server.send(senderKey, receiver, { from_agent: stranger })).body.intent_id;
  });
  afterAll(async () => { await server.dispose(); });

  it('takes from_agent from the key, not the body', async () => {
    const res = await server.request('GET', `/v1/intents/${intentId}`, { key: senderKey });
    expect(res.body.intent.from_agent).toBe(sender);
  });

  it('answers 401 without a key or with an unknown key, on every protected route', async () => {
    for (const key of [null, 'axp_not-a-real-key-000000000']) {
      for (const [method, url] of [['GET', `/v1/intents/${intentId}`], ['POST', '/v1/intents'], ['GET', '/v1/dead-letters'], ['PUT', `/v1/agents/${addressPath(stranger)}`]]) {
        const res = await server.request(method, url, { key, body: method === 'GET' ? undefined : {} });
        expect(res.status, `${method} ${url}`).toBe(401);
        expect(res.body.code).toBe('unauthorized');
      }
    }
  });

  it('accepts Authorization: Bearer', async () => {
    const res = await server.request('GET', `/v1/intents/${intentId}`, { key: null, headers: { authorization: `Bearer ${senderKey}` } });
    expect(res.status).toBe(200);
  });

  it('answers 403 to an agent key on admin routes', async () => {
    for (const [method, url, body] of [['PUT', `/v1/agents/${addressPath(stranger)}`, { delivery: { binding: 'poll' } }], ['GET', '/v1/dead-letters', undefined], ['POST', `/v1/intents/${intentId}/redeliver`, undefined]] as const) {
      const res = await server.request(method, url, { key: senderKey, body });
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body.code).toBe('forbidden');
    }
  });

  it('lets sender, receiver and admin read; hides the intent from strangers', async () => {
    for (const key of [senderKey, receiverKey, undefined]) {
      expect((await server.request('GET', `/v1/intents/${intentId}`, { key })).status).toBe(200);
      expect((await server.request('GET', `/v1/intents/${intentId}/events`, { key })).status).toBe(200);
    }
    for (const url of [`/v1/intents/${intentId}`, `/v1/intents/${intentId}/events`]) {
      const res = await server.request('GET', url, { key: strangerKey });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('intent_not_found');
    }
    const write = await server.request('POST', `/v1/intents/${intentId}/resolve`, { key: strangerKey, body: { status: 'COMPLETED' } });
    expect(write.body.code).toBe('intent_not_found');
  });

  it('lets only the receiver act on a delivery and only the sender cancel', async () => {
    const asSender = await server.request('POST', `/v1/intents/${intentId}/resume`, { key: senderKey, body: { action: 'progress' } });
    expect(asSender.status).toBe(403);
    const cancelByReceiver = await server.request('POST', `/v1/intents/${intentId}/cancel`, { key: receiverKey });
    expect(cancelByReceiver.status).toBe(403);
    const events = await server.request('GET', `/v1/intents/${intentId}/events`, { key: senderKey });
    expect(events.body.events).toHaveLength(2);
  });

  it('keeps agent routes to the agent itself (or admin)', async () => {
    expect((await server.request('GET', `/v1/agents/${addressPath(receiver)}`, { key: receiverKey })).status).toBe(200);
    expect((await server.request('GET', `/v1/agents/${addressPath(receiver)}`)).status).toBe(200);
    expect((await server.request('GET', `/v1/agents/${addressPath(receiver)}`, { key: strangerKey })).status).toBe(403);
    expect((await server.request('GET', `/v1/agents/${addressPath(receiver)}/intents?wait_seconds=0`, { key: strangerKey })).status).toBe(403);
    expect((await server.sse(`/v1/agents/${addressPath(receiver)}/intents/stream?wait_seconds=0`, { key: strangerKey })).status).toBe(403);
    const missing = await server.request('GET', `/v1/agents/${addressPath(uniqueAddress('none'))}`);
    expect(missing.body.code).toBe('agent_not_found');
  });

  it('never shows the key again and stops the old key after rotation', async () => {
    const address = uniqueAddress('rotating');
    const oldKey = await server.registerAgent(address, { binding: 'poll' });
    const got = await server.request('GET', `/v1/agents/${addressPath(address)}`, { key: oldKey });
    expect(JSON.stringify(got.body)).not.toContain(oldKey);
    const update = await server.request('PUT', `/v1/agents/${addressPath(address)}`, { body: { delivery: { binding: 'poll' } } });
    expect(update.body.api_key).toBeUndefined();
    expect(update.body.created).toBe(false);
    const rotated = await server.request('PUT', `/v1/agents/${addressPath(address)}`, { body: { delivery: { binding: 'poll' }, rotate_key: true } });
    expect(rotated.body.api_key).toMatch(/^axp_/);
    expect((await server.request('GET', `/v1/agents/${addressPath(address)}`, { key: oldKey })).status).toBe(401);
    expect((await server.request('GET', `/v1/agents/${addressPath(address)}`, { key: rotated.body.api_key })).status).toBe(200);
  });

  it('serves health and capabilities without a key', async () => {
    expect((await server.request('GET', '/health', { key: null })).body).toEqual({ ok: true });
    const caps = await server.request('GET', '/.well-known/axp', { key: null });
    expect(caps.body.capabilities).toEqual(expect.arrayContaining(['binding.stream', 'binding.poll', 'intents.idempotency', 'events.sse']));
    expect(caps.body.capabilities).not.toContain('ext.test-clock');
  });
});
