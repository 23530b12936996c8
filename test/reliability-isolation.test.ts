// SEC-001..SEC-009 isolation matrix: every route of schemas/routes.ts × {no key, bad key, another
// agent's key, admin} gets the documented status (spec/14-security.md, spec/13-errors.md); an
// agent never reads, acks, resumes, resolves, cancels or redelivers another's intent, and a
// rejected request changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../schemas/routes.js';
import { ADMIN_KEY, startServer, uniqueAddress, type TestServer } from './helpers/server.js';
import { nextEvent } from './helpers/events.js';

const path = (address: string) => `/v1/agents/${address.replace('agent://', '')}`;

interface Fixture {
  server: TestServer;
  sender: { address: string; key: string };
  receiver: { address: string; key: string };
  poller: { address: string; key: string };
  inbox: { address: string; key: string };
  stranger: { address: string; key: string };
  intentId: string;
  threadId: string;
}

type Req = { method: string; url: string; body?: unknown };
type Actor = 'none' | 'bad' | 'stranger' | 'admin';

/** One concrete request per route; `fresh` builds state an admin write may consume. */
async function requestFor(id: string, f: Fixture, actor: Actor): Promise<Req> {
  const fresh = actor === 'admin';
  const freshIntent = async (to: string, extra: Record<string, unknown> = {}) => (await f.server.send(f.sender.key, to, extra)).body.intent_id as string;
  const freshThread = async () => {
    const intentId = await freshIntent(f.inbox.address, { human_task: { title: 'approve', task_type: 'approval' } });
    await nextEvent(f.server, intentId, (e) => e.event_type === 'intent.human_task_assigned');
    return intentId;
  };
  const intent = f.intentId;
  const owner = `owner_agent=${encodeURIComponent(f.inbox.address)}`;
  switch (id) {
    case 'health': return { method: 'GET', url: '/health' };
    case 'getCapabilities': return { method: 'GET', url: '/v1/capabilities' };
    case 'getWellKnown': return { method: 'GET', url: '/.well-known/axp' };
    case 'putAgent': return { method: 'PUT', url: path(uniqueAddress('iso-new')), body: { delivery: { binding: 'poll' } } };
    case 'getAgent': return { method: 'GET', url: path(f.receiver.address) };
    case 'streamDeliveries': return { method: 'GET', url: `${path(f.receiver.address)}/intents/stream?wait_seconds=0` };
    case 'pollDeliveries': return { method: 'GET', url: `${path(f.poller.address)}/intents?wait_seconds=0` };
    case 'createIntent': return { method: 'POST', url: '/v1/intents', body: { intent_type: 'test.iso.v1', to_agent: f.receiver.address, payload: {} } };
    case 'listIntents': return { method: 'GET', url: '/v1/intents' };
    case 'getIntent': return { method: 'GET', url: `/v1/intents/${intent}` };
    case 'listEvents': return { method: 'GET', url: `/v1/intents/${intent}/events` };
    case 'streamEvents': return { method: 'GET', url: `/v1/intents/${intent}/events/stream?wait_seconds=0` };
    case 'ackIntent': {
      if (!fresh) return { method: 'POST', url: `/v1/intents/${intent}/ack`, body: {} };
      const id = await freshIntent(f.poller.address);
      const polled = await f.server.request('GET', `${path(f.poller.address)}/intents?wait_seconds=5`);
      expect(polled.body.deliveries.map((d: { intent_id: string }) => d.intent_id)).toContain(id);
      return { method: 'POST', url: `/v1/intents/${id}/ack`, body: {} };
    }
    case 'resumeIntent': return { method: 'POST', url: `/v1/intents/${fresh ? await freshIntent(f.receiver.address) : intent}/resume`, body: { action: 'progress' } };
    case 'resolveIntent': return { method: 'POST', url: `/v1/intents/${fresh ? await freshIntent(f.receiver.address) : intent}/resolve`, body: { status: 'COMPLETED', result: {} } };
    case 'cancelIntent': return { method: 'POST', url: `/v1/intents/${fresh ? await freshIntent(f.receiver.address) : intent}/cancel`, body: {} };
    case 'redeliverIntent': return { method: 'POST', url: `/v1/intents/${intent}/redeliver` };
    case 'listDeadLetters': return { method: 'GET', url: '/v1/dead-letters' };
    case 'listInbox': return { method: 'GET', url: `/v1/inbox?${owner}` };
    case 'getInboxThread': return { method: 'GET', url: `/v1/inbox/${f.threadId}?${owner}` };
    case 'approveInboxThread': return { method: 'POST', url: `/v1/inbox/${fresh ? await freshThread() : f.threadId}/approve?${owner}`, body: {} };
    case 'rejectInboxThread': return { method: 'POST', url: `/v1/inbox/${fresh ? await freshThread() : f.threadId}/reject?${owner}`, body: {} };
    case 'replyInboxThread': return { method: 'POST', url: `/v1/inbox/${fresh ? await freshThread() : f.threadId}/reply?${owner}`, body: { message: 'hello' } };
    case 'advanceTestClock': return { method: 'POST', url: '/v1/_test/clock', body: { advance_ms: 1000 } };
  }
  throw new Error(`route ${id} has no request in the isolation matrix: add one`);
}

const PUBLIC = new Set(['health', 'getCapabilities', 'getWellKnown']);
const ADMIN_ONLY = new Set(routes.filter((r) => r.auth === 'admin').map((r) => r.id));

/** The documented answer of a stranger (a valid agent key, not a participant) per route. */
const STRANGER: Record<string, [number, string?]> = {
  getAgent: [403, 'forbidden'], streamDeliveries: [403, 'forbidden'], pollDeliveries: [403, 'forbidden'],
  createIntent: [200], listIntents: [200], listInbox: [200],
  getIntent: [404, 'intent_not_found'], listEvents: [404, 'intent_not_found'], streamEvents: [404, 'intent_not_found'],
  ackIntent: [404, 'intent_not_found'], resumeIntent: [404, 'intent_not_found'], resolveIntent: [404, 'intent_not_found'], cancelIntent: [404, 'intent_not_found'],
  getInboxThread: [404, 'thread_not_found'], approveInboxThread: [404, 'thread_not_found'], rejectInboxThread: [404, 'thread_not_found'], replyInboxThread: [404, 'thread_not_found'],
};

/** The admin's answer: any agent or intent; a redeliver of a live intent is illegal; the clock extension is off. */
const ADMIN: Record<string, [number, string?]> = { redeliverIntent: [409, 'illegal_transition'], advanceTestClock: [404, 'extension_disabled'] };

function expected(id: string, actor: Actor): [number, string?] {
  if (PUBLIC.has(id)) return [200];
  if (actor === 'none' || actor === 'bad') return [401, 'unauthorized'];
  if (actor === 'admin') return ADMIN[id] ?? [200];
  if (ADMIN_ONLY.has(id)) return [403, 'forbidden'];
  return STRANGER[id];
}

const keyOf = (f: Fixture, actor: Actor): string | null =>
  actor === 'none' ? null : actor === 'bad' ? 'axp_not-a-key-of-this-server-000000' : actor === 'admin' ? ADMIN_KEY : f.stranger.key;

let f: Fixture;

beforeAll(async () => {
  const server = await startServer('sqlite');
  const agent = async (prefix: string, binding: string) => {
    const address = uniqueAddress(prefix);
    return { address, key: await server.registerAgent(address, { binding }) };
  };
  const sender = await agent('iso-sender', 'poll');
  const receiver = await agent('iso-receiver', 'stream');
  const poller = await agent('iso-poller', 'poll');
  const inbox = await agent('iso-inbox', 'inbox');
  const stranger = await agent('iso-stranger', 'poll');
  const intentId = (await server.send(sender.key, receiver.address)).body.intent_id as string;
  const threadId = (await server.send(sender.key, inbox.address, { human_task: { title: 'approve', task_type: 'approval' } })).body.intent_id as string;
  await nextEvent(server, threadId, (e) => e.event_type === 'intent.human_task_assigned');
  f = { server, sender, receiver, poller, inbox, stranger, intentId, threadId };
});

afterAll(async () => { await f.server.dispose(); });

async function call(actor: Actor, req: Req) {
  if (req.url.includes('/stream')) {
    const key = keyOf(f, actor);
    const res = await fetch(f.server.url + req.url, { headers: key ? { 'x-api-key': key } : {} });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  }
  return f.server.request(req.method, req.url, { key: keyOf(f, actor), body: req.body });
}

describe.each<Actor>(['none', 'bad', 'stranger'])('every route with %s key', (actor) => {
  it('answers the documented status and changes nothing of the shared intent', async () => {
    const before = await f.server.request('GET', `/v1/intents/${f.intentId}/events`);
    const seen: string[] = [];
    for (const route of routes) {
      const [status, code] = expected(route.id, actor);
      const res = await call(actor, await requestFor(route.id, f, actor));
      seen.push(`${route.id} ${res.status}`);
      expect(`${route.id} ${res.status} ${code ?? ''}`).toBe(`${route.id} ${status} ${code ? res.body?.code : ''}`);
      if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(seen).toHaveLength(routes.length);
    const after = await f.server.request('GET', `/v1/intents/${f.intentId}/events`);
    expect(after.body.events).toEqual(before.body.events);
  });
});

describe('admin key', () => {
  it.each(routes.map((r) => r.id))('%s answers as documented', async (id) => {
    const [status, code] = expected(id, 'admin');
    const res = await call('admin', await requestFor(id, f, 'admin'));
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    if (code) expect(res.body.code).toBe(code);
  });
});

describe('what a stranger sees and may do', () => {
  it('creates as itself (from_agent in the body ignored) and lists only its own intents', async () => {
    const created = await f.server.request('POST', '/v1/intents', { key: f.stranger.key, body: { intent_type: 'test.iso.v1', to_agent: f.receiver.address, from_agent: f.sender.address, payload: {} } });
    expect(created.body.intent.from_agent).toBe(f.stranger.address);
    const listed = await f.server.request('GET', '/v1/intents?limit=500', { key: f.stranger.key });
    const ids = listed.body.intents.map((i: { intent_id: string; from_agent: string; to_agent: string }) => {
      expect([i.from_agent, i.to_agent]).toContain(f.stranger.address);
      return i.intent_id;
    });
    expect(ids).not.toContain(f.intentId);
    const inbox = await f.server.request('GET', `/v1/inbox?owner_agent=${encodeURIComponent(f.inbox.address)}`, { key: f.stranger.key });
    expect(inbox.body.threads).toEqual([]);
  });
});

describe('participants acting outside their role', () => {
  it('a sender may read but not ack, resume or resolve; a receiver may read but not cancel or redeliver', async () => {
    const id = (await f.server.send(f.sender.key, f.receiver.address)).body.intent_id as string;
    const before = await f.server.request('GET', `/v1/intents/${id}/events`);
    for (const key of [f.sender.key, f.receiver.key]) expect((await f.server.request('GET', `/v1/intents/${id}`, { key })).status).toBe(200);
    for (const [op, body] of [['ack', {}], ['resume', { action: 'progress' }], ['resolve', { status: 'COMPLETED' }]] as const) {
      const res = await f.server.request('POST', `/v1/intents/${id}/${op}`, { key: f.sender.key, body });
      expect([op, res.status, res.body.code]).toEqual([op, 403, 'forbidden']);
    }
    expect((await f.server.request('POST', `/v1/intents/${id}/cancel`, { key: f.receiver.key, body: {} })).status).toBe(403);
    expect((await f.server.request('POST', `/v1/intents/${id}/redeliver`, { key: f.receiver.key })).status).toBe(403);
    expect((await f.server.request('GET', `/v1/intents/${id}/events`)).body.events).toEqual(before.body.events);
  });

  it('an agent cannot consume another agent\'s deliveries', async () => {
    const id = (await f.server.send(f.sender.key, f.poller.address)).body.intent_id as string;
    expect((await f.server.request('GET', `${path(f.poller.address)}/intents?wait_seconds=0`, { key: f.stranger.key })).status).toBe(403);
    expect((await f.server.request('GET', `${path(f.poller.address)}/intents?wait_seconds=0`, { key: f.sender.key })).status).toBe(403);
    const own = await f.server.request('GET', `${path(f.poller.address)}/intents?wait_seconds=5`, { key: f.poller.key });
    expect(own.body.deliveries.map((d: { intent_id: string }) => d.intent_id)).toContain(id);
  });

  it('checks x-api-key before Authorization, and accepts Bearer in any case', async () => {
    const url = `/v1/intents/${f.intentId}`;
    expect((await f.server.request('GET', url, { key: null, headers: { authorization: `bearer ${f.sender.key}` } })).status).toBe(200);
    expect((await f.server.request('GET', url, { key: 'axp_wrong-key-000000000000000000', headers: { authorization: `Bearer ${f.sender.key}` } })).status).toBe(401);
  });
});
