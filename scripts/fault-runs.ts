// Issue 7: the kit against fault-injected reference servers. Shared by the CI test
// (test/kit-faults.test.ts, groups chosen by the fault's area) and `npm run kill-table` (every
// group). A fault counts as caught when, against the faulted server, a case fails that passed
// against the correct server with the same seed (the control run) and that case cites a
// requirement of the fault's area.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildServer } from '../reference-server/index.js';
import { ALLOW_FAULTS_ENV, FAULTS, type FaultSpec } from '../reference-server/faults.js';
import { registeredCases, runConformance, type CaseResult, type ConformanceCase, type RunResult } from '../conformance/index.js';

export const PROPERTY_GROUP = 'PROP';

export interface KitRunOptions {
  seed: number;
  /** Case groups to run (`SSE` → `--only SSE-*`); undefined = every group. */
  groups?: string[];
}

/**
 * Boots the reference server in this process as the embedded kit would (memory store, test clock,
 * private callbacks allowed, short keepalives), with the given faults, and runs the kit against it
 * as a remote target. The overload guard's event-loop check is off: kit and server share one event
 * loop here, so the kit's own work would otherwise trip it on a busy machine.
 */
export async function runKit(faults: readonly string[], options: KitRunOptions): Promise<RunResult> {
  const adminKey = `adm_${randomBytes(18).toString('base64url')}`;
  // The variable is set only while buildServer checks it (its first, synchronous statement), so
  // nothing else in this process ever sees faults allowed.
  const saved = process.env[ALLOW_FAULTS_ENV];
  if (faults.length > 0) process.env[ALLOW_FAULTS_ENV] = '1';
  let building: ReturnType<typeof buildServer>;
  try {
    building = buildServer({
      store: 'memory', adminKey, testClock: true, allowPrivateCallbacks: true, keepaliveSeconds: 2, logger: false,
      pressure: { maxEventLoopDelayMs: 0 }, faults: [...faults],
    });
  } finally {
    if (saved === undefined) delete process.env[ALLOW_FAULTS_ENV];
    else process.env[ALLOW_FAULTS_ENV] = saved;
  }
  const app = await building;
  try {
    const target = await app.listen({ host: '127.0.0.1', port: 0 });
    return await runConformance({ target, adminKey, seed: options.seed, only: options.groups?.map((g) => `${g}-*`) });
  } finally {
    await app.close();
  }
}

const areaOf = (requirement: string): string => requirement.slice(0, requirement.lastIndexOf('-'));

export function citesArea(c: Pick<ConformanceCase, 'requirements'>, area: string): boolean {
  return c.requirements.some((r) => areaOf(r) === area);
}

/** The groups with at least one case citing a requirement of the area (selection by area, never by case). */
export function groupsForArea(area: string, cases: readonly ConformanceCase[] = registeredCases()): string[] {
  return [...new Set(cases.filter((c) => citesArea(c, area)).map((c) => c.group))];
}

const failing = (r: CaseResult) => r.outcome === 'failed' || r.outcome === 'errored';

export interface Kill {
  id: string;
  level: string;
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
export function killRow(fault: FaultSpec, run: RunResult, control: RunResult, groups: string[] | 'all'): KillRow {
  const passedInControl = new Set(control.cases.filter((c) => c.outcome === 'passed').map((c) => c.id));
  const kills = run.cases
    .filter((c) => failing(c) && passedInControl.has(c.id))
    .map((c) => ({ id: c.id, level: c.level, inArea: citesArea(c, fault.area), message: (c.failure?.message ?? '').split('\n')[0].slice(0, 200) }))
    .sort((a, b) => Number(b.inArea) - Number(a.inArea));
  const inArea = kills.filter((k) => k.inArea);
  const fixed = inArea.some((k) => !k.id.startsWith(`${PROPERTY_GROUP}-`));
  const property = inArea.some((k) => k.id.startsWith(`${PROPERTY_GROUP}-`));
  return {
    fault: fault.name, area: fault.area, description: fault.description, groups, exitCode: run.exitCode, seed: run.seed,
    durationMs: run.durationMs, kills, caught: run.exitCode === 1 && inArea.length > 0,
    by: fixed && property ? 'both' : fixed ? 'fixed' : property ? 'property' : 'none',
  };
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

export interface KillTable {
  generatedAt: string;
  scope: 'by-area' | 'full';
  seed: number;
  control: { exitCode: number; failing: string[]; summary: RunResult['summary'] };
  totals: { faults: number; caught: number; byFixed: number; byProperty: number; byBoth: number };
  rows: KillRow[];
}

export function killTable(rows: KillRow[], control: RunResult, scope: KillTable['scope']): KillTable {
  const count = (by: KillRow['by']) => rows.filter((r) => r.caught && r.by === by).length;
  return {
    generatedAt: new Date().toISOString(),
    scope,
    seed: control.seed,
    control: { exitCode: control.exitCode, failing: control.cases.filter(failing).map((c) => c.id), summary: control.summary },
    totals: { faults: rows.length, caught: rows.filter((r) => r.caught).length, byFixed: count('fixed'), byProperty: count('property'), byBoth: count('both') },
    rows,
  };
}

export function killTableMarkdown(table: KillTable): string {
  const t = table.totals;
  const lines = [
    `Kill table (${table.scope === 'full' ? 'every group' : 'groups chosen by the fault\'s area'}, seed ${table.seed}): ` +
      `**${t.caught}/${t.faults} faults caught** — ${t.byFixed} by fixed cases only, ${t.byProperty} by the property layer only, ${t.byBoth} by both.`,
    '',
    '| Fault | Area | Caught by | Failing cases (in the fault\'s area) | Other failing cases |',
    '|---|---|---|---|---|',
  ];
  for (const r of table.rows) {
    const inArea = r.kills.filter((k) => k.inArea).map((k) => k.id).join(', ') || '—';
    const other = r.kills.filter((k) => !k.inArea).map((k) => k.id).join(', ') || '—';
    const by = r.caught ? ({ fixed: 'fixed', property: 'property', both: 'both', none: '—' } as const)[r.by] : '**NOT CAUGHT**';
    lines.push(`| \`${r.fault}\` | ${r.area} | ${by} | ${inArea} | ${other} |`);
  }
  if (table.control.failing.length > 0) {
    lines.push('', `Control run (correct server) had failing cases, not counted as kills: ${table.control.failing.join(', ')}.`);
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

export { FAULTS };
