// npm run flake-check [-- --runs 20] [--seed N] [--real-time [--stores memory,sqlite] [--no-busy]]
// The kit against the correct reference server, N consecutive runs with different seeds (seed,
// seed+1, …); every run must pass every case. Prints one summary line per run and the failing
// cases with their seed, so a flake can be replayed with `axp-conformance --seed`.
//
// Default: the embedded server (test clock on). --real-time: a separately started server
// (`node dist/reference-server/cli.js`, run `npm run build` first) with only the README's flags
// (no test clock, no private callbacks), once per store, while one busy-looping process per core
// keeps the machine loaded: the kit must be right under any scheduling delay.
// Exit 0 when all runs are clean, 1 otherwise.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runConformance } from '../conformance/index.js';
import type { RunResult } from '../conformance/results.js';
import { runControl } from '../test/helpers/fault-runs.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    seed: { type: 'string' },
    'real-time': { type: 'boolean', default: false },
    stores: { type: 'string', default: 'memory,sqlite' },
    'no-busy': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const base = values.seed === undefined ? randomInt(0, 2 ** 31 - 1 - 1000) : Number(values.seed);
const stores = values.stores.split(',').map((s) => s.trim()).filter(Boolean);
if (!Number.isInteger(runs) || runs < 1 || !Number.isSafeInteger(base) || stores.some((s) => s !== 'memory' && s !== 'sqlite')) {
  console.error('flake-check: --runs must be a positive integer, --seed an integer, --stores a list of memory and sqlite');
  process.exit(2);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Started { url: string; adminKey: string; stop(): Promise<void> }

/** The reference server as a user starts it: the CLI with the README's flags and an admin key. */
async function startServer(store: 'memory' | 'sqlite'): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'axp-flake-'));
  const port = await freePort();
  const adminKey = `adm_${randomBytes(18).toString('base64url')}`;
  const storeArg = store === 'memory' ? 'memory' : `sqlite:${join(dir, 'axp.db')}`;
  const child = spawn(process.execPath, ['dist/reference-server/cli.js', '--port', String(port), '--store', storeArg, '--admin-key', adminKey], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server did not answer /health within 30 s: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    adminKey,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One busy-looping process per core: the load a shared CI machine puts on the kit and the server. */
function startBusy(): ChildProcess[] {
  return Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

interface Plan { label: string; run(seed: number): Promise<RunResult> }

const plans: Array<{ label: string; open(): Promise<{ plan: Plan; close(): Promise<void> }> }> = values['real-time']
  ? stores.map((store) => ({
      label: `a separately started server, ${store} store, real time${values['no-busy'] ? '' : ', both cores kept busy'}`,
      open: async () => {
        const server = await startServer(store as 'memory' | 'sqlite');
        const busy = values['no-busy'] ? [] : startBusy();
        return {
          plan: { label: store, run: (seed) => runConformance({ target: server.url, adminKey: server.adminKey, seed }) },
          close: async () => {
            for (const p of busy) p.kill('SIGKILL');
            await server.stop();
          },
        };
      },
    }))
  : [{ label: 'the correct embedded server', open: async () => ({ plan: { label: 'embedded', run: runControl }, close: async () => undefined }) }];

const flaky: string[] = [];
let total = 0;
for (const target of plans) {
  console.log(`flake-check: ${runs} run(s) against ${target.label}, seeds ${base}..${base + runs - 1}`);
  const { plan, close } = await target.open();
  try {
    for (let n = 0; n < runs; n++) {
      const seed = base + n;
      total++;
      const run = await plan.run(seed);
      const s = run.summary;
      const failing = run.cases.filter((c) => c.outcome === 'failed' || c.outcome === 'errored');
      const clean = failing.length === 0 && run.harnessErrors.length === 0 && run.exitCode === 0;
      console.log(`${plan.label} run ${String(n + 1).padStart(2)}  seed ${seed}  exit ${run.exitCode}  ${s.passed} passed, ${s.failed} failed, ${s.errored} errored, ${s.blocked ?? 0} blocked, ${s.notApplicable} n/a  ${(run.durationMs / 1000).toFixed(1)} s  ${clean ? 'clean' : 'FLAKE'}`);
      for (const c of failing) {
        const line = `${plan.label} ${c.id} (seed ${seed}): ${(c.failure?.message ?? '').split('\n')[0]}`;
        console.log(`    ${line}`);
        flaky.push(line);
      }
      for (const e of run.harnessErrors) console.log(`    harness: ${e.split('\n')[0]}`);
      if (run.harnessErrors.length > 0) flaky.push(`harness error (seed ${seed})`);
    }
  } finally {
    await close();
  }
}
console.log(flaky.length === 0 ? `flake-check: ${total}/${total} runs clean` : `flake-check: ${flaky.length} failure(s) over ${total} runs`);
process.exit(flaky.length === 0 ? 0 : 1);
