// StoreTx.beforeCommit: a unit that a callback starts sees the unit that registered it, and on
// SQLite joins that unit's group commit (one fsync for a create and its stream claim).
import { rmSync } from 'node:fs';
import { createParser } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../reference-server/store/memory.js';
import { SqliteStore } from '../reference-server/store/sqlite.js';
import type { Store } from '../reference-server/store/store.js';
import { startServer, tempDbFile } from './helpers/server.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The store, and for SQLite how many COMMITs it has run. */
function open(kind: 'memory' | 'sqlite'): { store: Store; commits: () => number } {
  if (kind === 'memory') {
    const store = new MemoryStore();
    stores.push(store);
    return { store, commits: () => 0 };
  }
  const { dir, file } = tempDbFile();
  dirs.push(dir);
  const store = new SqliteStore(file);
  stores.push(store);
  let count = 0;
  const internal = store as unknown as { commit: () => void };
  const commit = internal.commit.bind(store);
  internal.commit = () => { count += 1; commit(); };
  return { store, commits: () => count };
}

const timer = { due_at: 5, kind: 'test', intent_id: 'intent-1', data: {} };

describe.each(['memory', 'sqlite'] as const)('beforeCommit on the %s store', (kind) => {
  it('starts a unit that sees what the registering unit wrote', async () => {
    const { store, commits } = open(kind);
    const order: string[] = [];
    let woken: Promise<number | undefined> | undefined;
    const first = store.write(async (tx) => {
      await tx.addTimer(timer);
      tx.beforeCommit(() => {
        order.push('callback');
        woken = store.read((t) => t.nextTimerDue());
      });
    }).then(() => order.push('first settled'));
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBeDefined();
    expect(await woken).toBe(5);
    if (kind === 'sqlite') {
      // Before the commit, and the woken unit shared it.
      expect(order).toEqual(['callback', 'first settled']);
      expect(commits()).toBe(1);
    }
  });

  it('never runs the callback of a unit that rolls back', async () => {
    const { store } = open(kind);
    let ran = false;
    await expect(store.write(async (tx) => {
      await tx.addTimer(timer);
      tx.beforeCommit(() => { ran = true; });
      throw new Error('abort');
    })).rejects.toThrow('abort');
    await store.write(async (tx) => tx.addTimer({ ...timer, due_at: 9 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toBe(false);
    expect(await store.read((t) => t.nextTimerDue())).toBe(9);
  });
});

describe('a stream delivery on the SQLite store', () => {
  it('is claimed in the group commit of the create that issued it, also while another claim is in flight', async () => {
    const server = await startServer('sqlite');
    try {
      // Which batch (COMMIT number) each unit ran in, with what it returned.
      const store = server.app.axp.store as unknown as { write: (fn: (tx: unknown) => Promise<unknown>) => Promise<unknown>; commit: () => void };
      let commits = 0;
      const units: { batch: number; value: unknown }[] = [];
      const commit = store.commit.bind(store);
      store.commit = () => { commits += 1; commit(); };
      const write = store.write.bind(store);
      store.write = (fn) => {
        let batch = -1;
        return write(async (tx) => { batch = commits; return fn(tx); }).then((value) => { units.push({ batch, value }); return value; });
      };

      const receiver = 'agent://test/group/receiver';
      const key = await server.registerAgent(receiver, { binding: 'stream' });
      const senderKey = await server.registerAgent('agent://test/group/sender', { binding: 'poll' });
      const abort = new AbortController();
      const frames: string[] = [];
      let arrived = () => {};
      const res = await fetch(`${server.url}/v1/agents/test/group/receiver/intents/stream?wait_seconds=30`, { headers: { 'x-api-key': key }, signal: abort.signal });
      const parser = createParser({ onEvent: (e) => { if (e.event === 'intent.delivered') { frames.push((JSON.parse(e.data) as { intent_id: string }).intent_id); arrived(); } } });
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
      })().catch(() => undefined);
      const frameOf = (id: string) => new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no frame for ${id}`)), 10_000);
        const check = () => { if (frames.includes(id)) { clearTimeout(timer); resolve(); } };
        const previous = arrived;
        arrived = () => { previous(); check(); };
        check();
      });
      const batchOf = (match: (value: unknown) => boolean) => units.find((u) => match(u.value))?.batch;
      const claimed = (id: string) => (v: unknown) => Array.isArray(v) && v.some((d: { intent_id?: string }) => d.intent_id === id);
      const created = (id: string) => (v: unknown) => (v as { intent?: { intent_id?: string } } | undefined)?.intent?.intent_id === id;

      // One at a time, then a burst (several creates in one batch).
      const ids: string[] = [];
      for (const n of [1, 1, 8]) {
        const answers = await Promise.all(Array.from({ length: n }, () => server.send(senderKey, receiver)));
        const batchIds = answers.map((a) => a.body.intent_id as string);
        await Promise.all(batchIds.map(frameOf));
        ids.push(...batchIds);
      }
      // Back to back: each create is sent as the previous one is answered, while its claim may still be in flight.
      const sequential: string[] = [];
      for (let i = 0; i < 10; i++) sequential.push((await server.send(senderKey, receiver)).body.intent_id as string);
      await Promise.all(sequential.map(frameOf));
      ids.push(...sequential);

      // Exactly the race of a loaded server: a claim has already run in the open batch (here woken
      // by hand, finding nothing) when a create in the same batch issues a delivery. The delivery
      // must not wait for that claim's commit and a claim in the next batch.
      const ctx = server.app.axp;
      const agent = await ctx.store.read((tx) => tx.getAgent(receiver));
      ctx.notifier.emit(`agent:${receiver}`);
      const raced = await ctx.store.write((tx) => ctx.intents.create(tx, { address: 'agent://test/group/sender', admin: false }, { intent_type: 'test.work.v1', to_agent: receiver, payload: { n: 1 } }, agent));
      await frameOf(raced.intent.intent_id);
      ids.push(raced.intent.intent_id);
      for (const id of ids) {
        expect(batchOf(created(id)), `create of ${id}`).toBeGreaterThanOrEqual(0);
        expect(batchOf(claimed(id)), `claim of ${id}`).toBe(batchOf(created(id)));
      }
      abort.abort();
      await reading;
    } finally {
      await server.dispose();
    }
  });
});
