// No case can crash a run: the CLI as a child process (a test runner's own handlers would hide a
// crash) runs cases that leave rejecting promises and throwing timers behind; each stray is charged
// to its case, the process lives on and the reports are written.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../conformance/results.js';
import { startFakeTarget, type FakeTarget } from './kit-fake-target.js';

let target: FakeTarget;
let dir: string;
beforeAll(async () => {
  target = await startFakeTarget();
  dir = await mkdtemp(join(tmpdir(), 'axp-kit-crash-'));
});
afterAll(async () => {
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'conformance/cli.ts', ...args], { env: { ...process.env, NO_COLOR: '1' }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('a case cannot crash the run', () => {
  it.each([1, 4])('strays are charged to their case and the reports are written (concurrency %i)', async (concurrency) => {
    const out = join(dir, `c${concurrency}`);
    const run = await cli(['--target', target.url, '--cases', 'test/kit-crash-cases.ts', '--reporter', 'json,junit', '--out', out, '--concurrency', String(concurrency)]);
    const report = JSON.parse(await readFile(join(out, 'conformance-report.json'), 'utf8')) as RunResult;
    const junit = await readFile(join(out, 'junit.xml'), 'utf8');
    const outcome = (id: string) => report.cases.find((c) => c.id === id);
    // The failure stands; the rejection it left behind is noted.
    expect(outcome('CRASH-001')).toMatchObject({ outcome: 'failed', failure: { message: 'the case fails on its own subject' } });
    expect(outcome('CRASH-001')?.notes.join(' ')).toContain('case CRASH-001 ended');
    expect(outcome('CRASH-002')).toMatchObject({ outcome: 'errored', failure: { message: expect.stringContaining('thrown from a timer the case set') } });
    expect(outcome('CRASH-003')).toMatchObject({ outcome: 'errored', failure: { message: expect.stringContaining('a stray rejection') } });
    expect(outcome('CRASH-004')?.outcome).toBe('passed');
    expect(report.harnessErrors).toEqual([]);
    expect(report.exitCode).toBe(1);
    expect(run.code).toBe(1);
    expect(junit).toContain('CRASH-002');
  }, 120_000);
});
