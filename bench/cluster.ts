// npm run bench:cluster [-- --quick] [--processes=1,2,3]
// Issue 11: lifecycle throughput of 1, 2 and 3 reference-server processes on one PostgreSQL
// database. Each virtual user runs whole lifecycles (create → poll → resolve), every call on the
// next process round-robin, so every lifecycle crosses processes. Prints a table with the
// machine's core count beside it. PostgreSQL: AXP_BENCH_PG_URL, AXP_TEST_PG_URL, or
// postgres://axp@127.0.0.1:5432/axp; the role must create databases (test/helpers/postgres-server.ts
// starts a throwaway one).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const COUNTS = (argv.find((a) => a.startsWith('--processes='))?.slice('--processes='.length) ?? '1,2,3').split(',').map(Number);
const WARMUP_MS = QUICK ? 1000 : 3000;
const MEASURE_MS = QUICK ? 4000 : 15_000;
const USERS = 48;
const PG_URL = process.env.AXP_BENCH_PG_URL ?? process.env.AXP_TEST_PG_URL ?? 'postgres://axp@127.0.0.1:5432/axp';
const ADMIN_KEY = `axp_admin_bench_${randomBytes(12).toString('base64url')}`;
const CLI = fileURLToPath(new URL('../reference-server/cli.ts', import.meta.url));
const dispatcher = new Agent({ connections: 64, pipelining: 1 });

interface Proc { url: string; child: ChildProcess }

async function startProc(store: string): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--store', store, '--admin-key', ADMIN_KEY, '--max-event-loop-delay', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
  return { url, child };
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((resolve) => p.child.on('exit', resolve));
  p.child.kill('SIGTERM');
  await exited;
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}

async function call(base: string, method: string, path: string, key: string, body?: unknown): Promise<any> {
  const res = await request(`${base}${path}`, {
    method: method as 'GET', dispatcher, headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return JSON.parse(text);
}

async function measure(processes: number): Promise<{ processes: number; lifecycles: number; perSecond: number; p50: number; p99: number }> {
  const name = `axp_bench_${process.pid}_${processes}_${randomBytes(3).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  const procs: Proc[] = [];
  try {
    // One at a time: the first applies the migrations, the others find them applied.
    for (let i = 0; i < processes; i++) procs.push(await startProc(u.toString()));
    const urls = procs.map((p) => p.url);
    let turn = 0;
    const next = () => urls[turn++ % urls.length];
    const sender = (await call(urls[0], 'PUT', '/v1/agents/bench/c/sender', ADMIN_KEY, { delivery: { binding: 'poll' } })).api_key as string;
    const workers = await Promise.all(Array.from({ length: USERS }, async (_v, i) => ({
      address: `agent://bench/c/w${i}`,
      key: (await call(next(), 'PUT', `/v1/agents/bench/c/w${i}`, ADMIN_KEY, { delivery: { binding: 'poll' } })).api_key as string,
    })));
    let counting = false;
    let stop = false;
    const latencies: number[] = [];
    const user = async (w: { address: string; key: string }) => {
      while (!stop) {
        const started = performance.now();
        const created = await call(next(), 'POST', '/v1/intents', sender, { intent_type: 'bench.order.v1', to_agent: w.address, payload: { amount: 4200 } });
        let deliveries: { intent_id: string }[] = [];
        while (deliveries.length === 0) deliveries = (await call(next(), 'GET', `/v1/agents/bench/c/${w.address.split('/').pop()}/intents?wait_seconds=5&limit=1`, w.key)).deliveries;
        await call(next(), 'POST', `/v1/intents/${created.intent_id}/resolve`, w.key, { status: 'COMPLETED', result: { ok: true } });
        if (counting) latencies.push(performance.now() - started);
      }
    };
    const running = workers.map(user);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    counting = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    counting = false;
    const seconds = (performance.now() - t0) / 1000;
    const count = latencies.length;
    stop = true;
    await Promise.all(running);
    latencies.sort((a, b) => a - b);
    const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    return { processes, lifecycles: count, perSecond: Math.round(count / seconds), p50: at(0.5), p99: at(0.99) };
  } finally {
    await Promise.all(procs.map(stopProc));
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  }
}

const rows = [];
for (const n of COUNTS) {
  console.log(`[bench:cluster] ${n} process(es)…`);
  rows.push(await measure(n));
}
await dispatcher.close();
console.log(`\nlifecycle throughput on one PostgreSQL database (create → poll → resolve, ${USERS} users, calls round-robin)`);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}); PostgreSQL, load generator and servers share them\n`);
console.log('processes  lifecycles/s  p50 ms  p99 ms');
for (const r of rows) console.log(`${String(r.processes).padStart(9)}  ${String(r.perSecond).padStart(12)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}`);
