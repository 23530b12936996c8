// The PostgreSQL store's group commit from the inside: what a batch remembers for its later units
// (and what a unit dropped from it leaves behind: nothing), writes of several units merged into
// one statement without changing any table's order, the round trips an intent's lock costs, what
// units say they will read fetched for the whole batch (and locked like a read of its own), and
// lanes: units of one affinity settle in submission order while another lane runs beside them.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../reference-server/store/postgres.js';
import type { AgentRecord, DeliveryRecord, Intent, ThreadRecord } from '../reference-server/model.js';
import { createTestDatabase, settle, stopTestPostgres, type TestDatabase } from './postgres-helpers.js';

afterAll(stopTestPostgres);

let serial = 0;
const id = (prefix: string) => `${prefix}-${process.pid}-${++serial}`;
// The store keeps records as JSON documents and reads only these fields itself.
const intentRecord = (intentId: string, status = 'SUBMITTED') => ({ intent_id: intentId, from_agent: 'agent://t/s', to_agent: 'agent://t/r', status }) as unknown as Intent;
const deliveryRecord = (intentId: string): DeliveryRecord => ({
  delivery_id: id('d'), intent_id: intentId, agent: 'agent://t/r', attempt: 1, state: 'leased', agent_seq: 1, lease_expires_at: null, created_at: '2026-01-01T00:00:00.000Z',
});

describe('postgres store: batches, merged writes and lanes', () => {
  let db: TestDatabase;
  let store: PostgresStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresStore(db.url, { lanes: 2 });
    await store.ready;
  });
  afterAll(async () => {
    await settle('closing the store', () => store?.close());
    await settle('dropping the test database', () => db?.drop());
  });

  it('forgets what a unit that threw had written, for the units after it in the same batch', async () => {
    const intentId = id('i');
    await store.write((tx) => tx.insertIntent(intentRecord(intentId)));
    // Submitted in one turn: one batch (one affinity, so one lane).
    const failing = store.write(async (tx) => {
      const intent = await tx.getIntent(intentId);
      await tx.updateIntent({ ...intent!, status: 'CANCELED' });
      throw new Error('refused');
    }, { affinity: 'a' });
    const reading = store.write((tx) => tx.getIntent(intentId), { affinity: 'a' });
    await expect(failing).rejects.toThrow('refused');
    expect((await reading)?.status).toBe('SUBMITTED');
    expect((await store.read((tx) => tx.getIntent(intentId)))?.status).toBe('SUBMITTED');
  });

  it('lets a later unit of the batch build on what an earlier one wrote (intent, open delivery, threads)', async () => {
    const intentId = id('i');
    await store.write((tx) => tx.insertIntent(intentRecord(intentId)));
    const delivery = deliveryRecord(intentId);
    const thread = { owner_agent: 'agent://t/r', thread_id: intentId, kind: 'task', created_at: 'x', updated_at: 'x', messages: [] } as ThreadRecord;
    const first = store.write(async (tx) => {
      const intent = await tx.getIntent(intentId);
      await tx.updateIntent({ ...intent!, status: 'DELIVERED' });
      await tx.insertDelivery(delivery);
      await tx.putThread(thread);
    }, { affinity: 'b' });
    const second = store.write(async (tx) => ({
      intent: await tx.getIntent(intentId),
      open: await tx.openDelivery(intentId),
      threads: await tx.listThreads({ threadId: intentId }),
      owned: await tx.getThread('agent://t/r', intentId),
    }), { affinity: 'b' });
    await first;
    const seen = await second;
    expect(seen.intent?.status).toBe('DELIVERED');
    expect(seen.open?.delivery_id).toBe(delivery.delivery_id);
    expect(seen.threads.map((t) => t.owner_agent)).toEqual(['agent://t/r']);
    expect(seen.owned?.thread_id).toBe(intentId);
  });

  it('takes an intent with its open delivery and its threads in one round trip, then commits in one more', async () => {
    const intentId = id('i');
    await store.write((tx) => tx.insertIntent(intentRecord(intentId)));
    const before = store.stats.roundTrips;
    await store.write(async (tx) => {
      const intent = await tx.getIntent(intentId);
      await tx.openDelivery(intentId);
      await tx.listThreads({ threadId: intentId });
      await tx.updateIntent({ ...intent!, status: 'COMPLETED' });
    });
    expect(store.stats.roundTrips - before).toBe(2);
  });

  it('merges writes of several units into one statement but keeps the order of each table (a timer cancelled between two arms)', async () => {
    const intentId = id('i');
    await store.write((tx) => tx.insertIntent(intentRecord(intentId)));
    const arm = (kind: string) => store.write((tx) => tx.addTimer({ due_at: 1, kind, intent_id: intentId, data: {} }), { affinity: 'c' });
    const units = [
      arm('first'),
      store.write((tx) => tx.cancelTimers(intentId), { affinity: 'c' }),
      arm('second'),
      store.write((tx) => tx.appendEvent({ intent_id: intentId, seq: 1 } as never), { affinity: 'c' }),
      store.write((tx) => tx.appendEvent({ intent_id: intentId, seq: 2 } as never), { affinity: 'c' }),
    ];
    await Promise.all(units);
    const timers = (await store.read((tx) => tx.dueTimers(10, 100))).filter((t) => t.intent_id === intentId);
    expect(timers.map((t) => t.kind)).toEqual(['second']);
    expect((await store.read((tx) => tx.listEvents(intentId, 0))).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('settles the units of one affinity in submission order, with another lane running beside them', async () => {
    const settled: string[] = [];
    const units: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const affinity = i % 2 === 0 ? 'even' : 'odd';
      const intentId = id('i');
      units.push(store.write((tx) => tx.insertIntent(intentRecord(intentId)), { affinity }).then(() => settled.push(`${affinity}:${i}`)));
    }
    await Promise.all(units);
    for (const affinity of ['even', 'odd']) {
      const order = settled.filter((s) => s.startsWith(`${affinity}:`)).map((s) => Number(s.split(':')[1]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(order).toHaveLength(20);
    }
  });

  it('fetches the intents (locked) and agents a turn\'s units said they will read in its first round trip', async () => {
    const ids = [id('i'), id('i'), id('i'), id('i')];
    const address = `agent://t/${id('a')}`;
    await store.write(async (tx) => {
      for (const intentId of ids) await tx.insertIntent(intentRecord(intentId));
      await tx.putAgent({ address, key_hash: id('k'), last_delivery_seq: 0 } as unknown as AgentRecord);
    });
    const missing = id('gone');
    const before = store.stats.roundTrips;
    const units = [
      ...ids.map((intentId) => store.write(async (tx) => {
        const intent = await tx.getIntent(intentId);
        await tx.updateIntent({ ...intent!, status: 'COMPLETED' });
        return intent!.status;
      }, { affinity: 'd', reads: { intents: [intentId] } })),
      store.write(async (tx) => (await tx.getAgent(address))?.address, { affinity: 'd', reads: { agents: [address] } }),
      store.write(async (tx) => (await tx.getIntent(missing)) ?? 'absent', { affinity: 'd', reads: { intents: [missing] } }),
    ];
    expect(await Promise.all(units)).toEqual(['SUBMITTED', 'SUBMITTED', 'SUBMITTED', 'SUBMITTED', address, 'absent']);
    // One round trip fetches for all six units (BEGIN and the reads), one more commits.
    expect(store.stats.roundTrips - before).toBe(2);
    const after = await store.read(async (tx) => Promise.all(ids.map(async (intentId) => (await tx.getIntent(intentId))?.status)));
    expect(after).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
  });

  it('waits, in a fetch ahead, for another process\'s lock on an intent and then reads what it committed', async () => {
    const intentId = id('i');
    await store.write((tx) => tx.insertIntent(intentRecord(intentId)));
    const other = new PostgresStore(db.url, { lanes: 1 });
    const watcher = new pg.Client({ connectionString: db.url });
    try {
      await other.ready;
      await watcher.connect();
      let locked!: () => void;
      let release!: () => void;
      const holding = new Promise<void>((resolve) => { locked = resolve; });
      const released = new Promise<void>((resolve) => { release = resolve; });
      const holder = other.write(async (tx) => {
        const intent = await tx.getIntent(intentId);
        locked();
        await released;
        await tx.updateIntent({ ...intent!, status: 'CANCELED' });
      });
      await holding;
      const seen = store.write(async (tx) => (await tx.getIntent(intentId))?.status, { reads: { intents: [intentId] } });
      // Bounded wait for the event itself: this store's fetch blocked on the other process's row lock.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const { rows } = await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        if (rows[0].n > 0) break;
        if (Date.now() > deadline) throw new Error('the fetch never waited for the lock');
        await new Promise((resolve) => setImmediate(resolve));
      }
      release();
      await holder;
      expect(await seen).toBe('CANCELED');
    } finally {
      await watcher.end().catch(() => {});
      await other.close();
    }
  });

  it('leaves out a delete of some of an intent\'s timers that a later delete of all of them covers, and keeps one that follows it', async () => {
    const covered = id('i');
    const following = id('i');
    await store.write(async (tx) => {
      for (const intentId of [covered, following]) {
        await tx.insertIntent(intentRecord(intentId));
        for (const kind of ['lease', 'retry', 'reminder']) await tx.addTimer({ due_at: 1, kind, intent_id: intentId, data: {} });
      }
    });
    const before = store.stats.statements;
    await store.write(async (tx) => {
      await tx.cancelTimers(covered, 'lease');
      await tx.cancelTimers(covered, 'retry');
      await tx.cancelTimers(covered);
    });
    // BEGIN, one DELETE, COMMIT.
    expect(store.stats.statements - before).toBe(3);
    await store.write(async (tx) => {
      await tx.cancelTimers(following);
      await tx.addTimer({ due_at: 1, kind: 'lease', intent_id: following, data: {} });
      await tx.addTimer({ due_at: 1, kind: 'reminder', intent_id: following, data: {} });
      await tx.cancelTimers(following, 'lease');
    });
    const left = (await store.read((tx) => tx.dueTimers(10, 1000))).filter((t) => t.intent_id === covered || t.intent_id === following);
    expect(left.map((t) => `${t.intent_id === covered ? 'covered' : 'following'}:${t.kind}`)).toEqual(['following:reminder']);
  });

  it('runs the beforeCommit callbacks of a unit still waiting for a read at the end of its turn before the commit: the units they start join the batch', async () => {
    const intentId = id('i');
    await store.write((tx) => tx.insertIntent(intentRecord(intentId)));
    const commits = store.stats.commits;
    let joined: Promise<Intent | undefined> | undefined;
    await store.write(async (tx) => {
      // The turn that opened the batch ends while this read is in flight.
      await tx.getIntent(intentId);
      tx.beforeCommit(() => { joined = store.write((t) => t.getIntent(intentId), { affinity: 'e' }); });
    }, { affinity: 'e' });
    expect((await joined)?.intent_id).toBe(intentId);
    expect(store.stats.commits - commits).toBe(1);
  });

  it('runs what a beforeCommit callback defers with afterCommit once the COMMIT is done (another connection sees its rows), and defers nothing elsewhere', async () => {
    const intentId = id('i');
    const watcher = new pg.Client({ connectionString: db.url });
    await watcher.connect();
    try {
      let deferred: boolean | undefined;
      let seen: Promise<number> | undefined;
      await store.write(async (tx) => {
        await tx.insertIntent(intentRecord(intentId));
        tx.beforeCommit(() => {
          deferred = store.afterCommit(() => {
            seen = watcher.query<{ n: number }>('SELECT count(*)::int AS n FROM intents WHERE intent_id = $1', [intentId]).then((r) => r.rows[0].n);
          });
        });
      });
      expect(deferred).toBe(true);
      expect(await seen).toBe(1);
      expect(store.afterCommit(() => {})).toBe(false);
    } finally {
      await watcher.end().catch(() => {});
    }
  });
});
