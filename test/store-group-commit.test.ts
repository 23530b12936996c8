// StoreTx.beforeCommit: a unit that a callback starts sees the unit that registered it, and on
// SQLite joins that unit's group commit (one fsync for a create and its stream claim).
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../reference-server/store/memory.js';
import { SqliteStore } from '../reference-server/store/sqlite.js';
import type { Store } from '../reference-server/store/store.js';
import { tempDbFile } from './helpers/server.js';

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
