// The core server behaviours on the PostgreSQL store, one process (the shared test helper
// with a postgres store): lifecycle and seq, stream/poll delivery and ack, idempotency, leases and
// retries, dead letters, the test clock's timers, internal delays, SSE observe; migrations twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startServer, uniqueAddress, type TestServer } from './helpers/server.js';
import { createTestDatabase, settle, stopTestPostgres, type TestDatabase } from './postgres-helpers.js';
import { PostgresStore } from '../reference-server/store/postgres.js';
import { MIGRATIONS } from '../reference-server/store/postgres-migrations.js';
import { buildServer } from '../reference-server/index.js';

const path = (address: string) => address.replace('agent://', '');
afterAll(stopTestPostgres);

const fast = { lease_seconds: 0.3, initial_delay_ms: 1, max_delay_ms: 5, max_delivery_attempts: 2 };

describe('postgres store: core behaviours (one process)', () => {
  let db: TestDatabase;
  let server: TestServer;
  let senderKey: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServer('postgres', { pgUrl: db.url });
    senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
  });
  afterAll(async () => {
    await settle('closing the server', () => server?.close());
    await settle('dropping the test database', () => db?.drop());
  });

  it('applies its migrations once, also when several stores start together', async () => {
    const stores = [new PostgresStore(db.url), new PostgresStore(db.url), new PostgresStore(db.url)];
    await Promise.all(stores.map((s) => s.ready));
    await Promise.all(stores.map((s) => s.close()));
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query<{ version: number }>('SELECT version FROM axp_migrations ORDER BY version');
    await c.end();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('creates an intent with events 1 and 2 and lists it', async () => {
    const receiver = uniqueAddress('unreg');
    const res = await server.send(senderKey, receiver);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, status: 'SUBMITTED' });
    const events = await server.request('GET', `/v1/intents/${res.body.intent_id}/events`, { key: senderKey });
    expect(events.body.events.map((e: { seq: number; event_type: string }) => [e.seq, e.event_type])).toEqual([[1, 'intent.created'], [2, 'intent.submitted']]);
    const list = await server.request('GET', '/v1/intents?role=sender&limit=1', { key: senderKey });
    expect(list.body.intents[0].intent_id).toBe(res.body.intent_id);
  });

  it('delivers over the stream, acks, resolves, and the observer sees every event in order', async () => {
    const receiver = uniqueAddress('stream');
    const key = await server.registerAgent(receiver, { binding: 'stream' });
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    const stream = await server.sse(`/v1/agents/${path(receiver)}/intents/stream?wait_seconds=1`, { key });
    const delivered = stream.frames.find((f) => f.event === 'intent.delivered');
    expect(delivered?.data).toMatchObject({ intent_id: id, attempt: 1, seq: 1 });
    expect((await server.request('POST', `/v1/intents/${id}/ack`, { key, body: { delivery_id: delivered?.data.delivery_id } })).status).toBe(200);
    const observed = server.waitForEvent(id, (e) => e.event_type === 'intent.completed', { key: senderKey });
    const done = await server.request('POST', `/v1/intents/${id}/resolve`, { key, body: { status: 'COMPLETED', result: { ok: 1 } } });
    expect(done.body.intent.status).toBe('COMPLETED');
    const events = await observed;
    expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => i + 1));
    expect(events.map((e) => e.event_type)).toEqual(['intent.created', 'intent.submitted', 'intent.delivered', 'intent.acknowledged', 'intent.completed']);
    const again = await server.request('POST', `/v1/intents/${id}/resolve`, { key, body: { status: 'COMPLETED' } });
    expect(again.body.code).toBe('intent_terminal');
  });

  it('replays a create with the same Idempotency-Key and refuses a different body', async () => {
    const receiver = uniqueAddress('idem');
    const headers = { 'idempotency-key': `k-${Math.random()}` };
    const first = await server.send(senderKey, receiver, {}, headers);
    const second = await server.send(senderKey, receiver, {}, headers);
    expect(second.body.intent_id).toBe(first.body.intent_id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const other = await server.send(senderKey, receiver, { payload: { n: 2 } }, headers);
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_key_conflict');
  });

  it('redelivers after a lease expires, dead-letters when attempts run out, and redelivers on request', async () => {
    const receiver = uniqueAddress('poll');
    const key = await server.registerAgent(receiver, { binding: 'poll', ...fast });
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    const first = (await server.request('GET', `/v1/agents/${path(receiver)}/intents?wait_seconds=5`, { key })).body.deliveries[0];
    const second = (await server.request('GET', `/v1/agents/${path(receiver)}/intents?wait_seconds=10`, { key })).body.deliveries[0];
    expect(second).toMatchObject({ intent_id: id, attempt: 2, seq: first.seq + 1 });
    await server.waitForEvent(id, (e) => e.event_type === 'intent.delivery_failed');
    const letters = await server.request('GET', `/v1/dead-letters?agent=${encodeURIComponent(receiver)}`);
    expect(letters.body.dead_letters).toMatchObject([{ intent_id: id, attempts: 2, last_error: 'lease_expired' }]);
    const reopened = await server.request('POST', `/v1/intents/${id}/redeliver`, { body: {} });
    expect(reopened.body.intent.status).toBe('SUBMITTED');
    const third = (await server.request('GET', `/v1/agents/${path(receiver)}/intents?wait_seconds=5`, { key })).body.deliveries[0];
    expect(third).toMatchObject({ intent_id: id, attempt: 1 });
  });

  it('completes an internal delay through a durable timer', async () => {
    const id = (await server.request('POST', '/v1/intents', { key: senderKey, body: { intent_type: 'intent.internal.delay.v1', to_agent: uniqueAddress('any'), payload: { seconds: 1 } } })).body.intent_id;
    const events = await server.waitForEvent(id, (e) => e.event_type === 'intent.completed', { key: senderKey });
    expect(events.map((e) => e.event_type)).toContain('intent.waiting');
  });
});

describe('postgres store: the admin key across restarts', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await createTestDatabase(); });
  afterAll(async () => { await settle('dropping the test database', () => db?.drop()); });

  it('processes starting together agree on one generated key, kept by later starts until a key is given', async () => {
    const apps = await Promise.all([0, 1, 2].map(() => buildServer({ store: db.url, pressure: { maxEventLoopDelayMs: 0 } })));
    const origins = apps.map((a) => a.axp.settings.adminKeyOrigin).sort();
    const key = apps.find((a) => a.axp.settings.adminKeyOrigin === 'generated')?.axp.settings.adminKey;
    const statuses = async (app: typeof apps[number], keys: string[]) => Promise.all(keys.map(async (k) => (await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: { 'x-api-key': k } })).statusCode));
    try {
      expect(origins).toEqual(['generated', 'stored', 'stored']);
      for (const app of apps) expect(await statuses(app, [key!])).toEqual([200]);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
    const later = await buildServer({ store: db.url, adminKey: 'given-admin-key-0123456789' });
    try {
      expect(await statuses(later, [key!, 'given-admin-key-0123456789'])).toEqual([401, 200]);
    } finally {
      await later.close();
    }
    const after = await buildServer({ store: db.url });
    try {
      expect(after.axp.settings.adminKeyOrigin).toBe('stored');
      expect(await statuses(after, [key!, 'given-admin-key-0123456789'])).toEqual([401, 200]);
    } finally {
      await after.close();
    }
  });
});

describe('postgres store: test clock', () => {
  let db: TestDatabase;
  let server: TestServer;
  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServer('postgres', { pgUrl: db.url, testClock: true });
  });
  afterAll(async () => {
    await settle('closing the server', () => server?.close());
    await settle('dropping the test database', () => db?.drop());
  });

  it('fires a deadline and reminders when the clock is advanced, each once', async () => {
    const sender = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
    const receiver = uniqueAddress('late');
    await server.registerAgent(receiver, { binding: 'poll' });
    const id = (await server.send(sender, receiver, { ttl_seconds: 60, remind_after_seconds: 10, max_reminders: 2 })).body.intent_id;
    const advanced = await server.request('POST', '/v1/_test/clock', { body: { advance_ms: 61_000 } });
    expect(advanced.status).toBe(200);
    const events = (await server.request('GET', `/v1/intents/${id}/events`, { key: sender })).body.events as { event_type: string }[];
    expect(events.filter((e) => e.event_type === 'intent.reminder')).toHaveLength(2);
    expect(events.filter((e) => e.event_type === 'intent.timed_out')).toHaveLength(1);
    expect(events.at(-1)?.event_type).toBe('intent.timed_out');
  });
});
