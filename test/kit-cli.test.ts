// The axp-conformance CLI as a child process: its exit codes are its contract with CI.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedPort, startFakeTarget, type FakeTarget } from './kit-fake-target.js';

const CLI = ['--import', 'tsx', 'conformance/cli.ts'];
const FAKE_CASES = ['--cases', 'test/kit-fake-cases.ts'];

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: process.cwd(), env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let target: FakeTarget;
let dir: string;
beforeAll(async () => {
  target = await startFakeTarget();
  dir = await mkdtemp(join(tmpdir(), 'axp-kit-cli-'));
});
afterAll(async () => {
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

describe('axp-conformance exit codes', () => {
  it('2 for an unknown flag and for a bad --level', async () => {
    const unknown = await cli(['--no-such-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown option');
    const level = await cli(['--level', 'sometimes', '--target', target.url]);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('--level');
  });

  it('2 for an unreadable baseline and for an unreadable or invalid agents file', async () => {
    const baseline = await cli(['--target', target.url, '--baseline', join(dir, 'missing.json'), ...FAKE_CASES]);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toContain('cannot read baseline');
    const agents = await cli(['--target', target.url, '--agents', join(dir, 'missing-agents.json'), ...FAKE_CASES]);
    expect(agents.code).toBe(2);
    expect(agents.stderr).toContain('cannot read --agents');
    const invalid = join(dir, 'invalid-agents.json');
    await writeFile(invalid, JSON.stringify({ agents: [{ role: 'stream', address: 'not-an-address', api_key: 'k', delivery: { binding: 'stream' } }] }));
    const bad = await cli(['--target', target.url, '--agents', invalid, ...FAKE_CASES]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('agents-file.schema.json');
  });

  it('3 when the target refuses connections', async () => {
    const port = await refusedPort();
    const run = await cli(['--target', `http://127.0.0.1:${port}`, ...FAKE_CASES]);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('NOTHING MEASURED');
  });

  it('3 when every case is skipped', async () => {
    const run = await cli(['--target', target.url, '--skip', 'FAKE-*', ...FAKE_CASES]);
    expect(run.code).toBe(3);
  });

  it('1 when a MUST case fails, 0 when it is a known failure, 1 when a baseline entry is stale', async () => {
    const failing = await cli(['--target', target.url, ...FAKE_CASES]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('FAKE-002');
    expect(failing.stdout).toContain('this case always fails');
    const known = join(dir, 'known.json');
    await writeFile(known, JSON.stringify({ known_failures: { 'FAKE-002': 'tracked elsewhere' } }));
    expect((await cli(['--target', target.url, '--baseline', known, ...FAKE_CASES])).code).toBe(0);
    const stale = join(dir, 'stale.json');
    await writeFile(stale, JSON.stringify(['FAKE-001', 'FAKE-002']));
    const staleRun = await cli(['--target', target.url, '--baseline', stale, ...FAKE_CASES]);
    expect(staleRun.code).toBe(1);
    expect(staleRun.stdout).toContain('stale');
  });

  it('--list prints every case with level and requirements and exits 0', async () => {
    const run = await cli(['--list', ...FAKE_CASES]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/FAKE-001\s+MUST\s+TERM-001\s+capabilities answer 200/);
    expect(run.stdout).toMatch(/FAKE-003\s+MAY\s+TERM-003/);
  });

  it('writes the json, junit and html reports into --out', async () => {
    const out = join(dir, 'reports');
    const run = await cli(['--target', target.url, '--reporter', 'json,junit,html', '--out', out, '--seed', '42', ...FAKE_CASES]);
    expect(run.code).toBe(1);
    const report = JSON.parse(await readFile(join(out, 'conformance-report.json'), 'utf8')) as { seed: number; exitCode: number };
    expect(report).toMatchObject({ seed: 42, exitCode: 1 });
    expect(await readFile(join(out, 'junit.xml'), 'utf8')).toContain('<testsuites');
    expect(await readFile(join(out, 'conformance-report.html'), 'utf8')).toContain('<table id="cases">');
  });
});
