// npm run torture [-- --quick] [--kills N] [--out FILE] [--store sqlite|postgres] [--processes N] [--pg-url URL]:
// kill -9 the server under load, restart it, and check that nothing accepted was lost, duplicated
// or left unfinished. --store postgres: N processes (default 3) on one PostgreSQL database, a
// random one killed each time; without --pg-url or AXP_TEST_PG_URL a PostgreSQL is started for the run.
// Prints the figures and writes them to torture/results.json; exits 1 when any check fails.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { FULL, POSTGRES_FULL, POSTGRES_QUICK, QUICK, failures, runTorture } from './harness.js';

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
};
const program = new Command()
  .name('torture')
  .option('--quick', 'CI size: 3 kills', false)
  .option('--kills <n>', 'number of kill -9s', positive)
  .option('--store <store>', 'sqlite (one process) or postgres (several processes on one database)', (v) => {
    if (v !== 'sqlite' && v !== 'postgres') throw new InvalidArgumentError('sqlite or postgres');
    return v;
  }, 'sqlite')
  .option('--processes <n>', 'postgres: server processes on the database', positive)
  .option('--pg-url <url>', 'postgres: a server whose role may create databases (default AXP_TEST_PG_URL, else one is started)')
  .option('--out <file>', 'where to write the results', fileURLToPath(new URL('./results.json', import.meta.url)));

program.parse();
const opts = program.opts<{ quick: boolean; kills?: number; out: string; store: 'sqlite' | 'postgres'; processes?: number; pgUrl?: string }>();
const began = Date.now();
const base = opts.store === 'postgres' ? (opts.quick ? POSTGRES_QUICK : POSTGRES_FULL) : (opts.quick ? QUICK : FULL);
const results = await runTorture({
  ...base, kills: opts.kills ?? base.kills, processes: opts.processes ?? base.processes, pgUrl: opts.pgUrl,
  log: (line) => console.log(`torture: [${((Date.now() - began) / 1000).toFixed(1)} s] ${line}`),
});
writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
const failed = failures(results);
if (failed.length > 0) {
  console.error(`torture: FAILED: ${failed.join('; ')}`);
  process.exit(1);
}
const takenOver = results.timers_of_killed === undefined ? '' : `, ${results.timers_of_killed} timers of killed processes fired or cancelled by the others (left 0)`;
console.log(`torture: OK (${results.store}, ${results.processes} process(es)): ${results.accepted} accepted, ${results.kills} kills, lost 0, double_completed 0, seq_violations 0${takenOver}`);
