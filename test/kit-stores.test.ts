// The whole kit passes against the reference server on each embedded store, with zero
// failures (the memory store is also the default of `npx axp-conformance`).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runConformance } from '../conformance/index.js';

const dir = mkdtempSync(join(tmpdir(), 'axp-kit-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['memory', 'memory'],
  ['sqlite', `sqlite:${join(dir, 'kit.db')}`],
])('the whole kit against the reference server on the %s store', (_name, store) => {
  it('passes every applicable case', async () => {
    const result = await runConformance({ embedded: { serverOptions: { store } } });
    const failing = result.cases.filter((c) => c.outcome === 'failed' || c.outcome === 'errored');
    expect(failing.map((c) => `${c.id}: ${c.failure?.message ?? c.outcome}`)).toEqual([]);
    expect(result.summary.passed).toBeGreaterThan(200);
    expect(result.exitCode).toBe(0);
    if (store.startsWith('sqlite:')) expect(existsSync(store.slice('sqlite:'.length))).toBe(true);
  }, 180_000);
});
