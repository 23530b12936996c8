// The GitHub Action (action.yml) and its run step (scripts/conformance-action.sh), run locally the
// way the runner would: inputs as INPUT_* variables, a job-summary file, an outputs file.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_ADMIN_KEY, startFakeTarget, type FakeTarget } from './kit-fake-target.js';

const SCRIPT = 'scripts/conformance-action.sh';
/** The kit from this checkout's sources; the action's default is the installed kit (npx). */
const KIT = 'node --import tsx conformance/cli.ts';

interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
}

function step(env: Record<string, string>): Promise<StepRun> {
  return new Promise((resolve) => {
    const base = { ...process.env, NO_COLOR: '1', AXP_ADMIN_KEY: undefined, GITHUB_ACTIONS: undefined };
    execFile('bash', [SCRIPT], { cwd: process.cwd(), env: { ...base, ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

let target: FakeTarget;
let dir: string;
beforeAll(async () => {
  target = await startFakeTarget();
  dir = await mkdtemp(join(tmpdir(), 'axp-kit-action-'));
});
afterAll(async () => {
  await target?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('action.yml', () => {
  it('passes every input the script reads as an INPUT_ variable, and uploads the out dir', async () => {
    const action = await readFile('action.yml', 'utf8');
    const script = await readFile(SCRIPT, 'utf8');
    const read = [...new Set([...script.matchAll(/\bINPUT_([A-Z_]+)/g)].map((m) => m[1]))].sort();
    expect(read).toEqual(['ADMIN_KEY', 'ARGS', 'BASELINE', 'COMMAND', 'OUT_DIR', 'REPORTERS', 'TARGET']);
    for (const name of read) {
      const input = name.toLowerCase().replace(/_/g, '-');
      expect(action, input).toMatch(new RegExp(`^ {2}${input}:\\n {4}description: `, 'm'));
      expect(action, input).toContain(`INPUT_${name}: \${{ inputs.${input} }}`);
    }
    expect(action).toContain('run: bash "$GITHUB_ACTION_PATH/scripts/conformance-action.sh"');
    expect(action).toMatch(/uses: actions\/upload-artifact@v4\n\s+with:\n\s+name: \$\{\{ inputs.artifact-name \}\}\n\s+path: \$\{\{ inputs.out-dir \}\}/);
  });
});

describe('the action run step', { timeout: 120_000 }, () => {
  it('runs the kit, writes the reports and the job summary, and sets its outputs', async () => {
    const out = join(dir, 'pass');
    const summary = join(dir, 'pass-summary.md');
    const outputs = join(dir, 'pass-outputs.txt');
    await writeFile(summary, '');
    const run = await step({
      INPUT_TARGET: target.url, INPUT_ADMIN_KEY: FAKE_ADMIN_KEY, INPUT_REPORTERS: 'json', INPUT_OUT_DIR: out,
      INPUT_ARGS: '--cases test/kit-admin-cases.ts --only KEY-* --seed 7', INPUT_COMMAND: KIT,
      GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: outputs,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const md = await readFile(summary, 'utf8');
    expect(md).toMatch(/^## ✅ AXP conformance: PASS\n/);
    expect(md).toContain('| passed | 2 |');
    expect(md).toContain('seed 7');
    expect(await readFile(join(out, 'conformance-summary.md'), 'utf8')).toBe(md.replace(/\n$/, ''));
    expect(JSON.parse(await readFile(join(out, 'conformance-report.json'), 'utf8'))).toMatchObject({ exitCode: 0, adminKey: 'accepted' });
    expect(await readFile(outputs, 'utf8')).toBe(`exit-code=0\nreport-dir=${out}\n`);
    for (const text of [md, run.stdout, run.stderr]) expect(text).not.toContain(FAKE_ADMIN_KEY);
  });

  it('fails the step with the kit exit code, and a baseline turns a known failure into a pass', async () => {
    const summary = join(dir, 'fail-summary.md');
    const outputs = join(dir, 'fail-outputs.txt');
    const common = { INPUT_TARGET: target.url, INPUT_COMMAND: KIT, INPUT_ARGS: '--cases test/kit-fake-cases.ts', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: outputs };
    const failing = await step({ ...common, INPUT_OUT_DIR: join(dir, 'fail') });
    expect(failing.code).toBe(1);
    expect(await readFile(summary, 'utf8')).toMatch(/^## ❌ AXP conformance: FAIL\n[\s\S]*\| `FAKE-002` always fails \| MUST \| `TERM-002` \| this case always fails \|/);
    const baseline = join(dir, 'baseline.json');
    await writeFile(baseline, JSON.stringify({ known_failures: { 'FAKE-002': 'tracked' } }));
    const known = await step({ ...common, INPUT_OUT_DIR: join(dir, 'known'), INPUT_BASELINE: baseline });
    expect(known.code, known.stdout).toBe(0);
    expect(await readFile(outputs, 'utf8')).toBe(`exit-code=1\nreport-dir=${join(dir, 'fail')}\nexit-code=0\nreport-dir=${join(dir, 'known')}\n`);
  });
});
