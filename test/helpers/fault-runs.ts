// The kit against fault-injected reference servers: a kit is worth the bugs it catches and the
// correct servers it does not fail. Shared by the CI test (test/kit-faults.test.ts, groups chosen by
// the fault's area), `npm run kill-table` (every group) and `npm run flake-check`. A fault counts as caught when the run exits 1 and a case fails that
// passed against the correct server with the same seed (the control run) and cites a requirement
// of the fault's area. Runs are spread over child processes (fault-shard.ts) so that every
// core is used; inside one process several runs overlap, since they mostly wait on real-time bounds.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOW_FAULTS_ENV, FAULTS, buildServer, type FaultSpec } from '../../reference-server-faults/index.js';
import { registeredCases, runConformance, type CaseOutcome, type ConformanceCase, type Level, type RunResult } from '../../conformance/index.js';

export const PROPERTY_GROUP = 'PROP';

/** Server options shared by every run: what the embedded kit boots, with the overload guard's
 * event-loop check off (kit and server share one event loop, and several runs share a process). */
const SERVER_OPTIONS = { keepaliveSeconds: 2, pressure: { maxEventLoopDelayMs: 0 } };

/**
 * Cases at once inside one run. The harness already runs several runs side by side in every
 * process (and a process per core), which keeps the cores busy; cases inside a run go one by one
 * so that a loaded machine does not turn timing bounds into false kills.
 */
export const RUN_CONCURRENCY = 1;

/** One kit run: against the correct embedded server (control / flake), or against a faulted one. */
export type Job =
  | { kind: 'control'; seed: number }
  | { kind: 'fault'; fault: string; seed: number; groups?: string[] };

export interface CaseDigest {
  id: string;
  group: string;
  level: Level;
  requirements: string[];
  outcome: CaseOutcome;
  message?: string;
}

/** What the kill table needs of a RunResult (no transcripts: it crosses process boundaries). */
export interface RunDigest {
  job: Job;
  exitCode: number;
  seed: number;
  durationMs: number;
  summary: RunResult['summary'];
  harnessErrors: string[];
  cases: CaseDigest[];
}

/** A failure on one line, with what was expected and seen: the evidence a kill table or a failed flake check shows. */
function failureLine(failure: NonNullable<RunResult['cases'][number]['failure']>): string {
  const shown = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)).slice(0, 120);
  const line = failure.message.split('\n')[0].slice(0, 300);
  const told = /\bexpected\b/.test(line) || !('expected' in failure || 'actual' in failure);
  return told ? line : `${line} (expected ${shown(failure.expected)}, got ${shown(failure.actual)})`;
}

function digest(job: Job, run: RunResult): RunDigest {
  return {
    job, exitCode: run.exitCode, seed: run.seed, durationMs: run.durationMs, summary: run.summary, harnessErrors: run.harnessErrors,
    cases: run.cases.map((c) => ({
      id: c.id, group: c.group, level: c.level, requirements: c.requirements, outcome: c.outcome,
      ...(c.failure ? { message: failureLine(c.failure) } : {}),
    })),
  };
}

/** The reference server booted in this process with `faults`, the kit run against it as a remote target. */
async function runAgainstFaulted(faults: readonly string[], seed: number, groups: string[] | undefined): Promise<RunResult> {
  const adminKey = `adm_${randomBytes(18).toString('base64url')}`;
  // The variable is set only while buildServer checks it (before its first await), so nothing
  // else in this process ever sees faults allowed.
  const saved = process.env[ALLOW_FAULTS_ENV];
  process.env[ALLOW_FAULTS_ENV] = '1';
  let building: ReturnType<typeof buildServer>;
  try {
    building = buildServer({ store: 'memory', adminKey, testClock: true, allowPrivateCallbacks: true, logger: false, ...SERVER_OPTIONS, faults: [...faults] });
  } finally {
    if (saved === undefined) delete process.env[ALLOW_FAULTS_ENV];
    else process.env[ALLOW_FAULTS_ENV] = saved;
  }
  const app = await building;
  try {
    const target = await app.listen({ host: '127.0.0.1', port: 0 });
    return await runConformance({ target, adminKey, seed, only: groups?.map((g) => `${g}-*`), concurrency: RUN_CONCURRENCY });
  } finally {
    await app.close();
  }
}

/** The kit against the correct server, the way a user runs it: embedded, no --target. */
export function runControl(seed: number, concurrency = RUN_CONCURRENCY): Promise<RunResult> {
  return runConformance({ seed, embedded: { serverOptions: SERVER_OPTIONS }, concurrency });
}

export async function runJob(job: Job): Promise<RunDigest> {
  const run = job.kind === 'control' ? await runControl(job.seed) : await runAgainstFaulted([job.fault], job.seed, job.groups);
  return digest(job, run);
}

/** Runs `jobs` with at most `workers` at once; results in job order. */
export async function pool<T, R>(jobs: readonly T[], workers: number, run: (job: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await run(jobs[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, worker));
  return results;
}

// ---------------------------------------------------------------- selection by area

const areaOf = (requirement: string): string => requirement.slice(0, requirement.lastIndexOf('-'));

export function citesArea(c: Pick<ConformanceCase, 'requirements'>, area: string): boolean {
  return c.requirements.some((r) => areaOf(r) === area);
}

/** The groups with at least one case citing a requirement of the area (selection by area, never by case). */
export function groupsForArea(area: string, cases: readonly ConformanceCase[] = registeredCases()): string[] {
  // The response-conformance cases (runsLast) join every run that runs anything: never a group of their own.
  return [...new Set(cases.filter((c) => !c.runsLast && citesArea(c, area)).map((c) => c.group))];
}

/** Rough cost of a job, to balance shards: property cases run for seconds, most others for less. */
function costOf(job: Job, cases: readonly ConformanceCase[]): number {
  const groups = job.kind === 'fault' ? job.groups : undefined;
  return cases.filter((c) => !groups || groups.includes(c.group)).reduce((sum, c) => sum + (c.group === PROPERTY_GROUP ? 10 : 1), 0);
}

// ---------------------------------------------------------------- shards (child processes)

const SHARD_SCRIPT = fileURLToPath(new URL('./fault-shard.ts', import.meta.url));

function runShard(jobs: Job[], workers: number, log: (line: string) => void): Promise<RunDigest[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SHARD_SCRIPT, String(workers)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      const lines = err.split('\n');
      err = lines.pop() ?? '';
      for (const line of lines) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (err) log(err);
      if (code !== 0) return reject(new Error(`fault shard exited with ${code}`));
      try {
        resolve(JSON.parse(out) as RunDigest[]);
      } catch (error) {
        reject(new Error(`fault shard answered no JSON: ${(error as Error).message}`));
      }
    });
    child.stdin.end(JSON.stringify(jobs));
  });
}

/**
 * Runs every job, spread over `shards` child processes (longest first, each to the least loaded
 * shard) with `workers` runs at once in each; results in job order.
 */
export async function runJobs(jobs: Job[], options: { shards: number; workers: number; log?: (line: string) => void }): Promise<RunDigest[]> {
  const cases = registeredCases();
  const order = jobs.map((job, index) => ({ job, index, cost: costOf(job, cases) })).sort((a, b) => b.cost - a.cost);
  const shards = Array.from({ length: Math.max(1, options.shards) }, () => ({ load: 0, items: [] as typeof order }));
  for (const item of order) {
    const lightest = shards.reduce((a, b) => (b.load < a.load ? b : a));
    lightest.items.push(item);
    lightest.load += item.cost;
  }
  const results: RunDigest[] = new Array(jobs.length);
  await Promise.all(shards.filter((s) => s.items.length > 0).map(async (shard) => {
    const digests = await runShard(shard.items.map((i) => i.job), options.workers, options.log ?? ((line) => console.error(line)));
    shard.items.forEach((item, n) => { results[item.index] = digests[n]; });
  }));
  return results;
}

export function jobLabel(job: Job): string {
  if (job.kind === 'control') return `control (correct server, seed ${job.seed})`;
  return job.groups && job.groups.length <= 2 ? `${job.fault} [${job.groups.join(', ')}]` : job.fault;
}

export function failingIds(run: RunDigest): string[] {
  return run.cases.filter((c) => c.outcome === 'failed' || c.outcome === 'errored').map((c) => c.id);
}

// ---------------------------------------------------------------- the kill table

export interface Kill {
  id: string;
  level: Level;
  /** The case cites a requirement of the fault's area. */
  inArea: boolean;
  message: string;
}

export interface KillRow {
  fault: string;
  area: string;
  description: string;
  groups: string[] | 'all';
  exitCode: number;
  seed: number;
  durationMs: number;
  /** Cases that failed here and passed in the control run, in-area first. */
  kills: Kill[];
  caught: boolean;
  by: 'fixed' | 'property' | 'both' | 'none';
}

/** Compares a fault run with the control run (the correct server, same seed). */
export function killRow(fault: FaultSpec, run: RunDigest, control: RunDigest): KillRow {
  const passedInControl = new Set(control.cases.filter((c) => c.outcome === 'passed').map((c) => c.id));
  const kills = run.cases
    .filter((c) => (c.outcome === 'failed' || c.outcome === 'errored') && passedInControl.has(c.id))
    .map((c) => ({ id: c.id, level: c.level, inArea: citesArea(c, fault.area), message: c.message ?? '' }))
    .sort((a, b) => Number(b.inArea) - Number(a.inArea));
  const inArea = kills.filter((k) => k.inArea);
  const fixed = inArea.some((k) => !k.id.startsWith(`${PROPERTY_GROUP}-`));
  const property = inArea.some((k) => k.id.startsWith(`${PROPERTY_GROUP}-`));
  const groups = run.job.kind === 'fault' && run.job.groups ? run.job.groups : 'all';
  return {
    fault: fault.name, area: fault.area, description: fault.description, groups, exitCode: run.exitCode, seed: run.seed,
    durationMs: run.durationMs, kills, caught: run.exitCode === 1 && inArea.length > 0,
    by: fixed && property ? 'both' : fixed ? 'fixed' : property ? 'property' : 'none',
  };
}

export interface KillTable {
  generatedAt: string;
  scope: 'by-area' | 'full';
  seed: number;
  control: { exitCode: number; failing: string[]; summary: RunResult['summary'] };
  totals: { faults: number; caught: number; byFixed: number; byProperty: number; byBoth: number };
  rows: KillRow[];
}

export function killTable(rows: KillRow[], control: RunDigest, scope: KillTable['scope']): KillTable {
  const count = (by: KillRow['by']) => rows.filter((r) => r.caught && r.by === by).length;
  return {
    generatedAt: new Date().toISOString(),
    scope,
    seed: control.seed,
    control: { exitCode: control.exitCode, failing: failingIds(control), summary: control.summary },
    totals: { faults: rows.length, caught: rows.filter((r) => r.caught).length, byFixed: count('fixed'), byProperty: count('property'), byBoth: count('both') },
    rows,
  };
}

export function killTableMarkdown(table: KillTable): string {
  const t = table.totals;
  const lines = [
    `Kill table (${table.scope === 'full' ? 'every group' : 'groups chosen by the fault\'s area'}, seed ${table.seed}): ` +
      `**${t.caught}/${t.faults} faults caught**: ${t.byFixed} by fixed cases only, ${t.byProperty} by the property layer only, ${t.byBoth} by both.`,
    '',
    '| Fault | Area | Caught by | Failing cases citing the area | Other failing cases |',
    '|---|---|---|---|---|',
  ];
  for (const r of table.rows) {
    const inArea = r.kills.filter((k) => k.inArea).map((k) => k.id).join(', ') || '—';
    const other = r.kills.filter((k) => !k.inArea).map((k) => k.id).join(', ') || '—';
    const by = r.caught ? r.by : '**NOT CAUGHT**';
    lines.push(`| \`${r.fault}\` | ${r.area} | ${by} | ${inArea} | ${other} |`);
  }
  if (table.control.failing.length > 0) {
    lines.push('', `The control run (correct server) had failing cases, not counted as kills: ${table.control.failing.join(', ')}.`);
  }
  return lines.join('\n');
}

export async function writeKillTable(table: KillTable, dir = 'reports'): Promise<string> {
  await mkdir(dir, { recursive: true });
  const markdown = killTableMarkdown(table);
  await writeFile(join(dir, 'kill-table.md'), `${markdown}\n`);
  await writeFile(join(dir, 'kill-table.json'), `${JSON.stringify(table, null, 2)}\n`);
  return markdown;
}

export interface PlanOptions {
  /** Correct-server runs, seeds seed, seed+1, …; the first is the control. */
  controls: number;
  /** Only the groups citing the fault's area (else every group). */
  byArea: boolean;
  /**
   * One run per (fault, group), each on its own server, instead of one run per fault: the groups of
   * a fault then run side by side, so a fault that makes cases wait out their bounds (a stream that
   * never closes) does not hold one long run.
   */
  splitByGroup?: boolean;
  faults?: readonly FaultSpec[];
}

/** Control jobs, then the jobs of every fault. */
export function planJobs(seed: number, plan: PlanOptions): Job[] {
  const allGroups = [...new Set(registeredCases().filter((c) => !c.runsLast).map((c) => c.group))];
  return [
    ...Array.from({ length: plan.controls }, (_, n): Job => ({ kind: 'control', seed: seed + n })),
    ...(plan.faults ?? FAULTS).flatMap((f): Job[] => {
      const groups = plan.byArea ? groupsForArea(f.area) : undefined;
      if (!plan.splitByGroup) return [{ kind: 'fault', fault: f.name, seed, ...(groups ? { groups } : {}) }];
      return (groups ?? allGroups).map((g) => ({ kind: 'fault', fault: f.name, seed, groups: [g] }));
    }),
  ];
}

/** One digest for the runs of one fault (several when split by group). */
export function mergeDigests(runs: RunDigest[]): RunDigest {
  if (runs.length === 1) return runs[0];
  const codes = runs.map((r) => r.exitCode);
  const exitCode = codes.includes(2) ? 2 : codes.includes(1) ? 1 : codes.every((c) => c === 3) ? 3 : 0;
  const job = runs[0].job;
  const groups = runs.flatMap((r) => (r.job.kind === 'fault' ? r.job.groups ?? [] : []));
  const sum = (key: keyof RunResult['summary']) => runs.reduce((n, r) => n + r.summary[key], 0);
  return {
    job: job.kind === 'fault' ? { ...job, groups } : job,
    exitCode,
    seed: runs[0].seed,
    durationMs: runs.reduce((n, r) => n + r.durationMs, 0),
    summary: {
      total: sum('total'), passed: sum('passed'), failed: sum('failed'), errored: sum('errored'), blocked: sum('blocked'), notApplicable: sum('notApplicable'),
      skipped: sum('skipped'), warnings: sum('warnings'), knownFailures: sum('knownFailures'), staleBaseline: sum('staleBaseline'),
    },
    harnessErrors: runs.flatMap((r) => r.harnessErrors),
    // Each run lists every case (unselected ones skipped): keep the one that ran; the response-
    // conformance cases run in every run, and a failure in any of them is the one to keep.
    cases: runs[0].cases.map((c, n) => {
      const ran = runs.map((r) => r.cases[n]).filter((x) => x.outcome !== 'skipped');
      return ran.find((x) => x.outcome === 'failed' || x.outcome === 'errored') ?? ran[0] ?? c;
    }),
  };
}

/** Kill rows for the planned jobs' results; the first control is the one fault runs are compared with. */
export function killRows(results: RunDigest[], faults: readonly FaultSpec[] = FAULTS): { control: RunDigest; controls: RunDigest[]; rows: KillRow[] } {
  const controls = results.filter((r) => r.job.kind === 'control');
  const control = controls[0];
  const byFault = new Map<string, RunDigest[]>();
  for (const r of results) if (r.job.kind === 'fault') byFault.set(r.job.fault, [...(byFault.get(r.job.fault) ?? []), r]);
  const rows = faults.filter((f) => byFault.has(f.name)).map((f) => killRow(f, mergeDigests(byFault.get(f.name) as RunDigest[]), control));
  return { control, controls, rows };
}
