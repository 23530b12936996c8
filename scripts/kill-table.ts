// npm run kill-table [-- --seed N] [--workers 2] [--by-area] [--fault NAME,...]
// Runs the conformance kit against the reference server once per fault mode (faults.ts) and once
// correct (the control run), then writes reports/kill-table.md and .json: for each fault, the cases
// it makes fail, whether they are fixed cases or the property layer, and whether it was caught.
// Default: every group for every fault (the README's table); --by-area runs only the groups whose
// cases cite the fault's area (what CI does). Exit 1 when a fault is not caught.
import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { FAULTS, groupsForArea, killRow, killTable, pool, runKit, writeKillTable } from './fault-runs.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    workers: { type: 'string', default: '2' },
    'by-area': { type: 'boolean', default: false },
    fault: { type: 'string', multiple: true },
    out: { type: 'string', default: 'reports' },
  },
});

const seed = values.seed === undefined ? randomInt(0, 2 ** 31 - 1) : Number(values.seed);
const workers = Number(values.workers);
if (!Number.isSafeInteger(seed) || !Number.isInteger(workers) || workers < 1) {
  console.error('kill-table: --seed must be an integer and --workers a positive integer');
  process.exit(2);
}
const wanted = (values.fault ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
const unknown = wanted.filter((name) => !FAULTS.some((f) => f.name === name));
if (unknown.length > 0) {
  console.error(`kill-table: unknown fault ${unknown.join(', ')}`);
  process.exit(2);
}
const faults = FAULTS.filter((f) => wanted.length === 0 || wanted.includes(f.name));
const byArea = values['by-area'] ?? false;

const started = Date.now();
console.log(`kill-table: ${faults.length} fault(s), seed ${seed}, ${workers} at once, ${byArea ? 'groups by area' : 'every group'}`);
type Job = { kind: 'control' } | { kind: 'fault'; index: number };
const jobs: Job[] = [{ kind: 'control' }, ...faults.map((_, index) => ({ kind: 'fault' as const, index }))];
const results = await pool(jobs, workers, async (job) => {
  if (job.kind === 'control') {
    const run = await runKit([], { seed });
    console.log(`  control (correct server): exit ${run.exitCode}, ${run.summary.passed} passed, ${run.summary.failed + run.summary.errored} failing, ${(run.durationMs / 1000).toFixed(1)} s`);
    return run;
  }
  const fault = faults[job.index];
  const groups = byArea ? groupsForArea(fault.area) : undefined;
  const run = await runKit([fault.name], { seed, groups });
  console.log(`  ${fault.name}: exit ${run.exitCode}, ${run.summary.failed + run.summary.errored} failing, ${(run.durationMs / 1000).toFixed(1)} s`);
  return run;
});
const [control, ...runs] = results;
const rows = runs.map((run, index) => killRow(faults[index], run, control, byArea ? groupsForArea(faults[index].area) : 'all'));
const table = killTable(rows, control, byArea ? 'by-area' : 'full');
const markdown = await writeKillTable(table, values.out);
console.log(`\n${markdown}\n\nwritten to ${values.out}/kill-table.md and .json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(table.totals.caught === table.totals.faults ? 0 : 1);
