// npm run bench:cluster [-- --quick] [--processes=1,2,3] [--rounds=N] [--loads=50] [--profile]
// Lifecycle throughput of 1, 2 and 3 reference-server processes on one PostgreSQL database,
// measured like `npm run bench`: the built dist/, bare Fastify's bound in the same run (bound,
// stream, bound, poll, bound), agents and senders in their own processes, every call spread over
// the server processes round robin as a load balancer without stickiness would (an agent's stream
// stays on one process; the agents are spread). Per process count: lifecycles/s and the ratio to
// bound/3, the store's round trips and statements per lifecycle, server and PostgreSQL CPU per
// lifecycle (PostgreSQL's from /proc: the postmaster and its children), and send → delivery
// latency at a share of the measured maximum. Writes bench/cluster-results.json.
// PostgreSQL: AXP_BENCH_PG_URL or AXP_TEST_PG_URL (a role that may create databases), else one
// started for the run from the npm-packaged binaries with fsync and synchronous_commit on (the
// durability the SQLite figures have: synchronous=FULL).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { request } from 'undici';
import { call, registerAgent } from './admin.js';
import { ServerProc, WorkerProc, runWorkers, type Memory } from './procs.js';
import { printProfiles } from './profile-top.js';
import { distribution, round, table, type Distribution } from './stats.js';
import type { AgentKey, WorkerResult } from './protocol.js';
import { postgresForRun } from '../torture/postgres.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const COUNTS = (flag('processes') ?? '1,2,3').split(',').map(Number);
const ROUNDS = Number(flag('rounds') ?? 1);
const LOADS = (flag('loads') ?? '50').split(',').map(Number);
/** --profile: a .cpuprofile per server process, its top frames printed at the end. */
const PROFILE = argv.includes('--profile');
const TR = QUICK ? { warmupMs: 1000, measureMs: 3000 } : { warmupMs: 2000, measureMs: 7000 };
const TB = QUICK ? { warmupMs: 500, measureMs: 2000 } : { warmupMs: 1500, measureMs: 4000 };
const WINDOW = 256;
const CONNECTIONS = 32;
const AGENTS = 4;
const PAYLOAD = { order_id: 'ord-000123', customer: 'cus-8812', amount: 4200, currency: 'EUR', items: [{ sku: 'sku-1', qty: 2 }, { sku: 'sku-7', qty: 1 }] };
const CREATE_BODY = JSON.stringify({ intent_type: 'bench.order.v1', to_agent: 'agent://bench/x/a0', payload: PAYLOAD });
const ADMIN_KEY = `axp_admin_bench_${randomBytes(12).toString('base64url')}`;
const RUN = randomBytes(4).toString('hex');
/** The durability the SQLite store's figures have (synchronous=FULL): every COMMIT is on disk. */
const DURABLE = { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' };
const HERE = fileURLToPath(new URL('.', import.meta.url));
const PROFILES = `${HERE}cluster-profiles`;
const log = (line: string) => console.log(`[bench:cluster] ${line}`);
let serial = 0;

execFileSync('npm', ['run', '--silent', 'build'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit' });

async function agents(urls: string[], binding: string): Promise<AgentKey[]> {
  const run = `${RUN}-r${++serial}`;
  return Promise.all(Array.from({ length: AGENTS }, (_, i) => registerAgent(urls[i % urls.length], ADMIN_KEY, `agent://bench/${run}/a${i}`, binding)));
}

/** Cancels what a phase left open, so its leases do not expire inside a later window (as bench/run.ts does). */
async function settle(base: string, sender: AgentKey): Promise<void> {
  const open = 'CREATED,SUBMITTED,DELIVERED,ACKNOWLEDGED,IN_PROGRESS,WAITING';
  for (let r = 0; r < 20; r++) {
    const res = await request(`${base}/v1/intents?role=sender&status=${open}&limit=500`, { headers: { 'x-api-key': sender.key } });
    const ids = (JSON.parse(await res.body.text()) as { intents?: { intent_id: string }[] }).intents?.map((i) => i.intent_id) ?? [];
    if (ids.length === 0) return;
    for (let i = 0; i < ids.length; i += 32) await Promise.all(ids.slice(i, i + 32).map((id) => call(base, 'POST', `/v1/intents/${id}/cancel`, sender.key, {})));
  }
}

// ------------------------------------------------------------ PostgreSQL's CPU, from /proc

const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function procStat(pid: number): { ppid: number; cpuTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state ppid … utime(14) stime(15).
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** The postmaster of the server a connection reaches (undefined when it is not on this machine). */
async function postmasterOf(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return procStat(rows[0].pid)?.ppid;
  } finally {
    await client.end();
  }
}

/** CPU ms of the postmaster and every process it started (backends, WAL writer, checkpointer …). */
function postgresCpuMs(postmaster: number | undefined): number {
  if (postmaster === undefined) return NaN;
  let ticks = procStat(postmaster)?.cpuTicks ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.ppid === postmaster) ticks += stat.cpuTicks;
  }
  return (ticks * 1000) / TICKS_PER_S;
}

// ------------------------------------------------------------ phases

interface Bound { rps: number }
interface PerLifecycle { round_trips: number; statements: number; commits: number; units: number; replays: number; read_wait_ms: number; commit_wait_ms: number; server_cpu_ms: number; postgres_cpu_ms: number; wal_bytes: number }
interface Lifecycle { rps: number; errors: number; per_lifecycle: PerLifecycle; server_cpu_pct: number; postgres_cpu_pct: number; senders_cpu_pct: number; agents_cpu_pct: number }

let responseBytes = 700;

async function measureBound(): Promise<Bound> {
  const bare = await ServerProc.start(['bare', String(responseBytes)]);
  try {
    const [r] = await runWorkers([WorkerProc.start({ role: 'bound', url: bare.url, body: CREATE_BODY, connections: CONNECTIONS })], TB.warmupMs, TB.measureMs);
    const rps = r.seconds > 0 ? r.count / r.seconds : 0;
    log(`  bound: ${round(rps)} requests/s`);
    return { rps };
  } finally {
    await bare.stop();
  }
}

const sum = (samples: Memory[], pick: (m: Memory) => number) => samples.reduce((n, m) => n + pick(m), 0);

/** The server's WAL position, bytes (what a lifecycle writes to disk and to replicas). */
async function walBytes(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ b: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS b");
    return Number(rows[0].b);
  } finally {
    await client.end();
  }
}

async function lifecycle(servers: ServerProc[], urls: string[], binding: 'stream' | 'poll', sender: AgentKey, postmaster: number | undefined, dbUrl: string): Promise<Lifecycle> {
  const receivers = await agents(urls, binding);
  const send = WorkerProc.start({ role: 'sender', url: urls[0], urls, key: sender.key, agents: receivers.map((a) => a.address), body: CREATE_BODY, connections: CONNECTIONS, window: WINDOW, record: false, observeEvery: 0 });
  const agent = WorkerProc.start({ role: 'agent', url: urls[0], urls, binding, agents: receivers, pollersPerAgent: 2, connections: CONNECTIONS, record: false });
  agent.onCredit((n) => send.send({ type: 'credit', n }));
  const before = await Promise.all(servers.map((s) => s.memory()));
  const pgBefore = postgresCpuMs(postmaster);
  const walBefore = await walBytes(dbUrl);
  const results = await runWorkers([send, agent], TR.warmupMs, TR.measureMs);
  const pgAfter = postgresCpuMs(postmaster);
  const walAfter = await walBytes(dbUrl);
  const after = await Promise.all(servers.map((s) => s.memory()));
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const first = results.find((r) => r.firstError)?.firstError;
  if (first) log(`  ${binding}: ${errors} errors, first: ${first}`);
  await settle(urls[0], sender);
  const rps = results[1].seconds > 0 ? results[1].count / results[1].seconds : 0;
  // As bench/run.ts: the counters cover warm-up + window, the lifecycles too (rate × that time).
  const wall = TR.warmupMs + TR.measureMs;
  const lifecycles = (rps * wall) / 1000;
  const delta = (pick: (m: Memory) => number) => sum(after, pick) - sum(before, pick);
  const per = (d: number) => round(d / lifecycles, 3);
  const serverCpu = delta((m) => m.cpuMs);
  return {
    rps, errors,
    per_lifecycle: {
      round_trips: per(delta((m) => m.pg?.roundTrips ?? 0)), statements: per(delta((m) => m.pg?.statements ?? 0)),
      commits: per(delta((m) => m.pg?.commits ?? 0)), units: per(delta((m) => m.pg?.units ?? 0)), replays: per(delta((m) => m.pg?.replays ?? 0)),
      read_wait_ms: per(delta((m) => m.pg?.readWaitMs ?? 0)), commit_wait_ms: per(delta((m) => m.pg?.commitWaitMs ?? 0)),
      server_cpu_ms: per(serverCpu), postgres_cpu_ms: per(pgAfter - pgBefore), wal_bytes: round((walAfter - walBefore) / lifecycles),
    },
    server_cpu_pct: round((100 * serverCpu) / wall), postgres_cpu_pct: round((100 * (pgAfter - pgBefore)) / wall),
    // The workers count their CPU from their start to the end of the window (warm-up included, as the rest here).
    senders_cpu_pct: round((100 * (results[0].cpuMs ?? NaN)) / wall), agents_cpu_pct: round((100 * (results[1].cpuMs ?? NaN)) / wall),
  };
}

interface LatencyPoint { load_pct: number; offered_rps: number; achieved_rps: number; delivery_ms: Distribution; errors: number }

/** Open loop at a share of the measured maximum: send accepted → delivery frame at a stream agent. */
async function latency(urls: string[], sender: AgentKey, maxRps: number, loadPct: number): Promise<LatencyPoint> {
  const receivers = await agents(urls, 'stream');
  const rate = (maxRps * loadPct) / 100;
  const send = WorkerProc.start({ role: 'sender', url: urls[0], urls, key: sender.key, agents: receivers.map((a) => a.address), body: CREATE_BODY, connections: CONNECTIONS, rate, record: true, observeEvery: 0 });
  const agent = WorkerProc.start({ role: 'agent', url: urls[0], urls, binding: 'stream', agents: receivers, pollersPerAgent: 1, connections: CONNECTIONS, record: true });
  const [sent, got] = await runWorkers([send, agent], TR.warmupMs, TR.measureMs);
  await settle(urls[0], sender);
  const deltas: number[] = [];
  for (const [id, acceptedAt] of Object.entries(sent.times ?? {})) {
    const deliveredAt = got.times?.[id];
    if (deliveredAt !== undefined) deltas.push(Math.max(0, deliveredAt - acceptedAt));
  }
  const errors = sent.errors + got.errors;
  if (sent.firstError || got.firstError) log(`  latency: ${errors} errors, first: ${sent.firstError ?? got.firstError}`);
  return { load_pct: loadPct, offered_rps: round(rate), achieved_rps: round(sent.seconds > 0 ? sent.count / sent.seconds : 0), delivery_ms: distribution(deltas), errors };
}

// ------------------------------------------------------------ main

interface Row {
  processes: number;
  bounds_rps: number[];
  stream: Lifecycle;
  poll: Lifecycle;
  stream_ratio: number;
  poll_ratio: number;
  lifecycle_postgres_rps: number;
  lifecycle_postgres_ratio: number;
  latency: LatencyPoint[];
}

const started = Date.now();
if (PROFILE) { rmSync(PROFILES, { recursive: true, force: true }); mkdirSync(PROFILES, { recursive: true }); }
const postgres = await postgresForRun(process.env.AXP_BENCH_PG_URL, log, { settings: DURABLE });
const rows: Row[] = [];
const allBounds: number[] = [];
let version = '';
try {
  const postmaster = await postmasterOf(postgres.url).catch(() => undefined);
  {
    const c = new pg.Client({ connectionString: postgres.url });
    c.on('error', () => {});
    await c.connect();
    version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
    const settings = await c.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')");
    log(`PostgreSQL ${version}: ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')}${postmaster === undefined ? '; its CPU is not on this machine' : ''}`);
    await c.end();
  }
  let nextBound: Bound | undefined;
  for (const n of COUNTS) {
    for (let r = 1; r <= ROUNDS; r++) {
      log(`${n} process(es), round ${r}/${ROUNDS} …`);
      const database = await postgres.createDatabase();
      const servers: ServerProc[] = [];
      try {
        // One at a time: the first applies the migrations, the others find them applied.
        for (let i = 0; i < n; i++) servers.push(await ServerProc.start(['axp', database.url, ADMIN_KEY], PROFILE ? { dir: PROFILES, name: `p${n}-r${r}-s${i + 1}` } : undefined));
        const urls = servers.map((s) => s.url);
        const sender = await registerAgent(urls[0], ADMIN_KEY, `agent://bench/senders/${RUN}-s${++serial}`, 'poll');
        responseBytes = (await call(urls[0], 'POST', '/v1/intents', sender.key, JSON.parse(CREATE_BODY))).text.length;
        const bounds = [nextBound ?? await measureBound()];
        const byBinding: Partial<Record<'stream' | 'poll', Lifecycle>> = {};
        const ratios: Record<string, number> = {};
        for (const binding of ['stream', 'poll'] as const) {
          const result = await lifecycle(servers, urls, binding, sender, postmaster, database.url);
          byBinding[binding] = result;
          log(`  ${binding}: ${round(result.rps)} lifecycles/s; per lifecycle ${JSON.stringify(result.per_lifecycle)}; CPU % of a core: server ${result.server_cpu_pct}, PostgreSQL ${result.postgres_cpu_pct}, senders ${result.senders_cpu_pct}, agents ${result.agents_cpu_pct}`);
          bounds.push(await measureBound());
          const around = (bounds[bounds.length - 2].rps + bounds[bounds.length - 1].rps) / 2;
          ratios[binding] = result.rps / (around / 3);
        }
        nextBound = bounds[bounds.length - 1];
        allBounds.push(...bounds.map((b) => b.rps));
        const stream = byBinding.stream!;
        const poll = byBinding.poll!;
        const points: LatencyPoint[] = [];
        for (const pct of LOADS) {
          const point = await latency(urls, sender, stream.rps, pct);
          log(`  latency at ${pct} % (${point.offered_rps}/s): delivery p50 ${point.delivery_ms.p50}, p99 ${point.delivery_ms.p99} ms`);
          points.push(point);
        }
        const best = stream.rps >= poll.rps ? 'stream' : 'poll';
        rows.push({
          processes: n, bounds_rps: bounds.map((b) => round(b.rps)), stream, poll,
          stream_ratio: round(ratios.stream, 3), poll_ratio: round(ratios.poll, 3),
          lifecycle_postgres_rps: round(Math.max(stream.rps, poll.rps)), lifecycle_postgres_ratio: round(ratios[best], 3), latency: points,
        });
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
        await database.drop().catch((error: unknown) => log(`dropping the database failed: ${(error as Error).message}`));
      }
    }
  }
} finally {
  await postgres.stop();
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const byCount = (pick: (r: Row) => number) => Object.fromEntries(COUNTS.map((n) => [String(n), round(mean(rows.filter((r) => r.processes === n).map(pick)), 3)]));
const one = rows.filter((r) => r.processes === 1);
const half = one.flatMap((r) => r.latency.filter((p) => p.load_pct === 50));
const results = {
  generated_at: new Date().toISOString(), mode: QUICK ? 'quick' : 'full',
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version, loadavg_start_end: loadavg().map((x) => round(x, 2)) },
  postgres: { version, started_for_run: postgres.started, settings: postgres.started ? DURABLE : 'as configured' },
  params: { rounds: ROUNDS, round_warmup_ms: TR.warmupMs, round_measure_ms: TR.measureMs, bound_warmup_ms: TB.warmupMs, bound_measure_ms: TB.measureMs, window: WINDOW, connections_per_worker: CONNECTIONS, receiving_agents: AGENTS, loads: LOADS },
  bound_rps: round(mean(allBounds)),
  lifecycle_postgres_rps: byCount((r) => r.lifecycle_postgres_rps),
  lifecycle_postgres_ratio: byCount((r) => r.lifecycle_postgres_ratio),
  round_trips_per_lifecycle: byCount((r) => (r.stream.rps >= r.poll.rps ? r.stream : r.poll).per_lifecycle.round_trips),
  statements_per_lifecycle: byCount((r) => (r.stream.rps >= r.poll.rps ? r.stream : r.poll).per_lifecycle.statements),
  postgres_cpu_ms_per_lifecycle: byCount((r) => (r.stream.rps >= r.poll.rps ? r.stream : r.poll).per_lifecycle.postgres_cpu_ms),
  wal_bytes_per_lifecycle: byCount((r) => (r.stream.rps >= r.poll.rps ? r.stream : r.poll).per_lifecycle.wal_bytes),
  p99_delivery_ms_1_process_50pct: half.length ? round(mean(half.map((p) => p.delivery_ms.p99)), 2) : null,
  by_processes: rows,
  targets: {
    lifecycle_postgres_ratio_1: { target: '>= 0.15', met: one.length > 0 && mean(one.map((r) => r.lifecycle_postgres_ratio)) >= 0.15 },
    p99_delivery_ms_1_process_50pct: { target: '< 25', met: half.length > 0 && mean(half.map((p) => p.delivery_ms.p99)) < 25 },
  },
  seconds: round((Date.now() - started) / 1000, 1),
};
writeFileSync(`${HERE}cluster-results.json`, `${JSON.stringify(results, null, 2)}\n`);

console.log(`\n${table([
  ['processes', 'bounds (req/s)', 'stream / poll (lifecycles/s)', 'ratio', 'round trips / statements per lc', 'server / PG CPU ms per lc', 'p50 / p99 delivery at 50 %'],
  ...rows.map((r) => {
    const best = r.stream.rps >= r.poll.rps ? r.stream : r.poll;
    const p = r.latency.find((x) => x.load_pct === 50);
    return [String(r.processes), r.bounds_rps.join(', '), `${round(r.stream.rps)} / ${round(r.poll.rps)}`, String(r.lifecycle_postgres_ratio),
      `${best.per_lifecycle.round_trips} / ${best.per_lifecycle.statements}`, `${best.per_lifecycle.server_cpu_ms} / ${best.per_lifecycle.postgres_cpu_ms}`,
      p ? `${p.delivery_ms.p50} / ${p.delivery_ms.p99}` : '—'];
  }),
])}\n\nmachine: ${cpus().length} cores; PostgreSQL ${version}, the servers and the load generators share them. Written bench/cluster-results.json in ${results.seconds} s.`);
if (PROFILE) printProfiles(PROFILES, 40);
process.exit(0);
