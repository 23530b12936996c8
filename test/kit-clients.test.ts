// The client kit (axp-conformance client, spec/17-clients.md): the reference client's driver passes
// every scenario; each deliberately broken client fails the scenarios that cite the requirement it
// breaks, and only those; a driver that does nothing fails everything; a command that cannot start
// is a usage error (exit 2); undeclared roles are reported, not failed.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientCli } from '../conformance/clients/cli.js';
import { runClientConformance } from '../conformance/clients/runner.js';
import { clientScenarios } from '../conformance/clients/scenarios/index.js';
import { UsageError } from '../conformance/errors.js';
import { requirements, uncoveredRequirements } from '../conformance/registry.js';
import type { RunResult } from '../conformance/results.js';
import { validate } from '../schemas/index.js';

const ROOT = join(import.meta.dirname, '..');
const SEED = 20261206;
/** Upper bounds only: a slow machine makes a scenario slower, never makes it pass or fail. */
const SCALE = 1.5;
const scenarios = clientScenarios();
let buildDir: string;
let referenceDriver: string;

/** The reference client and its driver as plain JavaScript (transpiled, not type-checked: npm run typecheck does that). */
function buildReferenceDriver(): string {
  buildDir = mkdtempSync(join(tmpdir(), 'axp-client-driver-'));
  mkdirSync(join(buildDir, 'client'));
  for (const file of readdirSync(join(ROOT, 'client')).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(ROOT, 'client', file), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: file });
    writeFileSync(join(buildDir, 'client', file.replace(/\.ts$/, '.js')), outputText);
  }
  writeFileSync(join(buildDir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'), 'dir');
  return join(buildDir, 'client', 'conformance-driver.js');
}

function run(command: string, only?: string[]): Promise<RunResult> {
  return runClientConformance({ command, only, seed: SEED, timeoutScale: SCALE });
}

const outcomes = (r: RunResult) => Object.fromEntries(r.cases.map((c) => [c.id, c.outcome]));
const failedIds = (r: RunResult) => r.cases.filter((c) => c.outcome === 'failed' || c.outcome === 'errored').map((c) => c.id);
const citing = (reqs: string[]) => scenarios.filter((s) => s.requirements.some((r) => reqs.includes(r))).map((s) => s.id);

beforeAll(() => {
  referenceDriver = buildReferenceDriver();
});

afterAll(() => {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

describe('the client scenarios', () => {
  it('are at least 12, with unique well-formed IDs and names, each citing CLI requirements of the registry', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(12);
    expect(new Set(scenarios.map((s) => s.id)).size).toBe(scenarios.length);
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
    const known = new Set(requirements.map((r) => r.id));
    for (const s of scenarios) {
      expect(s.id).toMatch(/^[A-Z]+-\d{3}$/);
      expect(s.name).toMatch(/^[a-z0-9-]+$/);
      expect(s.requirements.length, s.id).toBeGreaterThan(0);
      for (const r of s.requirements) expect(known.has(r) && r.startsWith('CLI-'), `${s.id} cites ${r}`).toBe(true);
    }
  });

  it('cover every MUST and SHOULD client requirement, or say in conformance/clients/traceability.json why not', () => {
    expect(uncoveredRequirements().filter((r) => r.id.startsWith('CLI-'))).toEqual([]);
  });
});

describe('the reference client', () => {
  it('passes every scenario through its driver', async () => {
    const result = await run(`node ${referenceDriver}`);
    expect(outcomes(result), JSON.stringify(result.cases.filter((c) => c.outcome !== 'passed').map((c) => [c.id, c.failure?.message]))).toEqual(Object.fromEntries(scenarios.map((s) => [s.id, 'passed'])));
    expect(result.exitCode).toBe(0);
    expect(validate('conformance-report', JSON.parse(JSON.stringify({ $schema: 'https://schemas.axp.dev/v1/conformance-report.schema.json', ...result })))).toEqual({ ok: true });
    // No credential of the run reaches the report.
    expect(JSON.stringify(result)).not.toMatch(/axp_[A-Za-z0-9_-]{16,}|adm_[A-Za-z0-9_-]{16,}/);
  }, 300_000);
});

const FETCH_CLIENT = `node ${join(ROOT, 'test', 'broken-clients', 'fetch-client.mjs')}`;

/** Each flaw, the requirements it breaks, and the scenarios (among those citing them) it must fail. */
const FLAWS: Array<{ flaw: string; breaks: string[]; fails: string[] }> = [
  { flaw: 'new-key-per-retry', breaks: ['CLI-002'], fails: ['SEND-002', 'SEND-003', 'SEND-004'] },
  { flaw: 'retry-4xx', breaks: ['CLI-004'], fails: ['SEND-005', 'SEND-006'] },
  { flaw: 'ignore-retry-after', breaks: ['CLI-005'], fails: ['SEND-002', 'SEND-003'] },
  { flaw: 'no-backoff', breaks: ['CLI-006'], fails: ['SEND-007'] },
  { flaw: 'drop-problem-code', breaks: ['CLI-008'], fails: ['SEND-005', 'SEND-006', 'SEND-007'] },
  { flaw: 'observe-from-zero', breaks: ['CLI-010'], fails: ['OBSV-001', 'OBSV-002', 'OBSV-003'] },
  { flaw: 'skip-after-cut', breaks: ['CLI-011'], fails: ['OBSV-001', 'OBSV-002'] },
  { flaw: 'timeout-as-event', breaks: ['CLI-013'], fails: ['OBSV-003'] },
  { flaw: 'wait-for-close', breaks: ['CLI-012'], fails: ['OBSV-004'] },
  { flaw: 'wait-gives-up', breaks: ['CLI-014'], fails: ['WAIT-001'] },
  { flaw: 'ack-without-id', breaks: ['CLI-020'], fails: ['RECV-001', 'RECV-002'] },
  { flaw: 'stale-ack', breaks: ['CLI-021'], fails: ['RECV-002'] },
  { flaw: 'stop-on-409', breaks: ['CLI-021'], fails: ['RECV-002'] },
  { flaw: 'no-dedupe', breaks: ['CLI-022'], fails: ['RECV-003'] },
  { flaw: 'receiver-from-zero', breaks: ['CLI-023'], fails: ['RECV-004'] },
  { flaw: 'wrong-delivery-id', breaks: ['CLI-024'], fails: ['RECV-005'] },
  { flaw: 'reserialize-body', breaks: ['CLI-030', 'CLI-032'], fails: ['HOOK-001', 'HOOK-003'] },
  { flaw: 'first-entry-only', breaks: ['CLI-031'], fails: ['HOOK-002'] },
  { flaw: 'accept-missing-signature', breaks: ['CLI-032'], fails: ['HOOK-003'] },
  { flaw: 'no-timestamp-window', breaks: ['CLI-033'], fails: ['HOOK-004'] },
];

// Concurrent: most of a scenario's time is waiting (Retry-After, bounded reads), not work.
describe.concurrent('broken clients fail the scenarios that cite the requirement they break', () => {
  it.each(FLAWS)('$flaw ($breaks)', async ({ flaw, breaks, fails }) => {
    const result = await run(`${FETCH_CLIENT} ${flaw}`, citing(breaks));
    expect(failedIds(result).sort(), JSON.stringify(result.cases.filter((c) => c.outcome === 'failed').map((c) => [c.id, c.failure?.message]))).toEqual([...fails].sort());
    expect(result.exitCode).toBe(1);
    for (const c of result.cases.filter((x) => x.outcome === 'failed')) expect(c.requirements.some((r) => breaks.includes(r)), `${c.id} cites ${breaks}`).toBe(true);
  }, 120_000);
});

describe('the run itself', () => {
  it('fails every scenario of a program that does nothing', async () => {
    const result = await run('true');
    expect(result.warnings.join('\n')).toContain('declared no roles');
    expect(failedIds(result).sort()).toEqual(scenarios.map((s) => s.id).sort());
    expect(result.exitCode).toBe(1);
  }, 180_000);

  it('refuses a command that cannot start (exit 2 from the CLI)', async () => {
    await expect(run('./no-such-driver-program --flag')).rejects.toBeInstanceOf(UsageError);
  }, 60_000);

  it('reports undeclared roles as not tested; the README driver passes the sender scenarios', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const driver = readFileSync(join(ROOT, 'test', 'client-drivers', 'readme-sender.mjs'), 'utf8');
    expect(readme, 'the README shows test/client-drivers/readme-sender.mjs verbatim').toContain(driver.trim());
    const result = await run(`node ${join(ROOT, 'test', 'client-drivers', 'readme-sender.mjs')}`, ['SEND-001', 'SEND-004', 'SEND-005', 'OBSV-001', 'WAIT-001', 'RECV-001', 'HOOK-001']);
    const ran = result.cases.filter((c) => c.outcome !== 'skipped');
    const byRole = (role: string) => ran.filter((c) => scenarios.find((s) => s.id === c.id)!.role === role);
    expect(byRole('sender').map((c) => c.outcome)).toEqual(['passed', 'passed', 'passed']);
    for (const c of ran.filter((x) => scenarios.find((s) => s.id === x.id)!.role !== 'sender')) {
      expect(c.outcome).toBe('not_applicable');
      expect(c.reason).toMatch(/does not declare the (observer|wait_for|receiver|webhook_verifier) role/);
    }
    expect(result.warnings).toContain('roles not tested (the program does not declare them): observer, wait_for, receiver, webhook_verifier');
    expect(result.exitCode).toBe(0);
  }, 180_000);

  it('axp-conformance client --list prints every scenario; a missing --command is exit 2', async () => {
    const cli = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'conformance/cli.ts', 'client', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
    const list = await cli(['--list']);
    expect(list.code).toBe(0);
    for (const s of scenarios) expect(list.stdout).toContain(`${s.id} `);
    expect(list.stdout).toContain(`${scenarios.length} scenarios`);
    expect(await runClientCli(['--reporter', 'console'])).toBe(2);
  }, 120_000);
});
