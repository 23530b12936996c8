// A load generator, in its own process (config in env BENCH_WORKER). Roles: bound, sender, agent,
// observer, driver (see protocol.ts). Everything is counted inside one measurement window that
// starts warmupMs after the parent's 'go'; the worker then stops, reports and exits.
import { setMaxListeners } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { isAbort, readSse } from './sse.js';
import type {
  AgentConfig, BoundConfig, DriverConfig, FromWorker, ObserverConfig, SenderConfig, ToWorker, WorkerConfig, WorkerResult,
} from './protocol.js';

const config = JSON.parse(process.env.BENCH_WORKER ?? '{}') as WorkerConfig;
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const send = (message: FromWorker) => process.send?.(message);
const agentPath = (address: string) => address.slice('agent://'.length);
const TERMINAL = new Set(['intent.completed', 'intent.failed', 'intent.canceled', 'intent.timed_out']);

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const stop = new AbortController();
const signal = stop.signal;
setMaxListeners(0, signal);
let windowStart = Infinity;
let windowEnd = Infinity;
const inWindow = (t: number) => t >= windowStart && t < windowEnd;
const result: WorkerResult = { count: 0, bytes: 0, errors: 0, seconds: 0 };
const fail = (error: unknown) => {
  if (signal.aborted && isAbort(error)) return;
  result.errors += 1;
  result.firstError ??= error instanceof Error ? error.message : String(error);
};

const pool = (connections: number | null, url = config.url) => new Pool(new URL(url).origin, { connections, pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
/** One pool per server process, taken in turn (a round-robin load balancer); one process: its pool. */
function spread(connections: number | null, urls: string[] | undefined): () => Pool {
  const pools = (urls && urls.length > 0 ? urls : [config.url]).map((url) => pool(connections, url));
  let turn = 0;
  return () => pools[turn++ % pools.length];
}

async function post(p: Pool, path: string, key: string, body: string): Promise<string> {
  const res = await p.request({ method: 'POST', path, headers: { 'content-type': 'application/json', 'x-api-key': key }, body, signal });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`POST ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}

/** Bounded concurrency lanes that each loop until the window ends. */
function lanes(n: number, step: () => Promise<void>): void {
  for (let i = 0; i < n; i++) {
    void (async () => {
      while (!signal.aborted) {
        try { await step(); } catch (error) { fail(error); if (!signal.aborted) await sleep(20); }
      }
    })();
  }
}

// bound: the ceiling of one HTTP call on this machine.
function bound(c: BoundConfig): void {
  const p = pool(c.connections);
  lanes(c.connections, async () => {
    await post(p, '/echo', 'none', c.body);
    if (inWindow(now())) result.count += 1;
  });
}

// sender: creates intents; each accepted one may be timed and observed.
let credits = 0;
let creditWaiters: (() => void)[] = [];
function sender(c: SenderConfig): void {
  const next = spread(c.connections, c.urls);
  const observers = pool(null);
  const template = JSON.parse(c.body) as Record<string, unknown>;
  const bodies = c.agents.map((to_agent) => JSON.stringify({ ...template, to_agent }));
  const times: Record<string, number> = {};
  const observed: number[] = [];
  if (c.record) result.times = times;
  if (c.observeEvery > 0) result.observed = observed;
  let n = 0;
  let inFlight = 0;

  const observe = async (id: string, acceptedAt: number) => {
    const path = `/v1/intents/${id}/events/stream?since=0&wait_seconds=30`;
    await readSse(observers, path, { 'x-api-key': c.key }, signal, (m) => {
      if (TERMINAL.has(m.event ?? '') && inWindow(acceptedAt)) observed.push(now() - acceptedAt);
    });
  };
  const sendOne = async () => {
    const i = n++;
    const text = await post(next(), '/v1/intents', c.key, bodies[i % bodies.length]);
    const acceptedAt = now();
    const id = (JSON.parse(text) as { intent_id: string }).intent_id;
    if (inWindow(acceptedAt)) result.count += 1;
    // Only intents accepted inside the window are timed: warm-up sends (cold JIT in fresh workers) are not the figure.
    if (c.record && inWindow(acceptedAt)) times[id] = acceptedAt;
    if (c.observeEvery > 0 && i % c.observeEvery === 0) void observe(id, acceptedAt).catch(fail);
  };

  if (c.window !== undefined) {
    const window = c.window;
    creditsArrived = () => { const w = creditWaiters; creditWaiters = []; for (const wake of w) wake(); };
    lanes(c.connections, async () => {
      while (inFlight - credits >= window && !signal.aborted) await new Promise<void>((resolve) => creditWaiters.push(resolve));
      inFlight += 1;
      try { await sendOne(); } catch (error) { inFlight -= 1; throw error; }
    });
    return;
  }
  const rate = c.rate ?? 100;
  const start = now();
  let sent = 0;
  const tick = () => {
    if (signal.aborted) return;
    const due = Math.floor(((now() - start) * rate) / 1000);
    for (; sent < due; sent++) void sendOne().catch(fail);
    setTimeout(tick, 1);
  };
  tick();
}
let creditsArrived = () => {};

// agent: receives deliveries (stream or poll) and resolves each COMPLETED.
function agent(c: AgentConfig): void {
  const next = spread(c.connections, c.urls);
  const streamPools = (c.urls && c.urls.length > 0 ? c.urls : [c.url]).map((url) => pool(null, url));
  let pollTurn = 0;
  const times: Record<string, number> = {};
  if (c.record) result.times = times;
  let pendingCredits = 0;
  const flush = setInterval(() => { if (pendingCredits > 0) { send({ type: 'credit', n: pendingCredits }); pendingCredits = 0; } }, 5);
  signal.addEventListener('abort', () => clearInterval(flush));
  const resolveBody = JSON.stringify({ status: 'COMPLETED', result: { ok: true } });

  const handle = (key: string, id: string, receivedAt: number) => {
    if (c.record) times[id] = receivedAt;
    post(next(), `/v1/intents/${id}/resolve`, key, resolveBody).then(() => {
      if (inWindow(now())) result.count += 1;
      pendingCredits += 1;
    }, fail);
  };

  for (const [index, a] of c.agents.entries()) {
    // Each agent's stream stays on one process; the agents are spread over the processes.
    const streams = streamPools[index % streamPools.length];
    if (c.binding === 'stream') {
      void (async () => {
        let last: string | undefined;
        while (!signal.aborted) {
          const headers: Record<string, string> = { 'x-api-key': a.key };
          if (last) headers['last-event-id'] = last;
          try {
            last = (await readSse(streams, `/v1/agents/${agentPath(a.address)}/intents/stream?wait_seconds=60`, headers, signal, (m) => {
              if (m.event !== 'intent.delivered') return;
              const t = now();
              handle(a.key, (JSON.parse(m.data) as { intent_id: string }).intent_id, t);
            })) ?? last;
          } catch (error) { fail(error); await sleep(20); }
        }
      })();
      continue;
    }
    lanes(c.pollersPerAgent, async () => {
      const res = await streamPools[pollTurn++ % streamPools.length].request({ method: 'GET', path: `/v1/agents/${agentPath(a.address)}/intents?wait_seconds=2&limit=64`, headers: { 'x-api-key': a.key }, signal });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`poll: ${res.statusCode} ${text.slice(0, 200)}`);
      const t = now();
      for (const d of (JSON.parse(text) as { deliveries: { intent_id: string }[] }).deliveries) handle(a.key, d.intent_id, t);
    });
  }
}

// observer: many SSE observe connections; counts events and bytes inside the window.
async function observer(c: ObserverConfig): Promise<void> {
  const p = pool(null);
  let opened = 0;
  let open = 0;
  const one = async (id: string, onFirstOpen: () => void) => {
    let last: string | undefined;
    let first = true;
    while (!signal.aborted) {
      const headers: Record<string, string> = { 'x-api-key': c.key };
      if (last) headers['last-event-id'] = last;
      try {
        last = (await readSse(p, `/v1/intents/${id}/events/stream?wait_seconds=60`, headers, signal, () => {
          if (inWindow(now())) result.count += 1;
        }, {
          onOpen: () => { open += 1; if (first) { first = false; onFirstOpen(); } },
          onBytes: (n) => { if (inWindow(now())) result.bytes += n; },
        })) ?? last;
      } catch (error) { fail(error); await sleep(50); }
      open -= 1;
    }
  };
  // Connect in batches so the listen backlog never overflows.
  const BATCH = 250;
  for (let i = 0; i < c.intents.length; i += BATCH) {
    await Promise.all(c.intents.slice(i, i + BATCH).map((id) => new Promise<void>((resolve) => {
      void one(id, () => { opened += 1; resolve(); });
      signal.addEventListener('abort', () => resolve());
    })));
  }
  observerOpen = () => open;
  void opened;
}
let observerOpen = () => 0;

// driver: the receiver reports progress on busy intents; perIntent writes in flight per intent.
function driver(c: DriverConfig): void {
  const p = pool(c.connections);
  let k = 0;
  for (const id of c.intents) {
    lanes(c.perIntent, async () => {
      await post(p, `/v1/intents/${id}/resume`, c.key, JSON.stringify({ action: 'progress', progress: { n: k++ } }));
      if (inWindow(now())) result.count += 1;
    });
  }
}

function finish(): void {
  result.seconds = (Math.min(now(), windowEnd) - windowStart) / 1000;
  stop.abort();
  const cpu = process.cpuUsage();
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  result.loop = { p99_ms: Math.round(loop.percentile(99) / 1e4) / 100, max_ms: Math.round(loop.max / 1e4) / 100 };
  send({ type: 'result', result });
  setTimeout(() => process.exit(0), 200);
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'credit') { credits += message.n; creditsArrived(); return; }
  if (message.type === 'stop') { finish(); return; }
  const t = now();
  windowStart = t + message.warmupMs;
  windowEnd = windowStart + message.measureMs;
  setTimeout(() => loop.reset(), message.warmupMs);
  if (config.role === 'observer') setTimeout(() => { result.open = observerOpen(); }, message.warmupMs);
  else start();
  setTimeout(finish, message.warmupMs + message.measureMs);
});
process.on('disconnect', () => process.exit(0));

function start(): void {
  if (config.role === 'bound') bound(config);
  if (config.role === 'sender') sender(config);
  if (config.role === 'agent') agent(config);
  if (config.role === 'driver') driver(config);
}

// Observers connect before 'go' (connection set-up is not what they measure); the others start on it.
if (config.role === 'observer') await observer(config);
send({ type: 'ready' });
