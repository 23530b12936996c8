// npm run kill-table [-- --seed N] [--shards 2] [--workers 3] [--by-area] [--fault NAME,...] [--out reports]
// Runs the conformance kit against the reference server once per fault mode (reference-server-
// faults/) and once correct (the control run), then writes <out>/kill-table.md and .json: for each
// fault, the cases it makes fail, whether they are fixed cases or the property layer (PROP-*), and
// whether it was caught. Default: every group for every fault (the README's table); --by-area runs
// only the groups whose cases cite the fault's area (what CI does). Exit 1 when a fault is missed.
import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { FAULTS } from '../reference-server-faults/index.js';
import { killRows, killTable, planJobs, runJobs, writeKillTable } from '../test/helpers/fault-runs.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    shards: { type: 'string', default: '2' },
    workers: { type: 'string', default: '3' },
    'by-area': { type: 'boolean', default: false },
    fault: { type: 'string', multiple: true },
    out: { type: 'string', default: 'reports' },
  },
});

function usage(message: string): never {
  console.error(`kill-table: ${message}`);
  process.exit(2);
}

const seed = values.seed === undefined ? randomInt(0, 2 ** 31 - 1) : Number(values.seed);
const shards = Number(values.shards);
const workers = Number(values.workers);
if (!Number.isSafeInteger(seed)) usage('--seed must be an integer');
if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(workers) || workers < 1) usage('--shards and --workers must be positive integers');
const wanted = (values.fault ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
const unknown = wanted.filter((name) => !FAULTS.some((f) => f.name === name));
if (unknown.length > 0) usage(`unknown fault ${unknown.join(', ')}`);
const faults = FAULTS.filter((f) => wanted.length === 0 || wanted.includes(f.name));
const byArea = values['by-area'] ?? false;

const started = Date.now();
console.log(`kill-table: ${faults.length} fault(s), seed ${seed}, ${byArea ? 'groups by area' : 'every group'}, ${shards} process(es) × ${workers} runs at once`);
const results = await runJobs(planJobs(seed, { controls: 1, byArea, faults }), { shards, workers, log: (line) => console.log(line) });
const { control, rows } = killRows(results, faults);
const table = killTable(rows, control, byArea ? 'by-area' : 'full');
const markdown = await writeKillTable(table, values.out);
console.log(`\n${markdown}\n\nwritten to ${values.out}/kill-table.md and .json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(table.totals.caught === table.totals.faults ? 0 : 1);
