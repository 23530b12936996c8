// A server under test, in its own process: the reference server (memory or SQLite store) or the
// bare Fastify baseline. Listens on 127.0.0.1 only; talks to the bench over IPC.
//   argv: axp <store-spec> <admin-key>  |  bare <response-bytes>
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import Fastify, { type FastifyInstance } from 'fastify';
import type * as ReferenceServer from '../reference-server/index.js';
import type { PostgresCounts, ToServer } from './protocol.js';

const [mode, arg1, arg2] = process.argv.slice(2);

async function bare(responseBytes: number): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  // The same work as one API call minus the protocol: parse a JSON body, answer a JSON body of the
  // size the reference server answers a create with.
  const pad = 'x'.repeat(Math.max(0, responseBytes - 64));
  app.post('/echo', async (req) => ({ ok: true, received: typeof req.body === 'object', pad }));
  return app;
}

// The server as it ships: the build in dist/ (bench/run.ts builds it first; procs.ts names it).
const entry = process.env.BENCH_DIST_ENTRY ?? new URL('../dist/reference-server/index.js', import.meta.url).href;
const { buildServer } = (await import(entry)) as typeof ReferenceServer;
const app = mode === 'bare' ? await bare(Number(arg1)) : await buildServer({ store: arg1, adminKey: arg2, logger: false });
const url = await app.listen({ port: 0, host: '127.0.0.1' });

// Store work counters (deterministic, unlike CPU time on a shared machine): write units and, for
// SQLite, group COMMITs, read back with every memory sample.
const counts = { units: 0, commits: 0 };
if (mode !== 'bare') {
  const store = app.axp.store as unknown as { kind: string; write: (fn: unknown, options?: unknown) => Promise<unknown>; commit?: () => void };
  const write = store.write.bind(store);
  store.write = (fn, options) => { counts.units += 1; return write(fn, options); };
  // SQLite's group COMMITs (the PostgreSQL store counts its own, in stats).
  const commit = store.commit?.bind(store);
  if (commit && store.kind === 'sqlite') store.commit = () => { counts.commits += 1; commit(); };
}

// Where a latency tail comes from: event-loop stalls and GC pauses since the previous sample.
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const pauses = { count: 0, totalMs: 0, maxMs: 0 };
/** The forced GCs of a memory sample are not the server's own pauses. */
let countFrom = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.startTime < countFrom) continue; pauses.count += 1; pauses.totalMs += e.duration; pauses.maxMs = Math.max(pauses.maxMs, e.duration); }
}).observe({ entryTypes: ['gc'] });
function stalls() {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const out = { loop_p99_ms: ms(loop.percentile(99)), loop_max_ms: ms(loop.max), gc_count: pauses.count, gc_total_ms: Math.round(pauses.totalMs), gc_max_ms: Math.round(pauses.maxMs * 100) / 100 };
  loop.reset();
  Object.assign(pauses, { count: 0, totalMs: 0, maxMs: 0 });
  return out;
}

const gc = (globalThis as { gc?: () => void }).gc;
function memory() {
  const stalled = stalls();
  if (gc) { gc(); gc(); }
  countFrom = performance.now();
  loop.reset();
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  // Timers fired so far: background work (lease expiries, retries) that lands inside a window.
  const timers = mode === 'bare' ? 0 : app.axp.scheduler.firedTotal;
  // The PostgreSQL store counts its own round trips and statements.
  const pg = mode === 'bare' ? undefined : (app.axp.store as { stats?: PostgresCounts }).stats;
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, cpuMs: (cpu.user + cpu.system) / 1000, sysMs: cpu.system / 1000, timers, ...counts, stalls: stalled, ...(pg ? { pg: { ...pg } } : {}) };
}

process.on('message', (message: ToServer) => {
  if (message.type === 'memory') process.send?.({ type: 'memory', ...memory() });
  if (message.type === 'stop') {
    // Ends SSE responses and lets the store commit; --cpu-prof writes its file on exit.
    void app.close().finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'listening', url, pid: process.pid });
