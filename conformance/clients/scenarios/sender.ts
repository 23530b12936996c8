// Sender scenarios (spec/17-clients.md, "Sender"): the program creates one intent through its SDK
// while the fault layer refuses, delays or cuts the create; the kit judges from the creates the
// server saw (keys, bodies, times) and from what the application was told.
import { sameCreateBody } from '../../wire/idempotency.js';
import type { Exchange } from '../proxy.js';
import type { ClientScenario, ScenarioRun } from '../scenario.js';
import { VALID_KEY, fail, finished, intentBody, isCreate, parties, problem, seconds } from './support.js';

/** Clock slack for lower bounds: timer granularity, never the program's latency (that only adds). */
const SLACK_MS = 25;

async function sendOnce(s: ScenarioRun, timeoutMs = 15_000) {
  const { sender, receiver } = await parties(s);
  const intent = intentBody(s, receiver.address);
  const driver = s.start({ action: 'send', intent }, sender.key);
  await finished(s, driver, 'the send', timeoutMs);
  return { sender, intent, driver, creates: s.requests(isCreate) };
}

/** CLI-001, CLI-002: every create carries a valid key, every retry the same key and the same body. */
function checkKeys(creates: Exchange[], intent: unknown): void {
  if (creates.length === 0) fail('the program sent no POST /v1/intents');
  const keys = creates.map((e) => e.headers['idempotency-key']);
  if (keys.some((k) => k === undefined)) fail('a POST /v1/intents was sent without an Idempotency-Key header (CLI-001)', 'an Idempotency-Key on every create', keys);
  const bad = keys.find((k) => !VALID_KEY.test(k!));
  if (bad !== undefined) fail('the Idempotency-Key is not 8 to 128 visible ASCII characters (IDEM-005)', '8..128 characters in 0x21..0x7E', bad);
  if (new Set(keys).size > 1) fail('a retry of the create carried a different Idempotency-Key: the server counts it as a new intent (CLI-002)', `one key for every send: ${keys[0]}`, keys);
  const first = creates[0].json;
  if (sameCreateBody(first, intent) !== 'replay') fail('the create body is not the intent the application gave', intent, first);
  const changed = creates.find((e) => sameCreateBody(e.json, first) !== 'replay');
  if (changed) fail(`send #${changed.n} changed the body under the same key (CLI-002; the server answers 409 idempotency_key_conflict)`, first, changed.json);
}

async function oneIntent(s: ScenarioRun, key: string, sentId: string | undefined): Promise<void> {
  const stored = await s.server.sentBy(key);
  if (stored.length !== 1) fail(`the server holds ${stored.length} intents from this sender after one send`, 1, stored.map((i: any) => i.intent_id));
  if (sentId !== stored[0].intent_id) fail('the application was not given the intent the server created', stored[0].intent_id, sentId ?? '(no {"type":"sent"} line)');
}

/** Answers the first `times` creates with the given status and Retry-After, then passes them on. */
function refuseFirst(s: ScenarioRun, times: number, status: number, code: string, retryAfter: () => string | undefined): void {
  let refused = 0;
  s.script((e) => {
    if (!isCreate(e) || refused >= times) return undefined;
    refused++;
    const value = retryAfter();
    const headers: Record<string, string> = value === undefined ? {} : { 'retry-after': value };
    return { kind: 'respond', status, headers, body: problem(status, code, 'try again later'), fault: `${status} ${code}${value === undefined ? '' : `, Retry-After: ${value}`}` };
  });
}

function checkWaited(creates: Exchange[], minMs: (refusal: Exchange) => number): void {
  for (let i = 1; i < creates.length; i++) {
    const refusal = creates[i - 1];
    if (refusal.answeredAtMs === undefined) continue;
    const gap = creates[i].atMs - refusal.answeredAtMs;
    const wanted = minMs(refusal);
    if (gap + SLACK_MS < wanted) fail(`send #${creates[i].n} came ${seconds(gap)} after the ${refusal.status} of send #${refusal.n}, before its Retry-After had passed (CLI-005)`, `at least ${seconds(wanted)}`, seconds(gap));
  }
}

export const senderScenarios: ClientScenario[] = [
  {
    id: 'SEND-001', name: 'send-idempotency-key', group: 'sender', role: 'sender', level: 'MUST',
    title: 'A create carries an Idempotency-Key and the application gets the intent',
    requirements: ['CLI-001'],
    async run(s) {
      const { sender, intent, driver, creates } = await sendOnce(s);
      checkKeys(creates, intent);
      await oneIntent(s, sender.key, driver.of('sent')[0]?.intent_id);
    },
  },
  {
    id: 'SEND-002', name: 'send-retry-after-seconds', group: 'sender', role: 'sender', level: 'MUST',
    title: '503 with Retry-After: 2: retried after the delay, same key and body, one intent',
    requirements: ['CLI-002', 'CLI-003', 'CLI-005'],
    timeoutMs: 30_000,
    async run(s) {
      refuseFirst(s, 1, 503, 'overloaded', () => '2');
      const { sender, intent, driver, creates } = await sendOnce(s, 25_000);
      checkKeys(creates, intent);
      if (creates.length < 2) fail(`the program sent the create ${creates.length} time(s): a 503 on a keyed create is to be retried (CLI-003)`, 'two sends (one refused, one accepted)', creates.length);
      checkWaited(creates.slice(0, 2), () => 2000);
      await oneIntent(s, sender.key, driver.of('sent')[0]?.intent_id);
    },
  },
  {
    id: 'SEND-003', name: 'send-retry-after-date', group: 'sender', role: 'sender', level: 'MUST',
    title: '429 with Retry-After as an HTTP date: not retried before that date',
    requirements: ['CLI-002', 'CLI-003', 'CLI-005'],
    timeoutMs: 30_000,
    async run(s) {
      let until = 0;
      refuseFirst(s, 1, 429, 'rate_limited', () => {
        // Two to three seconds ahead, on a whole second (an HTTP date has no fractions).
        until = (Math.floor(Date.now() / 1000) + 3) * 1000;
        return new Date(until).toUTCString();
      });
      const { sender, intent, driver, creates } = await sendOnce(s, 25_000);
      checkKeys(creates, intent);
      if (creates.length < 2) fail('the program did not retry the create after a 429 with Retry-After (CLI-003)', 'a retry after the date', creates.length);
      const retry = creates[1];
      if (retry.wallMs + SLACK_MS < until) fail(`the retry came ${seconds(until - retry.wallMs)} before the Retry-After date (CLI-005)`, new Date(until).toISOString(), new Date(retry.wallMs).toISOString());
      await oneIntent(s, sender.key, driver.of('sent')[0]?.intent_id);
    },
  },
  {
    id: 'SEND-004', name: 'send-reset-after-processing', group: 'sender', role: 'sender', level: 'MUST',
    title: 'The connection is reset after the server created the intent: the retry replays it, one intent',
    requirements: ['CLI-002', 'CLI-003'],
    async run(s) {
      let cut = false;
      s.script((e) => {
        if (!isCreate(e) || cut) return undefined;
        cut = true;
        return { kind: 'forward', resetAfter: true, fault: 'connection reset after the server processed the create' };
      });
      const { sender, intent, driver, creates } = await sendOnce(s);
      checkKeys(creates, intent);
      if (creates.length < 2) fail('the program did not retry the create after the connection was lost (CLI-003)', 'a retry with the same key', creates.length);
      await oneIntent(s, sender.key, driver.of('sent')[0]?.intent_id);
    },
  },
  {
    id: 'SEND-005', name: 'send-no-retry-422', group: 'sender', role: 'sender', level: 'MUST',
    title: '422 validation_failed: not retried, the application gets the code',
    requirements: ['CLI-004', 'CLI-008'],
    async run(s) {
      s.script((e) => (isCreate(e) ? { kind: 'respond', status: 422, body: { ...problem(422, 'validation_failed', '/payload/amount_cents must be <= 100'), errors: [{ pointer: '/payload/amount_cents', message: 'must be <= 100', keyword: 'maximum', location: 'body' }] }, fault: '422 validation_failed' } : undefined));
      const { driver, creates } = await sendOnce(s);
      if (creates.length === 0) fail('the program sent no POST /v1/intents');
      if (creates.length !== 1) fail(`the program sent the refused create ${creates.length} times: a 422 is never retried (CLI-004)`, 1, creates.length);
      checkError(driver.of('error'), 422, 'validation_failed');
    },
  },
  {
    id: 'SEND-006', name: 'send-no-retry-409', group: 'sender', role: 'sender', level: 'MUST',
    title: '409 idempotency_key_conflict: not retried with this or another key, the application gets the code',
    requirements: ['CLI-004', 'CLI-008'],
    async run(s) {
      s.script((e) => (isCreate(e) ? { kind: 'respond', status: 409, body: problem(409, 'idempotency_key_conflict', 'this key was used with another body'), fault: '409 idempotency_key_conflict' } : undefined));
      const { driver, creates } = await sendOnce(s);
      if (creates.length === 0) fail('the program sent no POST /v1/intents');
      if (creates.length !== 1) fail(`the program sent the create ${creates.length} times after a 409: a 4xx is never retried, and a new key would create a second intent (CLI-004)`, 1, creates.length);
      checkError(driver.of('error'), 409, 'idempotency_key_conflict');
    },
  },
  {
    id: 'SEND-007', name: 'send-backoff-bounded', group: 'sender', role: 'sender', level: 'MUST',
    title: '503 on every send, no Retry-After: retries back off, stop, and the application gets the code',
    requirements: ['CLI-006', 'CLI-008'],
    timeoutMs: 60_000,
    async run(s) {
      s.script((e) => (isCreate(e) ? { kind: 'respond', status: 503, body: problem(503, 'overloaded', 'the server is overloaded'), fault: '503 overloaded (no Retry-After)' } : undefined));
      const { sender, receiver } = await parties(s);
      const driver = s.start({ action: 'send', intent: intentBody(s, receiver.address) }, sender.key);
      // A retry loop without backoff shows itself within a second: stop it there.
      const ended = await s.seen(() => (s.requests(isCreate).length > 30 ? 'hot' : driver.exit ? 'exited' : undefined), 55_000);
      if (ended === 'hot') fail(`the program sent the create more than 30 times in ${seconds(s.requests(isCreate).at(-1)!.atMs - s.requests(isCreate)[0].atMs)}: retries are to be bounded and spaced by a backoff (CLI-006)`, 'a bounded number of spaced retries', s.requests(isCreate).length);
      if (!driver.exit) {
        await driver.stop();
        fail(`the program was still retrying after ${seconds(55_000 * s.timeoutScale)}: retries are to be bounded (CLI-006)`);
      }
      const creates = s.requests(isCreate);
      if (creates.length < 2) fail('the program did not retry a 503 on a keyed create at all (CLI-003)', 'a bounded number of retries', creates.length);
      // Only what holds for every backoff shape (full jitter included): the resends were not immediate.
      const span = creates.at(-1)!.atMs - creates[0].atMs;
      if (span < 100) fail(`${creates.length} sends within ${seconds(span)}: the retries are not spaced by a backoff (CLI-006)`, 'delays that grow between retries', creates.map((e) => e.atMs));
      checkError(driver.of('error'), 503, 'overloaded');
    },
  },
];

function checkError(errors: Array<{ code: string; status?: number }>, status: number, code: string): void {
  if (errors.length === 0) fail(`the application was not told of the failure: expected an {"type":"error"} line with code ${code} (CLI-008)`, { code, status }, '(no error line)');
  const last = errors.at(-1)!;
  if (last.code !== code || (last.status !== undefined && last.status !== status)) fail('the application did not get the problem\'s code and status (CLI-008)', { code, status }, last);
}
