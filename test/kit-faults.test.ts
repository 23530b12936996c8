// The kit is worth the bugs it catches and the correct servers it does not fail.
// Every fault mode of the reference server (reference-server-faults/) is booted in process and
// the kit runs against it with the groups that cite the fault's area; the run must exit 1 with a
// newly failing case citing that area. The correct server runs twice with different seeds (the CI
// size of `npm run flake-check`) and must pass everything; the first of those runs is the control
// the kills are measured against. Writes reports/kill-table.md and .json.
import { execFile } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_FAULTS_ENV, FAULTS, FaultsNotAllowedError, buildServer, faultsOf, resolveFaults } from '../reference-server-faults/index.js';
import { registeredCases } from '../conformance/index.js';
import { citesArea, killRows, killTable, planJobs, runJobs, writeKillTable, type KillRow, type RunDigest } from './helpers/fault-runs.js';

const SEED = Number(process.env.AXP_FAULT_SEED ?? 20_260_701);
/** Child processes (one per core) and kit runs at once in each: runs mostly wait on real-time bounds. */
const SHARDS = Number(process.env.AXP_FAULT_SHARDS ?? 2);
const WORKERS = Number(process.env.AXP_FAULT_WORKERS ?? 3);
const FLAKE_RUNS = 2;

const cases = registeredCases();
let controls: RunDigest[] = [];
const rows = new Map<string, KillRow>();

beforeAll(async () => {
  // FLAKE_RUNS controls (seeds SEED, SEED+1) and, per fault, one run per group of its area.
  const results = await runJobs(planJobs(SEED, { controls: FLAKE_RUNS, byArea: true, splitByGroup: true }), { shards: SHARDS, workers: WORKERS, log: (line) => console.log(line) });
  const { control, controls: all, rows: list } = killRows(results);
  controls = all;
  for (const row of list) rows.set(row.fault, row);
  console.log(`${await writeKillTable(killTable(list, control, 'by-area'))}\n(seed ${SEED}; reports/kill-table.md and .json)`);
  // An upper bound only: about 6 minutes on an idle 2-core machine, 8 with both cores busy.
}, 1_200_000);

describe('flake check (CI size): the correct server passes the whole kit with different seeds', () => {
  for (let n = 0; n < FLAKE_RUNS; n++) {
    it(`run ${n + 1} (seed ${SEED + n})`, () => {
      const run = controls[n];
      const failing = run.cases.filter((c) => c.outcome === 'failed' || c.outcome === 'errored').map((c) => `${c.id}: ${c.message ?? ''}`);
      expect(run.harnessErrors).toEqual([]);
      expect(failing).toEqual([]);
      expect(run.exitCode).toBe(0);
    });
  }
});

describe('every fault mode is caught by a case of its area', () => {
  it('has at least 25 fault modes, unique names, spread over the areas', () => {
    expect(FAULTS.length).toBeGreaterThanOrEqual(25);
    expect(new Set(FAULTS.map((f) => f.name)).size).toBe(FAULTS.length);
    expect(new Set(FAULTS.map((f) => f.area)).size).toBeGreaterThanOrEqual(10);
    // Every area is one the kit can select by: some case cites it.
    for (const f of FAULTS) expect(cases.some((c) => citesArea(c, f.area)), f.area).toBe(true);
  });

  for (const fault of FAULTS) {
    it(`${fault.name} (${fault.area})`, () => {
      const row = rows.get(fault.name) as KillRow;
      const inArea = row.kills.filter((k) => k.inArea).map((k) => k.id);
      expect({ exit: row.exitCode, inArea: inArea.length > 0 }, `kills: ${row.kills.map((k) => k.id).join(', ') || 'none'}`).toEqual({ exit: 1, inArea: true });
    });
  }
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'reference-server/cli.ts', ...args], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('fault modes are off by default and cannot be switched on by accident', () => {
  const withoutAllow = { ...process.env, [ALLOW_FAULTS_ENV]: undefined };

  it('buildServer refuses faults without AXP_ALLOW_FAULTS=1 and unknown names with it', async () => {
    expect(() => resolveFaults(['since-inclusive'], {})).toThrow(FaultsNotAllowedError);
    expect(() => resolveFaults(['since-inclusive'], { [ALLOW_FAULTS_ENV]: 'yes' })).toThrow(/AXP_ALLOW_FAULTS=1/);
    expect(() => resolveFaults(['no-such-fault'], { [ALLOW_FAULTS_ENV]: '1' })).toThrow(/unknown fault no-such-fault/);
    expect(resolveFaults(['since-inclusive,gone-retried'], { [ALLOW_FAULTS_ENV]: '1' }).names()).toEqual(['since-inclusive', 'gone-retried']);
    const saved = process.env[ALLOW_FAULTS_ENV];
    delete process.env[ALLOW_FAULTS_ENV];
    try {
      await expect(buildServer({ store: 'memory', faults: ['since-inclusive'] })).rejects.toThrow(FaultsNotAllowedError);
    } finally {
      if (saved !== undefined) process.env[ALLOW_FAULTS_ENV] = saved;
    }
    const app = await buildServer({ store: 'memory' });
    expect(faultsOf(app).size).toBe(0);
    await app.close();
  });

  it('the CLI lists the faults one per line and exits 2 on --fault without the variable', async () => {
    const list = await runCli(['--list-faults'], withoutAllow);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(FAULTS.map((f) => f.name));
    for (const [n, line] of lines.entries()) expect(line).toMatch(new RegExp(`^${FAULTS[n].name} +${FAULTS[n].description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    const refused = await runCli(['--fault', 'since-inclusive', '--store', 'memory', '--port', '0'], withoutAllow);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('AXP_ALLOW_FAULTS=1');
    const unknown = await runCli(['--fault', 'since-inclusive,no-such-fault', '--store', 'memory', '--port', '0'], { ...process.env, [ALLOW_FAULTS_ENV]: '1' });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown fault no-such-fault');
  }, 60_000);
});
