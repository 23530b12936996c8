// One shard of fault-runs.ts's runJobs: reads a JSON list of jobs on stdin, runs them
// (`workers` at once, argv[2]), logs one line per finished run on stderr and writes the run
// digests, in job order, as JSON on stdout.
import { failingIds, jobLabel, pool, runJob, type Job } from './fault-runs.js';

const workers = Number(process.argv[2] ?? 2);
let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const jobs = JSON.parse(input) as Job[];

const digests = await pool(jobs, Number.isInteger(workers) && workers > 0 ? workers : 2, async (job) => {
  const run = await runJob(job);
  const failing = failingIds(run);
  process.stderr.write(`  ${jobLabel(job)}: exit ${run.exitCode}, ${run.summary.passed} passed, ${failing.length} failing, ${(run.durationMs / 1000).toFixed(1)} s\n`);
  return run;
});
process.stdout.write(JSON.stringify(digests), () => process.exit(0));
