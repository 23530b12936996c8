// npm run flake-check [-- --runs 20] [--seed N]
// The kit against the correct embedded reference server, N consecutive runs with different seeds
// (seed, seed+1, …); every run must pass every case. Prints one summary line per run and the
// failing cases with their seed, so a flake can be replayed with `axp-conformance --seed`.
// Exit 0 when all runs are clean, 1 otherwise.
import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { runControl } from '../test/helpers/fault-runs.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, seed: { type: 'string' } } });
const runs = Number(values.runs);
const base = values.seed === undefined ? randomInt(0, 2 ** 31 - 1 - 1000) : Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || !Number.isSafeInteger(base)) {
  console.error('flake-check: --runs must be a positive integer and --seed an integer');
  process.exit(2);
}

console.log(`flake-check: ${runs} run(s) against the correct embedded server, seeds ${base}..${base + runs - 1}`);
const flaky: string[] = [];
for (let n = 0; n < runs; n++) {
  const seed = base + n;
  const run = await runControl(seed);
  const s = run.summary;
  const failing = run.cases.filter((c) => c.outcome === 'failed' || c.outcome === 'errored');
  const clean = failing.length === 0 && run.harnessErrors.length === 0 && run.exitCode === 0;
  console.log(`run ${String(n + 1).padStart(2)}  seed ${seed}  exit ${run.exitCode}  ${s.passed} passed, ${s.failed} failed, ${s.errored} errored, ${s.notApplicable} n/a  ${(run.durationMs / 1000).toFixed(1)} s  ${clean ? 'clean' : 'FLAKE'}`);
  for (const c of failing) {
    const line = `${c.id} (seed ${seed}): ${(c.failure?.message ?? '').split('\n')[0]}`;
    console.log(`    ${line}`);
    flaky.push(line);
  }
  for (const e of run.harnessErrors) console.log(`    harness: ${e.split('\n')[0]}`);
  if (run.harnessErrors.length > 0) flaky.push(`harness error (seed ${seed})`);
}
console.log(flaky.length === 0 ? `flake-check: ${runs}/${runs} runs clean` : `flake-check: ${flaky.length} failure(s) over ${runs} runs`);
process.exit(flaky.length === 0 ? 0 : 1);
