// Three server processes (the real CLI) on one PostgreSQL database behave as one server:
// one intent per idempotency key across processes, a leased delivery is handed out once, an event
// appended on one process reaches observers on another, timers fire once, and kill -9 of one
// process mid-load loses nothing (the others finish its work after the lease).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, uniqueAddress } from './helpers/server.js';
import { createTestDatabase, settle, startServerProcess, stopTestPostgres, type ServerProcess, type TestDatabase } from './postgres-helpers.js';

afterAll(stopTestPostgres);

const path = (address: string) => address.replace('agent://', '');

interface Answer { status: number; headers: Headers; body: any }

async function call(base: string, method: string, url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'x-api-key': options.key ?? ADMIN_KEY, ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function register(base: string, address: string, delivery: Record<string, unknown>): Promise<string> {
  const res = await call(base, 'PUT', `/v1/agents/${path(address)}`, { body: { delivery } });
  if (res.status !== 200) throw new Error(`register ${address}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.api_key as string;
}

/** Events of an intent, read from any process. */
async function events(base: string, id: string): Promise<{ seq: number; event_type: string }[]> {
  return (await call(base, 'GET', `/v1/intents/${id}/events`)).body.events;
}

/** Long-polls GET intent (wait_seconds) until `done(status)`; bounded. */
async function awaitStatus(bases: string[], id: string, done: (status: string) => boolean, timeoutMs = 40_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    // A plain read first; then long polls (they end early only at a terminal status).
    const res = await call(bases[i % bases.length], 'GET', `/v1/intents/${id}${i === 0 ? '' : '?wait_seconds=1'}`);
    if (done(res.body.status)) return res.body.status;
    if (Date.now() > deadline) throw new Error(`intent ${id} still ${res.body.status}`);
    if (res.body.status === undefined) throw new Error(`GET ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

describe('postgres cluster: three processes on one database', () => {
  let db: TestDatabase;
  let procs: ServerProcess[] = [];
  let urls: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    procs = await Promise.all([0, 1, 2].map(() => startServerProcess(db.url, ['--allow-private-callbacks'])));
    urls = procs.map((p) => p.url);
  }, 60_000);
  afterAll(async () => {
    await settle('stopping the servers', () => Promise.all(procs.map((p) => p.stop())));
    await settle('dropping the test database', () => db?.drop());
  });

  it('concurrent duplicates sent to different processes create one intent', async () => {
    const senderKey = await register(urls[0], uniqueAddress('sender'), { binding: 'poll' });
    const receiver = uniqueAddress('dup');
    for (let round = 0; round < 5; round++) {
      const headers = { 'idempotency-key': `dup-${round}-${Math.random()}` };
      const answers = await Promise.all(Array.from({ length: 12 }, (_v, i) =>
        call(urls[i % 3], 'POST', '/v1/intents', { key: senderKey, headers, body: { intent_type: 'test.dup.v1', to_agent: receiver, payload: { round } } })));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      expect(new Set(answers.map((a) => a.body.intent_id)).size).toBe(1);
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    }
    const listed = await call(urls[1], 'GET', '/v1/intents?role=sender&limit=50', { key: senderKey });
    expect(listed.body.intents).toHaveLength(5);
  });

  it('a leased delivery is handed out by one process only, each agent seq once', async () => {
    const senderKey = await register(urls[0], uniqueAddress('sender'), { binding: 'poll' });
    const receiver = uniqueAddress('poll');
    const key = await register(urls[1], receiver, { binding: 'poll', lease_seconds: 30 });
    const ids = await Promise.all(Array.from({ length: 30 }, (_v, i) =>
      call(urls[i % 3], 'POST', '/v1/intents', { key: senderKey, body: { intent_type: 'test.claim.v1', to_agent: receiver, payload: { i } } }).then((r) => r.body.intent_id as string)));
    const seen: { intent_id: string; seq: number }[] = [];
    for (let round = 0; round < 10 && seen.length < ids.length; round++) {
      const polls = await Promise.all(Array.from({ length: 6 }, (_v, i) =>
        call(urls[i % 3], 'GET', `/v1/agents/${path(receiver)}/intents?wait_seconds=1&limit=4`, { key })));
      for (const p of polls) seen.push(...p.body.deliveries);
    }
    expect(seen.map((d) => d.intent_id).sort()).toEqual([...ids].sort());
    expect(new Set(seen.map((d) => d.seq)).size).toBe(ids.length);
    // Still leased: nobody hands them out again.
    const more = await Promise.all(urls.map((u) => call(u, 'GET', `/v1/agents/${path(receiver)}/intents?wait_seconds=1`, { key })));
    expect(more.flatMap((m) => m.body.deliveries)).toEqual([]);
  });

  it('an event appended on one process reaches a stream and an observer on another', async () => {
    const senderKey = await register(urls[0], uniqueAddress('sender'), { binding: 'poll' });
    const receiver = uniqueAddress('stream');
    const key = await register(urls[0], receiver, { binding: 'stream' });
    // The stream is open on process 1 before the intent exists (created on process 0).
    const streamRes = fetch(`${urls[1]}/v1/agents/${path(receiver)}/intents/stream?wait_seconds=10`, { headers: { 'x-api-key': key } });
    const id = (await call(urls[0], 'POST', '/v1/intents', { key: senderKey, body: { intent_type: 'test.x.v1', to_agent: receiver, payload: {} } })).body.intent_id;
    const reader = (await streamRes).body!.getReader();
    let text = '';
    while (!text.includes(id)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain(id);
    // An observer on process 2 sees the resolve written through process 1.
    const observe = fetch(`${urls[2]}/v1/intents/${id}/events/stream?since=0&wait_seconds=10`, { headers: { 'x-api-key': senderKey } }).then((r) => r.text());
    await call(urls[1], 'POST', `/v1/intents/${id}/resolve`, { key, body: { status: 'COMPLETED' } });
    const observed = await observe;
    expect(observed).toContain('event: intent.completed');
  });

  it('timers fire once across processes (reminders, deadlines, internal delays)', async () => {
    const senderKey = await register(urls[0], uniqueAddress('sender'), { binding: 'poll' });
    const receiver = uniqueAddress('slow');
    await register(urls[2], receiver, { binding: 'poll' });
    // Reminders at 1 s and 2 s, the deadline at 6 s: seconds of slack before a late second reminder
    // would meet the deadline on a loaded machine (another process may fire the deadline first).
    const timed = await Promise.all(Array.from({ length: 15 }, (_v, i) =>
      call(urls[i % 3], 'POST', '/v1/intents', { key: senderKey, body: { intent_type: 'test.t.v1', to_agent: receiver, payload: {}, remind_after_seconds: 1, remind_interval_seconds: 1, max_reminders: 2, ttl_seconds: 6 } })
        .then((r) => r.body.intent_id as string)));
    const delays = await Promise.all(Array.from({ length: 15 }, (_v, i) =>
      call(urls[i % 3], 'POST', '/v1/intents', { key: senderKey, body: { intent_type: 'intent.internal.delay.v1', to_agent: receiver, payload: { seconds: 1 } } })
        .then((r) => r.body.intent_id as string)));
    for (const id of timed) {
      expect(await awaitStatus(urls, id, (s) => s === 'TIMED_OUT')).toBe('TIMED_OUT');
      const types = (await events(urls[0], id)).map((e) => e.event_type);
      expect(types.filter((t) => t === 'intent.reminder')).toHaveLength(2);
      expect(types.filter((t) => t === 'intent.timed_out')).toHaveLength(1);
    }
    for (const id of delays) {
      expect(await awaitStatus(urls, id, (s) => s === 'COMPLETED')).toBe('COMPLETED');
      const list = await events(urls[1], id);
      expect(list.filter((e) => e.event_type === 'intent.completed')).toHaveLength(1);
      expect(list.map((e) => e.seq)).toEqual(list.map((_e, i) => i + 1));
    }
  });
});

describe('postgres cluster: kill -9 of one process mid-load', () => {
  let db: TestDatabase;
  let procs: ServerProcess[] = [];
  let receiverServer: Server | undefined;
  const hits: string[] = [];
  let onHit: () => void = () => {};
  beforeAll(async () => {
    db = await createTestDatabase();
    procs = await Promise.all([0, 1, 2].map(() => startServerProcess(db.url, ['--allow-private-callbacks'])));
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        hits.push(JSON.parse(body).intent_id as string);
        onHit();
        // A slow receiver, so pushes are in flight when the process dies.
        setTimeout(() => { res.writeHead(200); res.end(); }, 200);
      });
    });
    receiverServer = receiver;
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  }, 60_000);
  afterAll(async () => {
    await settle('stopping the servers', () => Promise.all(procs.map((p) => p.stop())));
    // A receiver that never started has nothing to close; open keep-alive connections are cut.
    const receiver = receiverServer;
    await settle('closing the receiver', () => receiver && new Promise<void>((resolve) => {
      receiver.close(() => resolve());
      receiver.closeAllConnections();
    }));
    await settle('dropping the test database', () => db?.drop());
  });

  it('the other processes finish the dead one\'s work after its leases', async () => {
    const urls = procs.map((p) => p.url);
    const port = (receiverServer!.address() as AddressInfo).port;
    const senderKey = await register(urls[0], uniqueAddress('sender'), { binding: 'poll' });
    const pushed = uniqueAddress('http');
    await register(urls[0], pushed, { binding: 'http', url: `http://127.0.0.1:${port}/hook`, timeout_ms: 1000, initial_delay_ms: 10, max_delay_ms: 50, max_delivery_attempts: 10, max_concurrency: 4 });
    const victim = procs[2];
    const enoughHits = new Promise<void>((resolve) => { onHit = () => { if (hits.length >= 5) resolve(); }; });
    const create = (base: string, body: Record<string, unknown>) => call(base, 'POST', '/v1/intents', { key: senderKey, body }).then((r) => r.body.intent_id as string);
    // Load on every process, the victim included: http pushes and internal delays (durable timers).
    const pushIds = await Promise.all(Array.from({ length: 45 }, (_v, i) => create(urls[i % 3], { intent_type: 'test.push.v1', to_agent: pushed, payload: { i } })));
    const delayIds = await Promise.all(Array.from({ length: 10 }, () => create(victim.url, { intent_type: 'intent.internal.delay.v1', to_agent: pushed, payload: { seconds: 2 } })));
    await enoughHits;
    await victim.kill();
    const survivors = urls.slice(0, 2);
    const acked = await Promise.all(pushIds.map((id) => awaitStatus(survivors, id, (s) => s === 'ACKNOWLEDGED')));
    expect(acked).toEqual(pushIds.map(() => 'ACKNOWLEDGED'));
    const completed = await Promise.all(delayIds.map((id) => awaitStatus(survivors, id, (s) => s === 'COMPLETED')));
    expect(completed).toEqual(delayIds.map(() => 'COMPLETED'));
    // Every pushed intent reached the receiver (at least once), none was dead-lettered.
    expect(new Set(hits.filter((h) => pushIds.includes(h))).size).toBe(pushIds.length);
    const letters = await call(survivors[0], 'GET', `/v1/dead-letters?agent=${encodeURIComponent(pushed)}`);
    expect(letters.body.dead_letters).toEqual([]);
    for (const id of [...pushIds.slice(0, 10), ...delayIds]) {
      const list = await events(survivors[1], id);
      expect(list.map((e) => e.seq)).toEqual(list.map((_e, i) => i + 1));
    }
  }, 90_000);
});
