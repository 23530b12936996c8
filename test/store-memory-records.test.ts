// The memory store hands out its records themselves, frozen, instead of copies: a record read or
// written cannot be changed in place, so stored state only changes through a write.
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../reference-server/store/memory.js';
import type { AgentRecord } from '../reference-server/model.js';

const agent = (): AgentRecord => ({
  address: 'agent://t/a', key_hash: 'h', last_delivery_seq: 0, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
  delivery: { binding: 'poll', max_delivery_attempts: 3, initial_delay_ms: 1000, max_delay_ms: 60000, multiplier: 2, lease_seconds: 30 },
} as AgentRecord);

describe('memory store records', () => {
  it('cannot be changed in place once written or read, nested fields included', async () => {
    const store = new MemoryStore();
    const written = agent();
    await store.write((tx) => tx.putAgent(written));
    expect(() => { written.last_delivery_seq = 5; }).toThrow(TypeError);
    const read = await store.read((tx) => tx.getAgent('agent://t/a'));
    expect(() => { (read as AgentRecord).delivery.lease_seconds = 1; }).toThrow(TypeError);
    await store.write((tx) => tx.putAgent({ ...(read as AgentRecord), last_delivery_seq: 7 }));
    expect((await store.read((tx) => tx.getAgent('agent://t/a')))?.last_delivery_seq).toBe(7);
    expect(read?.last_delivery_seq).toBe(0);
  });

  it('stores a value that is not JSON data as a copy of its own', async () => {
    const store = new MemoryStore();
    const when = new Date(0);
    await store.write((tx) => tx.putAgent({ ...agent(), note: when } as unknown as AgentRecord));
    const read = (await store.read((tx) => tx.getAgent('agent://t/a'))) as unknown as { note: Date };
    expect(read.note).not.toBe(when);
    expect(read.note.getTime()).toBe(0);
    expect(Object.isFrozen(read.note)).toBe(true);
  });
});
