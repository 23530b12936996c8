// npm run torture [-- --quick] [--kills N] [--out FILE]: kill -9 the SQLite server under load,
// restart it, and check that nothing accepted was lost, duplicated or left unfinished.
// Prints the figures and writes them to torture/results.json; exits 1 when any check fails.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { FULL, QUICK, failures, runTorture } from './harness.js';

const program = new Command()
  .name('torture')
  .option('--quick', 'CI size: 3 kills', false)
  .option('--kills <n>', 'number of kill -9s', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
    return n;
  })
  .option('--out <file>', 'where to write the results', fileURLToPath(new URL('./results.json', import.meta.url)));

program.parse();
const opts = program.opts<{ quick: boolean; kills?: number; out: string }>();
const base = opts.quick ? QUICK : FULL;
const results = await runTorture({ ...base, kills: opts.kills ?? base.kills, log: (line) => console.log(`torture: ${line}`) });
writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
const failed = failures(results);
if (failed.length > 0) {
  console.error(`torture: FAILED: ${failed.join('; ')}`);
  process.exit(1);
}
console.log(`torture: OK: ${results.accepted} accepted, ${results.kills} kills, lost 0, double_completed 0, seq_violations 0`);
