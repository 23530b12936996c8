// PostgreSQL itself stopped and started under load, with two server processes on it: while it is
// down every request is answered 503 with Retry-After within a bound (never a 500, never a hang);
// afterwards the processes work again without a restart of their own, nothing accepted before the
// outage is lost, and an SSE observer and a long-polling agent carry on where they were. This
// test stops and starts the database server, so it always starts its own (the npm-packaged
// PostgreSQL), whatever AXP_TEST_PG_URL says.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY } from './helpers/server.js';
import { startPostgres, type PostgresServer } from './helpers/postgres-server.js';
import { startServerProcess, type ServerProcess } from './postgres-helpers.js';

/** No answer may take longer than this, outage or not. */
const ANSWER_BOUND_MS = 10_000;
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT']);

interface Answer { status: number; headers: Headers; body: any; ms: number }

/** Every answer the test got, by phase: the checks read them all. */
const answers: { phase: string; method: string; path: string; status: number; retryAfter: string | null; ms: number }[] = [];
let phase = 'before';

async function call(base: string, method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const started = Date.now();
  // An answer belongs to the phase its request was sent in.
  const sentIn = phase;
  let res: Response;
  let text: string;
  try {
    res = await fetch(base + path, {
      method, signal: AbortSignal.timeout(ANSWER_BOUND_MS),
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    text = await res.text();
  } catch (error) {
    // No answer within the bound, or the connection failed (the server processes are never stopped here).
    answers.push({ phase: sentIn, method, path: path.split('?')[0], status: 0, retryAfter: null, ms: Date.now() - started });
    throw error;
  }
  const ms = Date.now() - started;
  answers.push({ phase: sentIn, method, path: path.split('?')[0], status: res.status, retryAfter: res.headers.get('retry-after'), ms });
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, ms };
}

/** Retries a 503 (as a client must) until a real answer, bounded. */
async function until200(base: () => string, method: string, path: string, key: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await call(base(), method, path, key, body, headers).catch((error: unknown) => ({ status: 0, headers: new Headers(), body: String(error), ms: 0 }));
    if (answer.status === 200) return answer;
    if (answer.status !== 503 || Date.now() > deadline) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('PostgreSQL stopped and started under load', () => {
  let server: PostgresServer;
  let dbUrl: string;
  let procs: ServerProcess[] = [];
  beforeAll(async () => {
    server = await startPostgres();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const name = `axp_restart_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(server.url);
    u.pathname = `/${name}`;
    dbUrl = u.toString();
    procs = await Promise.all([0, 1].map(() => startServerProcess(dbUrl, ['--keepalive-seconds', '1'])));
  }, 90_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await server?.destroy();
  });

  it('answers 503 with Retry-After during the outage, reconnects by itself, loses nothing, and observers and long polls resume', async () => {
    const urls = procs.map((p) => p.url);
    let turn = 0;
    const next = () => urls[turn++ % urls.length];
    const run = randomBytes(3).toString('hex');
    const register = async (name: string, binding: string) =>
      (await until200(next, 'PUT', `/v1/agents/restart/${run}/${name}`, ADMIN_KEY, { delivery: { binding } })).body.api_key as string;
    const senderKey = await register('sender', 'poll');
    const pollKey = await register('poll', 'poll');
    const pollAddress = `agent://restart/${run}/poll`;

    // An intent observed over SSE (on process 0) across the outage: it is completed only afterwards.
    const observed = (await until200(next, 'POST', '/v1/intents', senderKey, { intent_type: 'restart.watch.v1', to_agent: `agent://restart/${run}/nobody`, payload: {} })).body.intent_id as string;
    const seen: number[] = [];
    let observerConnections = 0;
    const stopObserving = new AbortController();
    const observing = (async () => {
      // A client that follows SSE-*: on a dropped stream it reconnects with Last-Event-ID.
      while (!stopObserving.signal.aborted && !seen.includes(-1)) {
        try {
          const res = await fetch(`${urls[0]}/v1/intents/${observed}/events/stream?wait_seconds=30`, {
            headers: { 'x-api-key': senderKey, ...(seen.length ? { 'last-event-id': String(seen[seen.length - 1]) } : {}) },
            signal: stopObserving.signal,
          });
          if (res.status !== 200 || !res.body) { await new Promise((resolve) => setTimeout(resolve, 200)); continue; }
          observerConnections += 1;
          const parser = createParser({ onEvent: (e) => {
            // Intent events carry their seq as id; the stream's own closing frame has none.
            if (e.id === undefined) return;
            seen.push(Number(e.id));
            if (TERMINAL.has(JSON.parse(e.data).status)) seen.push(-1);
          } });
          const decoder = new TextDecoder();
          for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
        } catch {
          if (!stopObserving.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    })();

    // Load: senders creating intents for the poll agent (idempotency keys: a retry after an
    // unknown outcome never makes a second intent), and the agent long-polling and completing them.
    const accepted = new Set<string>();
    const completed = new Set<string>();
    let stopLoad = false;
    const sender = async (s: number) => {
      for (let n = 0; !stopLoad; n++) {
        const answer = await until200(next, 'POST', '/v1/intents', senderKey, { intent_type: 'restart.work.v1', to_agent: pollAddress, payload: { s, n } }, { 'idempotency-key': `${run}-${s}-${n}` });
        accepted.add(answer.body.intent_id);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    };
    let pollsAfter = 0;
    const agent = async () => {
      while (!stopLoad || completed.size < accepted.size) {
        const answer = await call(next(), 'GET', `/v1/agents/restart/${run}/poll/intents?wait_seconds=1&limit=20`, pollKey).catch(() => undefined);
        if (answer?.status !== 200) { await new Promise((resolve) => setTimeout(resolve, 100)); continue; }
        if (phase === 'after') pollsAfter += 1;
        await Promise.all((answer.body.deliveries as { intent_id: string }[]).map(async (d) => {
          const done = await until200(next, 'POST', `/v1/intents/${d.intent_id}/resolve`, pollKey, { status: 'COMPLETED', result: {} }, { 'idempotency-key': `done-${d.intent_id}` })
            .catch(() => undefined);
          if (done) completed.add(d.intent_id);
        }));
      }
    };
    const load = [sender(0), sender(1), agent()];

    const waitFor = async (what: string, ok: () => boolean, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await waitFor('load before the outage', () => completed.size >= 20 && seen.length >= 2);
    const acceptedBefore = new Set(accepted);

    // The outage: a fast shutdown, two seconds down, a start on the same data.
    phase = 'stopping';
    await server.stop();
    phase = 'outage';
    const down = Date.now();
    while (Date.now() - down < 2000) {
      await call(next(), 'POST', '/v1/intents', senderKey, { intent_type: 'restart.probe.v1', to_agent: pollAddress, payload: {} }).catch(() => undefined);
      await call(next(), 'GET', `/v1/intents/${observed}`, senderKey).catch(() => undefined);
    }
    phase = 'starting';
    await server.start();
    phase = 'after';

    // Every process works again by itself.
    for (const url of urls) await until200(() => url, 'GET', `/v1/intents/${observed}`, senderKey);
    await waitFor('long polls after the restart', () => pollsAfter >= 3);
    const sizeAfter = accepted.size;
    await waitFor('new intents accepted after the restart', () => accepted.size >= sizeAfter + 10);
    stopLoad = true;
    await Promise.all(load.slice(0, 2));

    // The observed intent is completed now; its observer gets the rest of its events.
    await until200(next, 'POST', `/v1/intents/${observed}/cancel`, senderKey, {});
    await waitFor('the observer to see the terminal event', () => seen.includes(-1));
    stopObserving.abort();
    await observing;
    await waitFor('every accepted intent completed', () => [...accepted].every((id) => completed.has(id)), 60_000);
    await Promise.all(load);

    // Nothing accepted before the outage is lost: each exists and is completed.
    for (const id of acceptedBefore) {
      const intent = await until200(next, 'GET', `/v1/intents/${id}`, senderKey);
      expect(intent.body.status).toBe('COMPLETED');
    }
    // The observer saw every event once, in order, across its reconnects.
    const ids = seen.filter((x) => x !== -1);
    expect(ids).toEqual(ids.map((_x, i) => i + 1));

    const during = answers.filter((a) => a.phase === 'outage');
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((a) => a.status !== 503)).toEqual([]);
    expect(during.filter((a) => a.retryAfter === null)).toEqual([]);
    expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    expect(answers.filter((a) => a.status === 0 || a.ms >= ANSWER_BOUND_MS)).toEqual([]);
    expect(observerConnections).toBeGreaterThanOrEqual(1);
  }, 150_000);
});
