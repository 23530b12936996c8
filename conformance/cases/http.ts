// Chapter 9: the http binding, against a kit-hosted receiver scripted per case: signatures, 2xx,
// retries with bounded backoff, timeouts, 410, Retry-After, redirects, concurrency.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { NotApplicable, type CaseContext, type Receiver, type ReceiverHit, type ReceiverStep, type RegisteredAgent } from '../case.js';
import { validate } from '../../schemas/index.js';
import { allowedDelayBounds, delayWithin, retryAfterBounds } from '../wire/backoff.js';
import { verifyAxmeSignature, verifyStandardWebhook } from '../wire/signature.js';
import {
  agent, check, equal, events, eventuallyEvent, fail, fit, gapMs, getIntent, group, hasTestClock, httpReceiver, limits, needs, ok, passTime, PRIVATE_CALLBACKS_HINT, send, types, type Wire, scaled
} from './support.js';

const httpCap = needs('binding.http', 'binding.poll');
const TEN_MINUTES_MS = 600_000;
const RETRY_DELAY_MS = 60_000;

interface Setup { receiver: Receiver; worker: RegisteredAgent; sender: RegisteredAgent }

async function setup(ctx: CaseContext, script: ReceiverStep[], overrides: Record<string, unknown> = {}): Promise<Setup> {
  const receiver = await httpReceiver(ctx, script);
  const worker = await agent(ctx, 'worker', 'http', overrides, receiver);
  check(worker.secret, 'an http agent must come with its signing secret', 'secret', worker.secret);
  return { receiver, worker, sender: await agent(ctx, 'sender', 'poll') };
}

function policyOf(who: RegisteredAgent) {
  return { initial_delay_ms: Number(who.delivery.initial_delay_ms), max_delay_ms: Number(who.delivery.max_delay_ms), multiplier: Number(who.delivery.multiplier) };
}

/** The intent.delivery_attempt event of attempt n. */
function failureOf(ctx: CaseContext, id: string, n: number, boundMs = 4000): Promise<Wire> {
  return eventuallyEvent(ctx, id, ctx.adminKey, `intent.delivery_attempt for attempt ${n}`, (e) => e.event_type === 'intent.delivery_attempt' && e.details?.attempt === n, boundMs);
}

/** Lets the announced retry delay pass and waits for the next receiver hit. */
async function nextHit(ctx: CaseContext, receiver: Receiver, failure: Wire, n: number): Promise<ReceiverHit> {
  const delay = failure.details.next_attempt_at ? gapMs(failure.at, failure.details.next_attempt_at) : 0;
  const advanced = await passTime(ctx, delay + 1);
  // Only an upper bound (a retry that never comes still fails): generous, so a loaded machine
  // delaying the push does not fail a correct server.
  return (await receiver.waitForHits(n, advanced ? 10_000 : delay + 10_000))[n - 1];
}

function checkSigned(hit: ReceiverHit, secret: string, what: string): void {
  const ts = Number(hit.headers['webhook-timestamp']);
  check(/^\d+$/.test(hit.headers['webhook-timestamp'] ?? ''), `${what}: webhook-timestamp must be unix seconds`, 'digits', hit.headers['webhook-timestamp']);
  const std = verifyStandardWebhook(secret, hit.headers, hit.body, { now: ts * 1000 });
  check(std.ok, `${what}: webhook-signature does not verify with the agent's secret (HTTP-008, HTTP-009)`, 'verified', std);
  const axme = verifyAxmeSignature(secret, hit.headers, hit.body);
  check(axme.ok, `${what}: X-Axme-Signature does not verify with the agent's secret (HTTP-010)`, 'verified', axme);
}

function checkBackoff(ctx: CaseContext, who: RegisteredAgent, failure: Wire, n: number, hits: ReceiverHit[]): void {
  const bounds = allowedDelayBounds(policyOf(who), n);
  const delay = gapMs(failure.at, failure.details.next_attempt_at);
  check(delayWithin(bounds, delay, 5), `delay after failed attempt ${n} outside [0.8d, 1.2d] (DLV-013)`, bounds, delay);
  if (!hasTestClock(ctx) && hits.length > n) {
    const seen = hits[n].atMs - hits[n - 1].atMs;
    check(seen >= bounds.min - 20 && seen <= bounds.max + 300, `receiver saw attempt ${n + 1} ${seen} ms after attempt ${n}`, bounds, seen);
  }
}

export const httpCases = group('HTTP', [
  {
    id: 'HTTP-001',
    title: 'a push POSTs the delivery as JSON with webhook-id = intent_id; a 2xx acknowledges it (body ignored)',
    level: 'MUST',
    requirements: ['HTTP-001', 'HTTP-002', 'HTTP-020', 'LC-013', 'DLV-001', 'DLV-005'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ status: 202, body: 'this is not json' }]);
      const i = await send(ctx, sender, worker.address);
      const [hit] = await receiver.waitForHits(1, 5000);
      equal(hit.method, 'POST', 'method');
      check((hit.headers['content-type'] ?? '').startsWith('application/json'), 'content-type of the push', 'application/json', hit.headers['content-type']);
      const v = validate('delivery', hit.json);
      check(v.ok, 'the push body must be a delivery (schema delivery)', 'valid', v.ok ? undefined : v.errors);
      equal({ id: hit.json.intent_id, webhook: hit.headers['webhook-id'], attempt: hit.json.attempt, payload: hit.json.payload }, { id: i.intent_id, webhook: i.intent_id, attempt: 1, payload: i.payload }, 'push body and webhook-id');
      const done = await ctx.eventually('the pushed intent ACKNOWLEDGED', async () => {
        const now = await getIntent(ctx, i.intent_id, sender.key);
        return now.status === 'ACKNOWLEDGED' ? now : undefined;
      });
      equal(done.delivery_attempt, 1, 'delivery_attempt');
      const list = await events(ctx, i.intent_id, sender.key);
      equal(types(list), ['intent.created', 'intent.submitted', 'intent.delivered', 'intent.acknowledged'], 'events after a 2xx (LC-013)');
      const lease = gapMs(list[2].at, hit.json.lease_expires_at);
      check(Math.abs(lease - Number(worker.delivery.timeout_ms)) <= scaled(ctx, 1000), 'http lease_expires_at must be the issue time plus timeout_ms (DLV-005)', worker.delivery.timeout_ms, lease);
    },
  },
  {
    id: 'HTTP-002',
    title: 'both signatures verify with the secret shown at registration, and not with another secret',
    level: 'MUST',
    requirements: ['HTTP-008', 'HTTP-009', 'HTTP-010', 'HTTP-003'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ status: 200 }]);
      const i = await send(ctx, sender, worker.address);
      const [hit] = await receiver.waitForHits(1, 5000);
      checkSigned(hit, worker.secret!, 'the push');
      const wrong = `whsec_${randomBytes(32).toString('base64')}`;
      const ts = Number(hit.headers['webhook-timestamp']);
      check(!verifyStandardWebhook(wrong, hit.headers, hit.body, { now: ts * 1000 }).ok, 'webhook-signature verifies with a wrong secret', 'not verified', 'verified');
      check(!verifyAxmeSignature(wrong, hit.headers, hit.body).ok, 'X-Axme-Signature verifies with a wrong secret', 'not verified', 'verified');
      // HTTP-003: wall-clock send time, never the test clock (the push arrived moments ago).
      const wallSec = Date.now() / 1000;
      check(Math.abs(ts - wallSec) <= 5, 'webhook-timestamp must be the send time on the wall clock in unix seconds (HTTP-003)', Math.round(wallSec), ts);

    },
  },
  {
    id: 'HTTP-003',
    title: 'a receiver failing twice with 500 gets retried with bounded backoff, fresh signatures and new delivery_ids',
    level: 'MUST',
    requirements: ['HTTP-022', 'HTTP-003', 'HTTP-002', 'DLV-013', 'DLV-014', 'DLV-003', 'DLV-004', 'EVT-004', 'LC-008'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ status: 500, times: 2 }, { status: 200 }], { max_delivery_attempts: 3 });
      const i = await send(ctx, sender, worker.address);
      await receiver.waitForHits(1, 5000);
      // Retry timing first (HTTP-022, DLV-013): the names of the failure come after, so a missing
      // backoff is reported as that and not hidden behind a differently spelled error.
      const failures: Wire[] = [];
      for (let n = 1; n <= 2; n++) {
        const failure = await failureOf(ctx, i.intent_id, n);
        check(typeof failure.details?.next_attempt_at === 'string', `a 500 must be retried: attempt ${n} of 3 failed with no next_attempt_at (HTTP-022)`, 'a next_attempt_at', failure.details?.next_attempt_at);
        await nextHit(ctx, receiver, failure, n + 1);
        checkBackoff(ctx, worker, failure, n, receiver.hits);
        failures.push(failure);
      }
      failures.forEach((failure, n) => equal({ e: failure.details.error, c: failure.details.status_code, s: failure.status }, { e: 'http_status', c: 500, s: 'SUBMITTED' }, `attempt ${n + 1} failure`));
      const hits = receiver.hits.slice(0, 3);
      equal(hits.map((h) => h.json?.attempt), [1, 2, 3], 'attempt numbers pushed');
      equal(new Set(hits.map((h) => h.json?.delivery_id)).size, 3, 'distinct delivery_ids');
      equal(hits.map((h) => h.headers['webhook-id']), [i.intent_id, i.intent_id, i.intent_id], 'webhook-id of every attempt');
      hits.forEach((h, n) => checkSigned(h, worker.secret!, `attempt ${n + 1}`));
      await ctx.eventually('ACKNOWLEDGED after the third attempt', async () => ((await getIntent(ctx, i.intent_id, sender.key)).status === 'ACKNOWLEDGED' ? true : undefined));
      equal(types(await events(ctx, i.intent_id, sender.key)), ['intent.created', 'intent.submitted', 'intent.delivery_attempt', 'intent.delivery_attempt', 'intent.delivered', 'intent.acknowledged'], 'events');
    },
  },
  {
    id: 'HTTP-004',
    title: 'a hanging receiver fails the attempt after timeout_ms of real time (error timeout)',
    level: 'MUST',
    requirements: ['HTTP-024', 'CLK-007'],
    ...httpCap,
    async run(ctx) {
      // Long enough that the retry's answer, which comes at once, is not cut by it on a loaded machine.
      const timeout = fit(ctx, 'timeout_ms', 1000);
      const { receiver, worker, sender } = await setup(ctx, [{ hang: true }, { status: 200 }], { timeout_ms: timeout });
      const started = performance.now();
      const i = await send(ctx, sender, worker.address);
      await receiver.waitForHits(1, 5000);
      const failure = await failureOf(ctx, i.intent_id, 1, timeout + 4000);
      const took = performance.now() - started;
      equal(failure.details.error, 'timeout', 'details.error');
      check(failure.details.status_code === undefined || failure.details.status_code === null, 'a timeout has no status_code', undefined, failure.details.status_code);
      check(took >= timeout * 0.9, 'the attempt failed before timeout_ms', timeout, Math.round(took));
      await nextHit(ctx, receiver, failure, 2);
      await ctx.eventually('ACKNOWLEDGED after the retry', async () => ((await getIntent(ctx, i.intent_id, sender.key)).status === 'ACKNOWLEDGED' ? true : undefined));
    },
  },
  {
    id: 'HTTP-005',
    title: '410 Gone stops at once: FAILED, delivery_failed and a dead letter with status 410',
    level: 'MUST',
    requirements: ['HTTP-023', 'HTTP-016', 'DLV-020'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ status: 410 }], { max_delivery_attempts: 5 });
      const i = await send(ctx, sender, worker.address);
      const failure = await failureOf(ctx, i.intent_id, 1);
      // No retry first (HTTP-023): a retried 410 fails as that, whatever the failure is called.
      equal(failure.details?.next_attempt_at, null, 'next_attempt_at of the 410 attempt (a 410 is not retried)');
      await passTime(ctx, 60_000);
      const end = await ctx.waitForTerminal(i.intent_id, sender.key, 5000);
      // A second push would come within the backoff; this long poll gives it that time.
      await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: sender.key, query: { wait_seconds: 1 } });
      equal(receiver.hits.length, 1, 'pushes after a 410');
      equal({ s: end.intent.status, c: end.intent.error?.code }, { s: 'FAILED', c: 'delivery_failed' }, 'the intent after a 410');
      equal(types(await events(ctx, i.intent_id, sender.key)).at(-1), 'intent.delivery_failed', 'the last event');
      equal({ e: failure.details.error, c: failure.details.status_code }, { e: 'http_status', c: 410 }, 'the 410 attempt');
      const dl = ok(await ctx.request({ method: 'GET', path: '/v1/dead-letters', key: ctx.adminKey, query: { agent: worker.address } }), 'dead letters');
      equal(dl.dead_letters.map((d: Wire) => [d.intent_id, d.binding, d.attempts, d.last_status_code]), [[i.intent_id, 'http', 1, 410]], 'dead-letter entries');
    },
  },
  {
    id: 'HTTP-006',
    title: 'Retry-After is honoured, and clamped to max_delay_ms',
    level: 'MUST',
    requirements: ['DLV-015', 'HTTP-026'],
    ...httpCap,
    forms: { 'DLV-015': ['Retry-After: delta-seconds', 'clamped to max_delay_ms'] },
    async run(ctx) {
      const maxDelay = fit(ctx, 'max_delay_ms', 2000);
      const { receiver, worker, sender } = await setup(ctx, [
        { status: 503, headers: { 'retry-after': '1' } },
        { status: 429, headers: { 'retry-after': '30' } },
        { status: 200 },
      ], { initial_delay_ms: fit(ctx, 'initial_delay_ms', 50), max_delay_ms: maxDelay, max_delivery_attempts: 3 });
      const i = await send(ctx, sender, worker.address);
      await receiver.waitForHits(1, 5000);
      for (const [n, header] of [[1, '1'], [2, '30']] as const) {
        const failure = await failureOf(ctx, i.intent_id, n);
        const bounds = retryAfterBounds(policyOf(worker), n, header, Date.parse(failure.at));
        const delay = gapMs(failure.at, failure.details.next_attempt_at);
        check(delayWithin(bounds, delay, 5), `delay after Retry-After: ${header} (attempt ${n})`, bounds, delay);
        await nextHit(ctx, receiver, failure, n + 1);
      }
    },
  },
  {
    id: 'HTTP-007',
    title: 'a 3xx is not followed and counts as a failed attempt; a 404 is retried',
    level: 'MUST',
    requirements: ['HTTP-021', 'SEC-022', 'HTTP-022'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ status: 200 }], { max_delivery_attempts: 3 });
      receiver.setScript([{ status: 302, headers: { location: `${receiver.url.replace(/\/$/, '')}/moved` } }, { status: 404 }, { status: 200 }]);
      const i = await send(ctx, sender, worker.address);
      const f1 = await failureOf(ctx, i.intent_id, 1);
      const second = await nextHit(ctx, receiver, f1, 2);
      equal(second.path, receiver.hits[0].path, 'the retry goes to the registered url, not the redirect target');
      const f2 = await failureOf(ctx, i.intent_id, 2);
      check(typeof f2.details.next_attempt_at === 'string', 'a 404 must be retried', 'next_attempt_at', f2.details.next_attempt_at);
      await nextHit(ctx, receiver, f2, 3);
      check(!receiver.hits.some((h) => h.path.includes('/moved')), 'the server followed the redirect', 'no hit on /moved', receiver.hits.map((h) => h.path));
      equal({ e: f1.details.error, c: f1.details.status_code }, { e: 'http_status', c: 302 }, 'the redirected attempt');
      equal({ e: f2.details.error, c: f2.details.status_code }, { e: 'http_status', c: 404 }, 'the 404 attempt');
    },
  },
  {
    id: 'HTTP-008',
    title: 'a refused connection and a reset connection are failed attempts with their own error',
    level: 'MUST',
    requirements: ['HTTP-025'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ reset: true }, { status: 200 }]);
      const i = await send(ctx, sender, worker.address);
      const reset = await failureOf(ctx, i.intent_id, 1);
      equal(reset.details.error, 'connection_reset', 'error of a reset connection');
      await nextHit(ctx, receiver, reset, 2);
      const port = await closedPort();
      const host = new URL(receiver.url).hostname;
      const refused = await ctx.agent({ role: 'refused', delivery: { binding: 'http', url: `http://${host}:${port}/hook`, timeout_ms: fit(ctx, 'timeout_ms', 1000), max_delivery_attempts: 1 } });
      const j = await send(ctx, sender, refused.address);
      const f = await failureOf(ctx, j.intent_id, 1);
      equal({ e: f.details.error, n: f.details.next_attempt_at }, { e: 'connection_refused', n: null }, 'the refused attempt');
    },
  },
  {
    id: 'HTTP-009',
    title: 'max_concurrency 1 keeps one push in flight per agent',
    level: 'MUST',
    requirements: ['HTTP-030'],
    ...httpCap,
    async run(ctx) {
      const timeout = fit(ctx, 'timeout_ms', 400);
      const { receiver, worker, sender } = await setup(ctx, [{ hang: true, times: 1 }, { status: 200 }], { max_concurrency: 1, timeout_ms: timeout });
      await send(ctx, sender, worker.address);
      await send(ctx, sender, worker.address);
      const hits = await receiver.waitForHits(2, scaled(ctx, timeout + 5000));
      // Judged on the order of events, not on a gap of clock readings: a busy event loop in the kit
      // would shrink the measured gap, but cannot reorder the hung push's close before the next one.
      check(hits[1].hungOpen === 0, 'a second push started while the first (hanging) one was still in flight', 'the first push ended first', `${String(hits[1].hungOpen)} push(es) still open when the second arrived`);
    },
  },
  {
    id: 'HTTP-010',
    title: 'a hanging receiver does not delay pushes to another agent',
    level: 'MUST',
    requirements: ['HTTP-031'],
    ...httpCap,
    async run(ctx) {
      const hangFor = fit(ctx, 'timeout_ms', 10_000);
      const slow = await setup(ctx, [{ hang: true }], { timeout_ms: hangFor, max_concurrency: 1 });
      const fastReceiver = await httpReceiver(ctx, [{ status: 200 }]);
      const fast = await agent(ctx, 'fast', 'http', {}, fastReceiver);
      for (let n = 0; n < 3; n++) await send(ctx, slow.sender, slow.worker.address);
      await slow.receiver.waitForHits(1, 5000);
      // A push queued behind the hanging one comes after its timeout_ms at the earliest; a bound
      // well under that tells the two apart, and leaves a loaded machine seconds of slack.
      const bound = Math.min(scaled(ctx, 3000), Math.round(hangFor * 0.8));
      const started = performance.now();
      await send(ctx, slow.sender, fast.address);
      await fastReceiver.waitForHits(1, hangFor * 2);
      const took = performance.now() - started;
      check(took < bound, 'the push to a healthy agent waited for a hanging one', `< ${bound} ms`, Math.round(took));
    },
  },
  {
    id: 'HTTP-011',
    title: 'after rotate_secret each header carries two signatures, the new secret\'s first',
    level: 'MUST',
    requirements: ['HTTP-011', 'HTTP-012'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ status: 200 }]);
      const rotated = ok(await ctx.request({ method: 'PUT', path: `/v1/agents/${worker.path}`, key: ctx.adminKey, json: { delivery: { ...worker.delivery }, rotate_secret: true } }), 'rotate_secret');
      const fresh: string = rotated.secret;
      check(fresh && fresh !== worker.secret, 'rotate_secret must return a new secret', 'new secret', fresh);
      await send(ctx, sender, worker.address);
      const [hit] = await receiver.waitForHits(1, 5000);
      const ts = Number(hit.headers['webhook-timestamp']);
      const std = String(hit.headers['webhook-signature'] ?? '').split(' ');
      const axme = String(hit.headers['x-axme-signature'] ?? '').split(' ');
      equal([std.length, axme.length], [2, 2], 'signatures per header during the overlap');
      const only = (name: string, value: string) => ({ ...hit.headers, [name]: value });
      check(verifyStandardWebhook(fresh, only('webhook-signature', std[0]), hit.body, { now: ts * 1000 }).ok, 'the first webhook-signature entry must be the new secret\'s', 'new', std[0]);
      check(verifyStandardWebhook(worker.secret!, only('webhook-signature', std[1]), hit.body, { now: ts * 1000 }).ok, 'the second webhook-signature entry must be the old secret\'s', 'old', std[1]);
      check(verifyAxmeSignature(fresh, only('x-axme-signature', axme[0]), hit.body).ok, 'the first X-Axme-Signature entry must be the new secret\'s', 'new', axme[0]);
      check(verifyAxmeSignature(worker.secret!, only('x-axme-signature', axme[1]), hit.body).ok, 'the second X-Axme-Signature entry must be the old secret\'s', 'old', axme[1]);
    },
  },
  {
    id: 'HTTP-012',
    title: 'the push names the server and axp/1 in User-Agent',
    level: 'SHOULD',
    requirements: ['HTTP-004'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ status: 200 }]);
      await send(ctx, sender, worker.address);
      const [hit] = await receiver.waitForHits(1, 5000);
      check(/axp\/1/.test(hit.headers['user-agent'] ?? ''), 'User-Agent should name axp/1', 'axp/1', hit.headers['user-agent']);
    },
  },
  {
    id: 'HTTP-013',
    title: 'an always-failing receiver exhausts the attempts: FAILED and an http dead letter',
    level: 'MUST',
    requirements: ['DLV-020', 'DLV-019', 'HTTP-022'],
    ...httpCap,
    async run(ctx) {
      const { receiver, worker, sender } = await setup(ctx, [{ status: 500 }], { max_delivery_attempts: 2 });
      const i = await send(ctx, sender, worker.address);
      const f1 = await failureOf(ctx, i.intent_id, 1);
      await nextHit(ctx, receiver, f1, 2);
      const f2 = await failureOf(ctx, i.intent_id, 2);
      equal(f2.details.next_attempt_at, null, 'next_attempt_at after the last attempt');
      const end = await ctx.waitForTerminal(i.intent_id, sender.key, 5000);
      equal({ s: end.intent.status, c: end.intent.error?.code }, { s: 'FAILED', c: 'delivery_failed' }, 'the exhausted intent');
      const dl = ok(await ctx.request({ method: 'GET', path: '/v1/dead-letters', key: ctx.adminKey, query: { agent: worker.address } }), 'dead letters');
      equal(dl.dead_letters.map((d: Wire) => [d.intent_id, d.binding, d.attempts, d.last_error, d.last_status_code]), [[i.intent_id, 'http', 2, 'http_status', 500]], 'dead-letter entries');
      if (receiver.hits.length !== 2) fail('pushes of an exhausted intent', 2, receiver.hits.length);
    },
  },
  {
    id: 'HTTP-014',
    title: 'a 2xx arriving after the receiver already resumed appends no event',
    level: 'MUST',
    requirements: ['HTTP-006', 'LC-013', 'RES-009'],
    ...httpCap,
    async run(ctx) {
      if (limits(ctx).allow_private_callbacks === false) throw new NotApplicable(`this case pushes to a kit server on loopback, which the target refuses (SEC-020); to run it, ${PRIVATE_CALLBACKS_HINT}`);
      // A receiver that holds its answer until the case has resumed the intent (the kit's scripted
      // receiver answers at once or never).
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => { release = resolve; });
      let arrived: (body: string) => void = () => undefined;
      const push = new Promise<string>((resolve) => { arrived = resolve; });
      const server = createHttpServer((req, res) => {
        let body = '';
        req.on('data', (c) => { body += c; });
        req.on('end', () => { arrived(body); void released.then(() => res.writeHead(200).end('{}')); });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
        const worker = await ctx.agent({ role: 'worker', delivery: { binding: 'http', url, timeout_ms: fit(ctx, 'timeout_ms', 10_000), max_delivery_attempts: 1 } });
        const sender = await agent(ctx, 'sender', 'poll');
        const i = await send(ctx, sender, worker.address);
        const body = await Promise.race([push, new Promise<string>((_r, reject) => setTimeout(() => reject(new Error('no push within 5 s')), 5000 * ctx.timeoutScale))]);
        equal(JSON.parse(body).intent_id, i.intent_id, 'the held push');
        const answer = ok(await ctx.request({ method: 'POST', path: `/v1/intents/${i.intent_id}/resume`, key: worker.key, json: { action: 'progress' } }), 'resume progress before answering the push');
        release();
        await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: sender.key, query: { wait_seconds: 1 } });
        const list = await events(ctx, i.intent_id, sender.key);
        equal(types(list), ['intent.created', 'intent.submitted', 'intent.in_progress'], 'events after the late 2xx');
        equal(list.at(-1).seq, answer.event.seq, 'last seq');
        equal((await getIntent(ctx, i.intent_id, sender.key)).status, 'IN_PROGRESS', 'status after the late 2xx');
      } finally {
        release();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  },
  {
    id: 'HTTP-015',
    title: 'Retry-After as an HTTP-date is honoured like delta-seconds',
    level: 'MUST',
    requirements: ['DLV-015', 'HTTP-026'],
    ...httpCap,
    forms: { 'DLV-015': ['Retry-After: HTTP-date (IMF-fixdate)'] },
    async run(ctx) {
      const maxDelay = fit(ctx, 'max_delay_ms', 10_000);
      const { receiver, worker, sender } = await ctx.setup('an http worker whose receiver answers 503 once', () => setup(ctx, [{ status: 200 }], { initial_delay_ms: fit(ctx, 'initial_delay_ms', 50), max_delay_ms: maxDelay, max_delivery_attempts: 3 }));
      // An HTTP-date is the receiver's wall-clock time, compared with the wall clock even under the
      // test clock (CLK-004). The server reads it when the answer arrives, between the send and the hit.
      const date = new Date((Math.ceil(Date.now() / 1000) + 4) * 1000).toUTCString();
      receiver.setScript([{ status: 503, headers: { 'retry-after': date } }, { status: 200 }]);
      const before = Date.now();
      const i = await send(ctx, sender, worker.address);
      await receiver.waitForHits(1, 5000);
      const after = Date.now();
      const failure = await failureOf(ctx, i.intent_id, 1);
      const ordinary = retryAfterBounds(policyOf(worker), 1, undefined, 0);
      const clamp = (ms: number) => Math.min(maxDelay, Math.max(ordinary.min, ms));
      // One second of slack for the clocks of kit and target being set apart.
      const bounds = { min: clamp(Date.parse(date) - after) - 1000, max: clamp(Date.parse(date) - before) + 1000 };
      const delay = gapMs(failure.at, failure.details.next_attempt_at);
      check(delayWithin(bounds, delay), `delay after Retry-After: ${date}`, bounds, delay);
      check(delay > ordinary.max || clamp(Date.parse(date) - after) <= ordinary.max, `the delay after Retry-After: ${date} is the ordinary backoff: the date was ignored`, bounds, delay);
      await nextHit(ctx, receiver, failure, 2);
    },
  },
  {
    id: 'HTTP-201',
    title: 'a retry sent after protocol time moved on carries its own send time in webhook-timestamp',
    level: 'MUST',
    requirements: ['HTTP-003'],
    ...needs('binding.http', 'binding.poll', 'ext.test-clock'),
    async run(ctx) {
      // Ten minutes on the test clock first: from here on the server's clock and the wall clock
      // differ by at least that, so a timestamp taken at any earlier moment (the intent's creation,
      // the first attempt) matches neither clock at the retry.
      await passTime(ctx, TEN_MINUTES_MS);
      const receiver = await httpReceiver(ctx, [{ status: 500 }, { status: 200 }]);
      const worker = await agent(ctx, 'worker', 'http', { initial_delay_ms: RETRY_DELAY_MS, max_delay_ms: RETRY_DELAY_MS, max_delivery_attempts: 3 }, receiver);
      const sender = await agent(ctx, 'sender', 'poll');
      const i = await send(ctx, sender, worker.address);
      await receiver.waitForHits(1, 5000);
      const failure: Wire = await eventuallyEvent(ctx, i.intent_id, ctx.adminKey, 'intent.delivery_attempt for attempt 1', (e) => e.event_type === 'intent.delivery_attempt' && e.details?.attempt === 1, 4000);
      check(failure.details?.next_attempt_at, 'the failed attempt must announce next_attempt_at', 'a timestamp', failure.details?.next_attempt_at);
      await passTime(ctx, gapMs(failure.at, failure.details.next_attempt_at) + 1);
      const retry = (await receiver.waitForHits(2, 4000))[1];
      const delivered: Wire = await eventuallyEvent(ctx, i.intent_id, ctx.adminKey, 'intent.delivered', (e) => e.event_type === 'intent.delivered');
      const ts = Number(retry.headers['webhook-timestamp']);
      check(/^\d+$/.test(retry.headers['webhook-timestamp'] ?? ''), 'the retry\'s webhook-timestamp must be unix seconds', 'digits', retry.headers['webhook-timestamp']);
      const serverSec = Date.parse(delivered.at) / 1000;
      const wallSec = Date.now() / 1000;
      check(Math.abs(ts - serverSec) <= 5 || Math.abs(ts - wallSec) <= 5, 'webhook-timestamp of the retry must be its own send time (HTTP-003), on the server\'s clock or the wall clock', { server: Math.round(serverSec), wall: Math.round(wallSec) }, ts);
      const verified = verifyStandardWebhook(worker.secret as string, retry.headers, retry.body, { now: ts * 1000 });
      check(verified.ok, 'the retry\'s webhook-signature must verify with its own timestamp', 'verified', verified);
    },
  },
]);


/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}