// Crash-safety torture: a mixed load over every binding the server offers, against a SQLite
// server child (or several server children on one PostgreSQL database) killed with SIGKILL at
// random moments and restarted on the same store. At the end every intent whose create was
// answered 200 must exist, be terminal, have a gapless event log with exactly one terminal event,
// and delivery must have resumed after every restart. On PostgreSQL the timers a killed process
// had scheduled (lease expiries, retries, delays: rows naming it) must all be gone at the end,
// fired or cancelled by the processes that outlived it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Client } from './client.js';
import { ServerProcess, type Reachable } from './server-process.js';
import { ServerCluster } from './cluster.js';
import { postgresForTorture } from './postgres.js';
import { Ledger, Workers, startSenders, type Target } from './agents.js';

export interface TortureOptions {
  kills: number;
  /** Random time between kills, ms. */
  gapMs: [number, number];
  senders: number;
  /** Mean pause between two creates of one sender, ms. */
  intervalMs: number;
  /** How long the final drain may take before unfinished intents are reported, ms. */
  drainMs: number;
  /** sqlite (one process, default) or postgres (`processes` processes on one database). */
  store?: 'sqlite' | 'postgres';
  /** Server processes on the PostgreSQL database (default 3). */
  processes?: number;
  /** A PostgreSQL server (a role that may create databases); default AXP_TEST_PG_URL, else one is started. */
  pgUrl?: string;
  /** How long a killed process of a cluster stays down before its restart, ms (its timers are the others' meanwhile). */
  downMs?: [number, number];
  log?: (line: string) => void;
}

export const QUICK: TortureOptions = { kills: 3, gapMs: [400, 1200], senders: 3, intervalMs: 40, drainMs: 60_000 };
export const FULL: TortureOptions = { kills: 24, gapMs: [300, 3000], senders: 6, intervalMs: 25, drainMs: 180_000 };
/** PostgreSQL, CI size: three processes, a kill every second or so, each left down a moment (the others carry on). */
export const POSTGRES_QUICK: TortureOptions = { kills: 3, gapMs: [400, 1200], senders: 3, intervalMs: 40, drainMs: 60_000, store: 'postgres', processes: 3, downMs: [200, 2500] };
/** Full size: some kills leave the process down past a timer claim (5 s), so the others take its claimed timers over too. */
export const POSTGRES_FULL: TortureOptions = { kills: 12, gapMs: [500, 3000], senders: 6, intervalMs: 25, drainMs: 180_000, store: 'postgres', processes: 3, downMs: [200, 7000] };

export interface TortureResults {
  accepted: number;
  lost: number;
  double_completed: number;
  seq_violations: number;
  unfinished: number;
  kills: number;
  restarts_resumed: number;
  by_target: Record<string, number>;
  terminal_statuses: Record<string, number>;
  duplicate_deliveries: number;
  client_retries: number;
  anomalies: string[];
  duration_s: number;
  store: 'sqlite' | 'postgres';
  processes: number;
  /** PostgreSQL: timers the killed processes had scheduled, found at each kill, and how many of them were still there at the end. */
  timers_of_killed?: number;
  timers_of_killed_left?: number;
}

const TERMINAL_EVENTS = new Set(['intent.completed', 'intent.failed', 'intent.canceled', 'intent.timed_out', 'intent.delivery_failed']);
const TERMINAL_STATUSES = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT']);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = ([min, max]: [number, number]) => min + Math.random() * (max - min);

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Waits until the current server instance has handed out at least one delivery (bounded). */
async function deliveryResumed(ledger: Ledger, server: Reachable, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((ledger.deliveriesByEpoch.get(server.epoch) ?? 0) > 0) return true;
    await pause(20);
  }
  return false;
}

export async function runTorture(options: TortureOptions): Promise<TortureResults> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'axp-torture-'));
  const adminKey = `torture-admin-${randomBytes(12).toString('hex')}`;
  const store = options.store ?? 'sqlite';
  const processes = store === 'postgres' ? options.processes ?? 3 : 1;
  const database = store === 'postgres' ? await postgresForTorture(options.pgUrl, log) : undefined;
  const args = ['--allow-private-callbacks'];
  const cluster = database
    ? new ServerCluster(Array.from({ length: processes }, () => new ServerProcess({ store: database.url, adminKey, args })))
    : undefined;
  const server = cluster ?? new ServerProcess({ store: `sqlite:${join(dir, 'axp.db')}`, adminKey, args });
  const db = database ? new pg.Client({ connectionString: database.url }) : undefined;
  const timersOfKilled = new Set<string>();
  const client = new Client(server);
  const ledger = new Ledger();
  const workers = new Workers(server, client, ledger);
  const admin = (method: string, path: string, body?: unknown) => client.call(method, path, { key: adminKey, body });
  const restartsResumed: boolean[] = [];
  let kills = 0;
  try {
    if (cluster) await cluster.startAll(); else await (server as ServerProcess).start();
    await db?.connect();
    const caps = (await admin('GET', '/v1/capabilities')).body as { bindings: string[]; supported_intent_types: string[] };
    const runId = randomBytes(4).toString('hex');
    const policy = { max_delivery_attempts: 20, initial_delay_ms: 50, max_delay_ms: 500, lease_seconds: 1 };
    const register = async (name: string, delivery: Record<string, unknown>) => {
      const address = `agent://torture/${runId}/${name}`;
      const res = await admin('PUT', `/v1/agents/torture/${runId}/${name}`, { delivery });
      if (res.status !== 200) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      return { address, key: res.body.api_key as string };
    };
    const sender = await register('sender', { binding: 'poll' });
    const targets: { target: Target; to: string; extra?: Record<string, unknown> }[] = [];
    if (caps.bindings.includes('stream')) {
      const agent = await register('stream', { binding: 'stream', ...policy });
      workers.startStream(agent);
      targets.push({ target: 'stream', to: agent.address });
    }
    if (caps.bindings.includes('poll')) {
      const agent = await register('poll', { binding: 'poll', ...policy });
      workers.startPoll(agent);
      targets.push({ target: 'poll', to: agent.address });
    }
    if (caps.bindings.includes('http')) {
      let httpKey = '';
      const url = await workers.startHttpReceiver(() => httpKey);
      const agent = await register('http', { binding: 'http', url, ...policy, timeout_ms: 1000, max_concurrency: 8 });
      httpKey = agent.key;
      targets.push({ target: 'http', to: agent.address });
    }
    if (caps.bindings.includes('inbox')) {
      const agent = await register('inbox', { binding: 'inbox' });
      workers.startInbox(agent);
      targets.push({ target: 'inbox', to: agent.address, extra: { human_task: { title: 'torture approval', task_type: 'approval' } } });
    }
    if (caps.supported_intent_types.includes('intent.internal.delay.v1')) {
      targets.push({ target: 'internal', to: `agent://torture/${runId}/delay`, extra: { intent_type: 'intent.internal.delay.v1', payload: { seconds: 1 } } });
    }
    log(`targets: ${targets.map((t) => t.target).join(', ')}; ${options.kills} kills`);

    const stopSending = new AbortController();
    const sending = startSenders(client, ledger, sender.key, { targets, senders: options.senders, intervalMs: options.intervalMs, runId }, stopSending.signal);
    for (let k = 1; k <= options.kills; k++) {
      await pause(between(options.gapMs));
      const pid = await server.kill();
      kills += 1;
      if (db && typeof pid === 'number') {
        // The timers the dead process scheduled: only the others can fire them now.
        const { rows } = await db.query<{ id: string }>("SELECT id FROM timers WHERE split_part(created_by, '.', 1) = $1", [String(pid)]);
        for (const row of rows) timersOfKilled.add(row.id);
        await pause(between(options.downMs ?? [0, 0]));
      }
      await server.start();
      // Delivery must resume on the fresh instance before the next kill.
      const resumed = await deliveryResumed(ledger, server, 20_000);
      restartsResumed.push(resumed);
      log(`kill ${k}/${options.kills}: restarted as instance ${server.epoch}, accepted so far ${ledger.accepted.size}, delivery resumed: ${resumed}`);
    }
    await pause(between(options.gapMs));
    stopSending.abort();
    await sending;
    log('senders stopped');

    // Drain: every accepted intent must reach a terminal status (agents keep working meanwhile).
    log(`drain: ${ledger.accepted.size} accepted`);
    const drainDeadline = Date.now() + options.drainMs;
    const pending = new Set(ledger.accepted.keys());
    while (pending.size > 0 && Date.now() < drainDeadline) {
      await eachLimited([...pending], 8, async (id) => {
        const res = await admin('GET', `/v1/intents/${id}?wait_seconds=2`);
        if (res.status === 200 && TERMINAL_STATUSES.has(res.body.status)) pending.delete(id);
        if (res.status === 404) pending.delete(id);
      });
    }
    log(`drain done, ${pending.size} not terminal`);
    await workers.close();
    log('workers closed');

    // Verification, from the server's own records.
    let lost = 0;
    let seqViolations = 0;
    let doubleCompleted = 0;
    let unfinished = 0;
    const statuses: Record<string, number> = {};
    await eachLimited([...ledger.accepted.keys()], 8, async (id) => {
      const intent = await admin('GET', `/v1/intents/${id}`);
      if (intent.status === 404) { lost += 1; return; }
      const status = intent.body.status as string;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (!TERMINAL_STATUSES.has(status)) unfinished += 1;
      const events = (await admin('GET', `/v1/intents/${id}/events`)).body.events as { seq: number; event_type: string }[];
      if (events.some((e, i) => e.seq !== i + 1)) seqViolations += 1;
      const terminalEvents = events.filter((e) => TERMINAL_EVENTS.has(e.event_type)).length;
      if (terminalEvents > 1 || (ledger.completionSeqs.get(id)?.size ?? 0) > 1) doubleCompleted += 1;
    });
    let timersLeft: number | undefined;
    if (db) {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM timers WHERE id = ANY($1::bigint[])', [[...timersOfKilled]]);
      timersLeft = Number(rows[0].n);
    }
    const byTarget: Record<string, number> = {};
    for (const target of ledger.accepted.values()) byTarget[target] = (byTarget[target] ?? 0) + 1;
    return {
      accepted: ledger.accepted.size,
      lost,
      double_completed: doubleCompleted,
      seq_violations: seqViolations,
      unfinished,
      kills,
      restarts_resumed: restartsResumed.filter(Boolean).length,
      by_target: byTarget,
      terminal_statuses: statuses,
      duplicate_deliveries: [...ledger.deliveriesOf.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
      client_retries: client.retries,
      anomalies: ledger.anomalies,
      duration_s: Math.round((Date.now() - started) / 100) / 10,
      store,
      processes,
      ...(db ? { timers_of_killed: timersOfKilled.size, timers_of_killed_left: timersLeft } : {}),
    };
  } catch (error) {
    if (server.stderrTail.length) log(`server stderr:\n${server.stderrTail.join('\n')}`);
    throw error;
  } finally {
    await workers.close().catch(() => undefined);
    await server.stop().catch(() => undefined);
    await db?.end().catch(() => undefined);
    await database?.drop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a run must not show; empty when every check passed. */
export function failures(r: TortureResults): string[] {
  const out: string[] = [];
  if (r.lost > 0) out.push(`${r.lost} accepted intents lost`);
  if (r.double_completed > 0) out.push(`${r.double_completed} intents completed twice`);
  if (r.seq_violations > 0) out.push(`${r.seq_violations} event logs with a seq gap or duplicate`);
  if (r.unfinished > 0) out.push(`${r.unfinished} intents never reached a terminal status`);
  if (r.restarts_resumed < r.kills) out.push(`delivery resumed after only ${r.restarts_resumed} of ${r.kills} restarts`);
  if (r.anomalies.length > 0) out.push(`${r.anomalies.length} unexpected answers`);
  if ((r.timers_of_killed_left ?? 0) > 0) out.push(`${r.timers_of_killed_left} timers of killed processes never fired nor cancelled`);
  return out;
}
