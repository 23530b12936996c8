// What makes several server processes on one PostgreSQL database behave as one server:
// - wake-ups cross processes: every local notifier emit is sent with NOTIFY (batched per turn;
//   one emitted just before a COMMIT goes after it), and a LISTEN connection hands other
//   processes' topics to this process's SSE streams and long polls within milliseconds;
// - a polling backstop covers what a notification cannot: every 500 ms it fires due timers
//   (claimed, so each fires once; a dead process's timers are fired this way), and every 2 s it
//   wakes the agents that have pending deliveries (a claim skips rows another process holds, and
//   a push delivery a dead process had left pending has no one else to hand it over). Only after
//   the LISTEN connection was lost (notifications may be missed meanwhile) does it also re-wake
//   every topic this process waits on; while LISTEN/NOTIFY is healthy it does nothing more;
// - the test clock is shared: each request starts at the database's test time, and an answer that
//   moved the clock stores the new time before it leaves, whichever process gets the next call.
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { TestClock } from '../clock.js';
import type { ServerContext } from '../context.js';
import type { AgentRecord } from '../model.js';
import type { Topic } from '../notifier.js';
import type { PostgresStore } from './postgres.js';

export const WAKE_CHANNEL = 'axp_wake';
const BACKSTOP_MS = 500;
/** Every how many backstop passes the agents with pending deliveries are woken. */
const PENDING_EVERY = 4;
const RECONNECT_MS = 500;
/** NOTIFY payloads are limited to 8000 bytes. */
const PAYLOAD_BYTES = 7000;

export interface ClusterOptions {
  backstopMs?: number;
}

/** Packs topics into as few payloads as fit: "<process id>\n<topic>\n<topic>…". */
export function packTopics(processId: string, topics: string[]): string[] {
  const payloads: string[] = [];
  let current = processId;
  for (const topic of topics) {
    if (current.length + topic.length + 1 > PAYLOAD_BYTES && current !== processId) {
      payloads.push(current);
      current = processId;
    }
    current += `\n${topic}`;
  }
  if (current !== processId) payloads.push(current);
  return payloads;
}

export async function installPostgresCluster(app: FastifyInstance, ctx: ServerContext, store: PostgresStore, options: ClusterOptions = {}): Promise<void> {
  await store.ready;
  const log = (message: string, error?: unknown) => app.log.warn({ err: error }, message);
  let stopped = false;

  // Outgoing: one NOTIFY round trip per event-loop turn, after the commits that emitted.
  const queued = new Set<Topic>();
  let flushing = false;
  const flush = (): void => {
    flushing = false;
    const payloads = packTopics(store.processId, [...queued]);
    queued.clear();
    if (stopped || payloads.length === 0) return;
    store.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [WAKE_CHANNEL, payloads])
      .catch((error: unknown) => log('cluster: NOTIFY failed (the backstop covers it)', error));
  };
  const enqueue = (topic: Topic): void => {
    queued.add(topic);
    if (!flushing) { flushing = true; setImmediate(flush); }
  };
  // A wake-up emitted just before a COMMIT (a create waking its agent, whose claim here joins the
  // transaction) goes to the other processes after it: woken earlier, they would find nothing.
  ctx.notifier.relayTo((topic) => {
    if (!store.afterCommit(() => enqueue(topic))) enqueue(topic);
  });

  // Incoming: a dedicated LISTEN connection, re-opened when it drops.
  let listener: pg.Client | undefined;
  /** Set when the LISTEN connection was lost: notifications may have been missed until it is back. */
  let missed = false;
  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: store.url, application_name: 'axp-server-listen' });
    let dropped = false;
    const drop = (error?: unknown) => {
      if (dropped) return;
      dropped = true;
      if (listener === client) listener = undefined;
      missed = true;
      client.end().catch(() => {});
      if (stopped) return;
      if (error) log('cluster: LISTEN connection lost; reconnecting', error);
      setTimeout(() => void listen().catch((e: unknown) => drop(e)), RECONNECT_MS).unref();
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', (message) => {
      const [sender, ...topics] = (message.payload ?? '').split('\n');
      if (sender === store.processId) return;
      for (const topic of topics) ctx.notifier.emitLocal(topic as Topic);
    });
    await client.connect();
    await client.query(`LISTEN ${WAKE_CHANNEL}`);
    if (stopped) { await client.end(); return; }
    listener = client;
  };
  await listen();

  // Test clock shared through the database (CLK-*), so any process answers at the same test time.
  if (ctx.settings.testClock && ctx.clock instanceof TestClock) {
    const clock = ctx.clock;
    let shared = 0;
    const load = async () => {
      const { rows } = await store.query<{ now_ms: string }>('SELECT now_ms FROM test_clock WHERE id = 1');
      shared = Math.max(shared, Number(rows[0]?.now_ms ?? 0));
      clock.syncTo(shared);
    };
    await store.query('INSERT INTO test_clock (id, now_ms) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [clock.now()]);
    await load();
    app.addHook('preHandler', async () => { await load(); });
    app.addHook('onSend', async (_req, _reply, payload) => {
      if (clock.now() > shared) {
        shared = clock.now();
        await store.query('UPDATE test_clock SET now_ms = GREATEST(now_ms, $1) WHERE id = 1', [shared]);
      }
      return payload;
    });
  }

  // The backstop.
  let ticking = false;
  let passes = 0;
  const tick = async (): Promise<void> => {
    if (ticking || stopped) return;
    ticking = true;
    passes += 1;
    try {
      if (missed && listener) {
        missed = false;
        for (const topic of ctx.notifier.topics()) ctx.notifier.emitLocal(topic);
      }
      // Under the test clock timers fire only when the clock is advanced (CLK-*).
      if (ctx.clock.kind === 'real') await ctx.scheduler.runDue();
      if (passes % PENDING_EVERY !== 0) return;
      const { rows } = await store.query<{ doc: string }>(
        "SELECT a.doc FROM agents a WHERE a.address IN (SELECT DISTINCT agent FROM deliveries WHERE state = 'pending')");
      for (const row of rows) {
        const agent = JSON.parse(row.doc) as AgentRecord;
        const adapter = ctx.engine.adapterFor(agent.delivery.binding);
        if (adapter?.mode === 'push') adapter.onReady?.(agent);
        else ctx.notifier.emitLocal(`agent:${agent.address}`);
      }
    } catch (error) {
      if (!stopped) log('cluster: backstop pass failed', error);
    } finally {
      ticking = false;
    }
  };
  let backstop: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    backstop = setInterval(() => void tick(), options.backstopMs ?? BACKSTOP_MS);
    backstop.unref();
  });

  store.onClose(async () => {
    stopped = true;
    if (backstop) clearInterval(backstop);
    const client = listener;
    listener = undefined;
    await client?.end().catch(() => {});
  });
}
