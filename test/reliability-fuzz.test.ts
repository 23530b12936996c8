// ERR-002..ERR-014 under hostile input: a fast-check run of 10,000 requests across every route of
// schemas/routes.ts (broken JSON, wrong types, huge strings, deep nesting, unicode edge cases incl.
// lone surrogates, header injection attempts, path traversal in agent addresses, odd methods, wrong
// content types) → never a 5xx, always a problem+json error, and a rejected request writes nothing:
// every store write is attributed to the request that caused it, and a
// request answered ≥ 400 must own none.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes, type RouteSpec } from '../schemas/routes.js';
import { validate } from '../schemas/index.js';
import { buildServer } from '../reference-server/index.js';
import { ERRORS } from '../reference-server/errors.js';
import { MemoryStore } from '../reference-server/store/memory.js';
import type { Store, StoreTx } from '../reference-server/store/store.js';

const ADMIN = 'fuzz-admin-key-0123456789';
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

// --- a store that attributes every committed mutation to the request that caused it ----------
// Requests run one at a time and the test waits after each until no store unit is pending, so
// every write (including the background work a request started, like an inbox claim) happens
// while its own request is the current one. (AsyncLocalStorage does not survive inject().)
let currentRequest: number | undefined;
const mutationsBy = new Map<number, string[]>();
const MUTATIONS = /^(put|insert|update|append|add|delete|cancel)/;

class AttributingStore implements Store {
  readonly kind = 'memory' as const;
  pending = 0;
  constructor(private readonly inner: Store) {}
  get ordered(): boolean { return this.inner.ordered; }
  private unit<T>(run: (fn: (tx: StoreTx) => Promise<T>) => Promise<T>, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const id = currentRequest;
    const writes: string[] = [];
    this.pending += 1;
    return run(async (tx) => {
      const counted = new Proxy(tx, {
        get: (target, prop, receiver) => {
          const value = Reflect.get(target, prop, receiver);
          if (typeof prop === 'string' && MUTATIONS.test(prop) && typeof value === 'function') {
            return (...args: unknown[]) => { writes.push(prop); return (value as (...a: unknown[]) => unknown).apply(target, args); };
          }
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      return fn(counted);
    }).then((value) => {
      // Only committed units count (a unit that threw was rolled back).
      if (id !== undefined && writes.length > 0) mutationsBy.set(id, [...(mutationsBy.get(id) ?? []), ...writes]);
      return value;
    }).finally(() => { this.pending -= 1; });
  }
  write<T>(fn: (tx: StoreTx) => Promise<T>) { return this.unit((f) => this.inner.write(f), fn); }
  read<T>(fn: (tx: StoreTx) => Promise<T>) { return this.unit((f) => this.inner.read(f), fn); }
  close() { return this.inner.close(); }
}

const store = new AttributingStore(new MemoryStore());

/** Runs one request as the current one and waits until the store has been idle for a few turns. */
async function attributed<T>(id: number, send: () => Promise<T>): Promise<T> {
  currentRequest = id;
  try {
    const result = await send();
    for (let quiet = 0; quiet < 3;) {
      await new Promise((resolve) => setImmediate(resolve));
      quiet = store.pending === 0 ? quiet + 1 : 0;
    }
    return result;
  } finally {
    currentRequest = undefined;
  }
}

// --- generators --------------------------------------------------------------------------------
/** Percent-encodes anything, lone surrogates included (as the bytes of an unpaired UTF-16 half). */
function encodeAny(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out += code >= 0xd800 && code <= 0xdfff ? '%ED%A0%80' : encodeURIComponent(ch);
  }
  return out;
}

const weirdSegment = fc.constantFrom('..', '.', '%2e%2e', '..%2F..%2Fetc%2Fpasswd', '%00', 'a%2Fb', '%ED%A0%80', '%E2%80%AE', '%F0%9F%98%80',
  'A'.repeat(300), '', '%20', '%', '%zz', '*', 'intents', 'stream', 'CON', '..%5C..%5C', '%C0%AE%C0%AE', '~root', ';', '%3Bx%3D1');
const segment = fc.oneof(fc.constantFrom('fuzz', 'acme', 'prod'), weirdSegment, fc.string({ unit: 'binary', maxLength: 20 }).map(encodeAny));
const address = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('fuzz/receiver', 'fuzz/sender', 'fuzz/poller', 'fuzz/none/here') },
  { weight: 3, arbitrary: fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/')) },
  { weight: 1, arbitrary: fc.constantFrom('../../etc/passwd', 'fuzz/../../v1/dead-letters', 'fuzz/./receiver', 'fuzz//receiver', 'agent:%2F%2Ffuzz/receiver') },
);

/** A JSON text that is not valid JSON, or valid JSON a parser may struggle with. */
const rawJson = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.tuple(fc.jsonValue(), fc.nat()).map(([v, n]) => { const t = JSON.stringify(v) ?? ''; return t.slice(0, n % (t.length + 1)); }),
  fc.constantFrom('{', '}', '{"a":}', '[1,]', "{'a':1}", '{"a":1}garbage', 'null', 'true', '"str"', '1e400', '-0', 'NaN', '\u0000', '\uFEFF{}',
    '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', '{"intent_type":"\\ud800","to_agent":"agent://fuzz/receiver","payload":{}}',
    '{"payload":{"\\udfff":"\\ud83d"}}', '{"a":"\\u0000"}', '{"a":1,"a":2}'),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `{"intent_type":"test.fuzz.v1","to_agent":"agent://fuzz/receiver","payload":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
  fc.constantFrom(200_000, 1_100_000).map((n) => `{"intent_type":"test.fuzz.v1","to_agent":"agent://fuzz/receiver","payload":{"big":"${'x'.repeat(n)}"}}`),
);

const oddValue = fc.oneof(fc.jsonValue(), fc.string({ unit: 'binary' }), fc.constantFrom('', 'x'.repeat(70_000), -1, 1e308, null, [], {}, '\ud800', 'agent://../..'));

function validBody(spec: RouteSpec): Record<string, unknown> | undefined {
  switch (spec.id) {
    case 'putAgent': return { delivery: { binding: 'poll' } };
    case 'createIntent': return { intent_type: 'test.fuzz.v1', to_agent: 'agent://fuzz/receiver', payload: { n: 1 } };
    case 'ackIntent': case 'cancelIntent': case 'approveInboxThread': case 'rejectInboxThread': return {};
    case 'resumeIntent': return { action: 'progress' };
    case 'resolveIntent': return { status: 'COMPLETED', result: {} };
    case 'replyInboxThread': return { message: 'hi' };
    case 'advanceTestClock': return { advance_ms: 1 };
  }
  return undefined;
}

const body = (spec: RouteSpec) => fc.oneof(
  { weight: 2, arbitrary: fc.constant(validBody(spec)).map((b) => (b === undefined ? undefined : JSON.stringify(b))) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...Object.keys(validBody(spec) ?? { x: 1 }), 'extra', 'from_agent', 'payload', 'delivery'), oddValue)
    .map(([key, value]) => JSON.stringify({ ...validBody(spec), [key]: value })) },
  { weight: 3, arbitrary: rawJson },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const contentType = fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain',
  'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/problem+json',
  'application/json, text/plain', 'application/json\t;x=1', '', undefined);

/** Header values as they can arrive on the wire (latin1, no CR/LF/NUL), with injection attempts in them. */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.constantFrom('a%0d%0aX-Injected: 1', 'x\tSet-Cookie: y=1', '%0aLocation: http://evil', 'ÿþ', ' ', 'axp_' + 'A'.repeat(500)),
);

// wait_seconds never waits (the fuzz must stay fast): only 0 or invalid values.
const waitSeconds = fc.constantFrom('0', '-1', 'abc', '61', '1.5', '', '1e3', 'null', '0.0');
const queryValue = fc.oneof(fc.constantFrom('0', '1', '-1', '500', '501', 'true', 'x', '', 'COMPLETED', 'sender', 'agent://fuzz/receiver', 'A'.repeat(600)),
  fc.string({ unit: 'binary', maxLength: 20 }));

const KEYS = ['none', 'bad', 'sender', 'receiver', 'admin', 'weird'] as const;

const request = fc.constantFrom(...routes).chain((spec) => fc.record({
  spec: fc.constant(spec),
  method: fc.oneof({ weight: 8, arbitrary: fc.constant(spec.method) }, { weight: 2, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') }),
  address,
  id: fc.oneof(fc.constantFrom('INTENT', 'THREAD'), fc.uuid(), weirdSegment, fc.string({ unit: 'binary', maxLength: 40 }).map(encodeAny)),
  query: fc.dictionary(fc.oneof(fc.constantFrom(...Object.keys(spec.query?.properties ?? {}), 'since', 'limit', 'owner_agent'), fc.string({ maxLength: 8 })), queryValue, { maxKeys: 4 }),
  wait: waitSeconds,
  body: body(spec),
  contentType,
  key: fc.constantFrom(...KEYS),
  idempotencyKey: fc.option(headerValue),
  lastEventId: fc.option(headerValue),
  traceId: fc.option(headerValue),
}));

// --- the run ------------------------------------------------------------------------------------
let app: FastifyInstance;
let fixture: { keys: Record<(typeof KEYS)[number], string | undefined>; intent: string; thread: string };

beforeAll(async () => {
  // Load shedding off: a loaded machine's event-loop delay would answer 503 overloaded, which is
  // not what this test judges (the reliability-overload tests do).
  app = await buildServer({ store, adminKey: ADMIN, testClock: true, pressure: { maxEventLoopDelayMs: 0 } });
  await app.ready();
  const admin = { 'x-api-key': ADMIN };
  const register = async (address: string, binding: string) =>
    (await app.inject({ method: 'PUT', url: `/v1/agents/${address}`, headers: admin, payload: { delivery: { binding } } })).json().api_key as string;
  const sender = await register('fuzz/sender', 'poll');
  const receiver = await register('fuzz/receiver', 'stream');
  await register('fuzz/poller', 'poll');
  await register('fuzz/inbox', 'inbox');
  const send = async (to: string, extra = {}) =>
    (await app.inject({ method: 'POST', url: '/v1/intents', headers: { 'x-api-key': sender }, payload: { intent_type: 'test.fuzz.v1', to_agent: to, payload: {}, ...extra } })).json().intent_id as string;
  const intent = await send('agent://fuzz/receiver');
  const thread = await send('agent://fuzz/inbox', { human_task: { title: 't', task_type: 'approval' } });
  expect([sender, receiver, intent, thread].every((v) => typeof v === 'string')).toBe(true);
  fixture = { keys: { none: undefined, bad: 'axp_unknown-key-000000000000000', sender, receiver, admin: ADMIN, weird: 'Bearer ' }, intent, thread };
});

afterAll(async () => { await app.close(); });

describe('hostile input across every route', () => {
  it(`${RUNS} requests: no 5xx, always problem+json, and a rejected request writes nothing`, async () => {
    // The attribution works: a known accepted write is seen writing, under its own request id.
    const probe = await attributed(0, () => app.inject({ method: 'PUT', url: '/v1/agents/fuzz/probe', headers: { 'x-api-key': ADMIN }, payload: { delivery: { binding: 'poll' } } }));
    expect(probe.statusCode).toBe(200);
    expect(mutationsBy.get(0)).toContain('putAgent');
    let next = 0;
    const created = new Set<string>();
    const statuses = new Map<number, number>();
    const routesHit = new Set<string>();
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const id = r.id === 'INTENT' ? fixture.intent : r.id === 'THREAD' ? fixture.thread : r.id;
      let url = r.spec.path.replace('{address}', r.address).replace(/\{\w+\}/g, id);
      const query = { ...r.query, wait_seconds: r.wait };
      url += `?${Object.entries(query).map(([k, v]) => `${encodeAny(k)}=${encodeAny(v)}`).join('&')}`;
      const headers: Record<string, string> = {};
      const key = fixture.keys[r.key];
      if (key !== undefined) headers[r.key === 'weird' ? 'authorization' : 'x-api-key'] = key;
      if (r.contentType !== undefined && r.body !== undefined) headers['content-type'] = r.contentType;
      if (r.idempotencyKey !== null) headers['idempotency-key'] = r.idempotencyKey;
      if (r.lastEventId !== null) headers['last-event-id'] = r.lastEventId;
      if (r.traceId !== null) headers['x-trace-id'] = r.traceId;

      const requestId = ++next;
      const res = await attributed(requestId, () => app.inject({ method: r.method as 'GET', url, headers, payload: r.body }));
      routesHit.add(r.spec.id);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const context = `${r.method} ${url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
      expect(res.statusCode, context).toBeLessThan(500);
      expect(Object.keys(res.headers).filter((h) => /injected|set-cookie|location/i.test(h)), context).toEqual([]);
      if (res.statusCode >= 400) {
        expect(mutationsBy.get(requestId) ?? [], `a rejected request wrote: ${context}`).toEqual([]);
        if (r.method !== 'HEAD') {
          expect(res.headers['content-type'], context).toMatch(/^application\/problem\+json/);
          const problem = res.json();
          expect(validate('problem', problem), context).toEqual({ ok: true });
          expect(ERRORS[problem.code as keyof typeof ERRORS]?.status, context).toBe(res.statusCode);
        }
      } else if (r.spec.id === 'createIntent' && r.method === 'POST' && res.statusCode === 200) {
        created.add(res.json().intent_id);
      }
    }), { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true });

    // Every route was exercised, most requests were refused, and the server still answers.
    expect([...routesHit].sort()).toEqual(routes.map((r) => r.id).sort());
    expect(next).toBeGreaterThanOrEqual(RUNS);
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    // Counts through admin reads: the intents are the two fixtures plus the creates answered 200.
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { json(): { intents: { intent_id: string }[]; next_cursor: string | null } } = await app.inject({ method: 'GET', url: `/v1/intents?limit=500${cursor ? `&cursor=${cursor}` : ''}`, headers: { 'x-api-key': ADMIN } });
      expect(page.json().intents, JSON.stringify(page.json()).slice(0, 300)).toBeDefined();
      for (const i of page.json().intents) ids.add(i.intent_id);
      cursor = page.json().next_cursor;
    } while (cursor);
    expect(ids.size).toBe(2 + created.size);
    console.log(`fuzz: ${next} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ${created.size} intents created, ${mutationsBy.size - 1} requests wrote`);
  }, 120_000);
});
