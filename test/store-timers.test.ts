// Timers by intent (the memory store indexes them): cancelTimers removes exactly one intent's
// timers (of one kind, when named), and a unit that rolls back leaves the timers as they were.
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../reference-server/store/memory.js';
import { SqliteStore } from '../reference-server/store/sqlite.js';
import type { NewTimer, Store } from '../reference-server/store/store.js';
import { tempDbFile } from './helpers/server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const done of cleanups.splice(0)) await done(); });

function open(kind: 'memory' | 'sqlite'): Store {
  if (kind === 'memory') return new MemoryStore();
  const { dir, file } = tempDbFile();
  const store = new SqliteStore(file);
  cleanups.push(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  return store;
}

const at = (due_at: number, kind: string, intent_id: string | null): NewTimer => ({ due_at, kind, intent_id, data: {} });
const due = (store: Store) => store.read(async (tx) => (await tx.dueTimers(Number.MAX_SAFE_INTEGER, 100)).map((t) => `${t.intent_id}:${t.kind}`));

describe.each(['memory', 'sqlite'] as const)('timers on the %s store', (kind) => {
  it('cancels one intent\'s timers, of one kind when named', async () => {
    const store = open(kind);
    await store.write(async (tx) => {
      for (const t of [at(1, 'lease', 'a'), at(2, 'retry', 'a'), at(3, 'lease', 'b'), at(4, 'sweep', null)]) await tx.addTimer(t);
    });
    await store.write((tx) => tx.cancelTimers('a', 'lease'));
    expect(await due(store)).toEqual(['a:retry', 'b:lease', 'null:sweep']);
    await store.write((tx) => tx.cancelTimers('a'));
    expect(await due(store)).toEqual(['b:lease', 'null:sweep']);
  });

  it('leaves the timers as they were when the unit rolls back', async () => {
    const store = open(kind);
    const kept = await store.write((tx) => tx.addTimer(at(1, 'lease', 'a')));
    await expect(store.write(async (tx) => {
      await tx.addTimer(at(2, 'retry', 'a'));
      await tx.cancelTimers('a');
      throw new Error('roll back');
    })).rejects.toThrow('roll back');
    expect(await due(store)).toEqual(['a:lease']);
    // The index is back in step too: cancelling finds the kept timer, and only it.
    await store.write((tx) => tx.cancelTimers('a'));
    expect(await due(store)).toEqual([]);
    expect(await store.write((tx) => tx.deleteTimer(kept))).toBe(false);
  });
});
