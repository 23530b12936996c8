// The axp-conformance CLI as a child process: its exit codes are its contract with CI.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_ADMIN_KEY, refusedPort, startFakeTarget, type FakeTarget } from './kit-fake-target.js';

const CLI = ['--import', 'tsx', 'conformance/cli.ts'];
const FAKE_CASES = ['--cases', 'test/kit-fake-cases.ts'];
const KEY_CASES = ['--cases', 'test/kit-admin-cases.ts'];

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    // No admin key from the environment the tests run in: each test gives its own.
    const env = { ...process.env, NO_COLOR: '1', AXP_ADMIN_KEY: undefined, ...extraEnv };
    execFile(process.execPath, [...CLI, ...args], { cwd: process.cwd(), env, timeout: 60_000 }, (err, stdout, stderr) => {
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

// Each CLI run is a fresh process; a test that runs several needs room on a loaded CI machine.
describe('axp-conformance exit codes', { timeout: 120_000 }, () => {
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

  it('3 when the target refuses connections, naming the cause before anything else', async () => {
    const port = await refusedPort();
    const run = await cli(['--target', `http://127.0.0.1:${port}`, ...FAKE_CASES]);
    expect(run.code).toBe(3);
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(lines[2]).toMatch(new RegExp(`^target http://127\\.0\\.0\\.1:${port} unreachable: .*ECONNREFUSED.* \\(is the server running, and is --target right\\?\\)$`));
    expect(run.stdout).not.toMatch(/^group /m);
    expect(lines.at(-1)).toBe('NOTHING MEASURED: the target was unreachable (exit 3)');
  });

  it('2 without booting a server when the selection matches no case', async () => {
    const only = await cli(['--only', 'NOPE-*']);
    expect(only.code).toBe(2);
    expect(only.stdout).toBe('');
    expect(only.stderr).toMatch(/^axp-conformance: --only NOPE-\* --level should selects none of the \d+ cases \(--list prints their IDs\)\n$/);
    const skip = await cli(['--target', target.url, '--skip', 'FAKE-*', ...FAKE_CASES]);
    expect(skip.code).toBe(2);
    expect(skip.stderr).toContain('--skip FAKE-* --level should selects none of the 3 cases');
  });

  it('says the admin key is needed when it is missing, and that the target refused it when it did', async () => {
    const missing = await cli(['--target', target.url, ...KEY_CASES]);
    // A CI job whose admin-key secret is unset must not go green on the case that needs no key.
    expect(missing.code).toBe(3);
    expect(missing.stdout).toContain('no admin key: 1 case of 2 needs one to register agents; give --admin-key KEY or set AXP_ADMIN_KEY');
    expect(missing.stdout).toContain('NOTHING MEASURED: 1 selected case needs the admin key (--admin-key or AXP_ADMIN_KEY) and did not run (exit 3)');
    const onlyKeyed = await cli(['--target', target.url, '--only', 'KEY-001', ...KEY_CASES]);
    expect(onlyKeyed.code).toBe(3);
    expect(onlyKeyed.stdout).toContain('NOTHING MEASURED: 1 selected case needs the admin key (--admin-key or AXP_ADMIN_KEY) and did not run (exit 3)');
    const refused = await cli(['--target', target.url, '--admin-key', 'not-the-key', '--only', 'KEY-001', ...KEY_CASES]);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(/^the target refused the admin key \(PUT \/v1\/agents\/conf-\w+\/admin-key-check with it answered 401 unauthorized\): check --admin-key or AXP_ADMIN_KEY; 1 case that needs it did not run$/m);
    expect(refused.stdout).not.toContain('not-the-key');
    const given = await cli(['--target', target.url, ...KEY_CASES], { AXP_ADMIN_KEY: FAKE_ADMIN_KEY });
    expect(given.code, given.stdout).toBe(0);
    expect(given.stdout).toContain('PASS: every applicable MUST case passed (exit 0)');
  });

  it('1 when a MUST case fails, 0 when it is a known failure, 1 when a baseline entry is stale', async () => {
    const failing = await cli(['--target', target.url, ...FAKE_CASES]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('FAKE-002');
    expect(failing.stdout).toContain('this case always fails');
    const known = join(dir, 'known.json');
    await writeFile(known, JSON.stringify({ known_failures: { 'FAKE-002': 'tracked elsewhere' } }));
    const knownRun = await cli(['--target', target.url, '--baseline', known, ...FAKE_CASES]);
    expect(knownRun.code).toBe(0);
    expect(knownRun.stdout).toContain('PASS: every applicable MUST case passed except 1 known failure (baseline), which failed as listed (exit 0)');
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

  it('--coverage prints every requirement with the cases citing it and exits 0', async () => {
    const run = await cli(['--coverage']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^SEC-001\s+MUST\s+\S*SEC-002\S*\s+forms: x-api-key \| Authorization: Bearer/m);
    expect(run.stdout).toMatch(/^DLV-015\s+MUST\s+.*Retry-After: HTTP-date/m);
  });

  it('writes the json, junit, html and markdown reports into --out and says where', async () => {
    const out = join(dir, 'reports');
    const run = await cli(['--target', target.url, '--reporter', 'console,json,junit,html,markdown', '--out', out, '--seed', '42', ...FAKE_CASES]);
    expect(run.code).toBe(1);
    const report = JSON.parse(await readFile(join(out, 'conformance-report.json'), 'utf8')) as { seed: number; exitCode: number };
    expect(report).toMatchObject({ seed: 42, exitCode: 1 });
    expect(await readFile(join(out, 'junit.xml'), 'utf8')).toContain('<testsuites');
    expect(await readFile(join(out, 'conformance-report.html'), 'utf8')).toContain('<table id="cases">');
    expect(await readFile(join(out, 'conformance-summary.md'), 'utf8')).toContain('## ❌ AXP conformance: FAIL');
    const files = ['conformance-report.json', 'junit.xml', 'conformance-report.html', 'conformance-summary.md'].map((f) => join(out, f));
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(`reports: ${files.join(', ')}`);
  });

  it('with only a file reporter, still prints the verdict and where the file is', async () => {
    const out = join(dir, 'junit-only');
    const run = await cli(['--target', target.url, '--reporter', 'junit', '--out', out, ...FAKE_CASES]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe([
      'AXP conformance FAIL: 1 MUST case failed or errored (exit 1) · 1 passed, 1 failed, 0 blocked, 0 n/a, 1 skipped',
      `reports: ${join(out, 'junit.xml')}`,
      '',
    ].join('\n'));
  });
});
