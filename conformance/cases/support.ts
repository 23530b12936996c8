// Shared helpers for the cases: assertions that fail with evidence, short delivery policies fitted
// into the target's advertised limits, the common wire round trips, and protocol time (the test
// clock when advertised, otherwise real time bounded on both sides). Cases never sleep bare.
import problemSchema from '../../schemas/problem.schema.json' with { type: 'json' };
import { CaseFailure, NotApplicable, type Binding, type CaseContext, type ConformanceCase, type HttpResponse, type Receiver, type RegisteredAgent } from '../case.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- wire objects are checked against schemas/ by the client */
export type Wire = any;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const TIMESTAMP_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
export const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT'];

// ---------------------------------------------------------------- case definition

type CaseSpec = Omit<ConformanceCase, 'group'>;

/** Builds a group's case list; the group is the ID's prefix. */
export function group(name: string, cases: CaseSpec[]): ConformanceCase[] {
  return cases.map((c) => {
    if (!c.id.startsWith(`${name}-`)) throw new Error(`case ${c.id} is not in group ${name}`);
    return { ...c, group: name };
  });
}

// ---------------------------------------------------------------- assertions

export function fail(message: string, expected?: unknown, actual?: unknown): never {
  throw new CaseFailure(message, expected, actual);
}

export function check(condition: unknown, message: string, expected?: unknown, actual?: unknown): asserts condition {
  if (!condition) fail(message, expected, actual);
}

export function equal(actual: unknown, expected: unknown, what: string): void {
  if (canonical(actual) !== canonical(expected)) fail(`${what}: expected ${short(expected)}, got ${short(actual)}`, expected, actual);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const rec = value as Record<string, unknown>;
    return `{${Object.keys(rec).filter((k) => rec[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(rec[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function short(value: unknown): string {
  const text = canonical(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** 200 with `ok: true` (TERM-012); returns the body. */
export function ok(res: HttpResponse, what: string): Wire {
  if (res.status !== 200) fail(`${what}: expected 200, got ${res.status} ${res.body?.code ?? ''}`.trim(), 200, res.body ?? res.text.slice(0, 300));
  check(res.body?.ok === true, `${what}: the answer lacks "ok": true`, true, res.body?.ok);
  const type = res.headers['content-type'] ?? '';
  check(type.toLowerCase().startsWith('application/json'), `${what}: a success answer must be application/json`, 'application/json', type);
  return res.body;
}

const SPEC_CODES: readonly string[] = (problemSchema as { properties: { code: { enum: string[] } } }).properties.code.enum;

/**
 * An error answer with this status and code. A code outside the spec's list (a misspelt or renamed
 * code) with the right status is not this case's failure: the response-conformance case reports it
 * once (ERR-001, the problem schema's code list), so it does not fail every case that reads it.
 */
export function problem(res: HttpResponse, status: number, code: string, what: string): Wire {
  const unknownCode = res.status === status && typeof res.body?.code === 'string' && !SPEC_CODES.includes(res.body.code);
  if (res.status !== status || (res.body?.code !== code && !unknownCode)) {
    fail(`${what}: expected ${status} ${code}, got ${res.status} ${res.body?.code ?? ''}`.trim(), { status, code }, { status: res.status, body: res.body ?? res.text.slice(0, 300) });
  }
  equal(res.body.status, status, `${what}: problem "status" field`);
  return res.body;
}

/** A 422 validation_failed whose errors include one at `pointer` (and `location` when given). */
export function validationError(res: HttpResponse, pointer: string | RegExp, what: string, location = 'body'): Wire {
  const body = problem(res, 422, 'validation_failed', what);
  const errors: Wire[] = Array.isArray(body.errors) ? body.errors : [];
  check(errors.length > 0, `${what}: validation_failed must list errors (ERR-006)`, 'errors[]', body);
  const hit = errors.find((e) => (typeof pointer === 'string' ? e.pointer === pointer : pointer.test(String(e.pointer))) && e.location === location);
  check(hit, `${what}: no errors entry points at ${String(pointer)} (location ${location})`, { pointer: String(pointer), location }, errors);
  return body;
}

/**
 * A request started now and awaited later: a rejection before the case awaits it (the case failed
 * on something else first, and its end aborted the request) must not become an unhandled
 * rejection that ends the whole run. Awaiting the returned promise still throws.
 */
export function started<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** An upper bound in ms of real time, scaled by --timeout-scale: how long a loaded machine may take. */
export function scaled(ctx: CaseContext, ms: number): number {
  return Math.round(ms * ctx.timeoutScale);
}

/** How many times an upper time bound is measured before a slow answer counts against the target. */
export const TIMING_TRIES = 3;

/**
 * Measures `run` until `fastEnough` holds, at most TIMING_TRIES times, and returns the last
 * measurement. An upper time bound then fails a target that is slow every time, never one that a
 * loaded machine stalled once: the verdict must hold on a shared CI machine. Only "too slow" is
 * measured again; an answer that comes too early is the target's doing, not the machine's, and
 * each caller checks its lower bound on what this returns.
 */
export async function timedTries<T>(ctx: CaseContext, what: string, run: () => Promise<T>, fastEnough: (measured: T) => boolean): Promise<T> {
  let measured = await run();
  for (let n = 2; n <= TIMING_TRIES && !fastEnough(measured); n++) {
    ctx.note(`${what}: slower than its bound; measured again (${n} of ${TIMING_TRIES})`);
    measured = await run();
  }
  return measured;
}

// ---------------------------------------------------------------- capabilities and policies

export interface Range { min: number; max: number; default?: number }

export function limits(ctx: CaseContext): Wire {
  return ctx.capabilities?.limits ?? {};
}

export function rangeOf(ctx: CaseContext, name: string): Range | undefined {
  const r = limits(ctx)[name];
  return r && typeof r.min === 'number' && typeof r.max === 'number' ? r : undefined;
}

/** `wanted`, moved into the advertised range of `name` when there is one. */
export function fit(ctx: CaseContext, name: string, wanted: number): number {
  const r = rangeOf(ctx, name);
  return r ? Math.min(r.max, Math.max(r.min, wanted)) : wanted;
}

export function hasCapability(ctx: CaseContext, capability: string): boolean {
  const list: unknown = ctx.capabilities?.capabilities;
  return Array.isArray(list) && list.includes(capability);
}

export function hasTestClock(ctx: CaseContext): boolean {
  return hasCapability(ctx, 'ext.test-clock') && ctx.adminKey !== undefined;
}

/** A short delivery policy for timing cases, inside the target's limits. */
export function fastPolicy(ctx: CaseContext, binding: Binding, overrides: Record<string, unknown> = {}): { binding: Binding; [k: string]: unknown } {
  const policy: { binding: Binding; [k: string]: unknown } = { binding };
  if (binding === 'stream' || binding === 'poll' || binding === 'http') {
    policy.initial_delay_ms = fit(ctx, 'initial_delay_ms', 100);
    policy.max_delay_ms = Math.max(policy.initial_delay_ms as number, fit(ctx, 'max_delay_ms', 2000));
    policy.multiplier = 2;
    policy.max_delivery_attempts = fit(ctx, 'max_delivery_attempts', 3);
  }
  if (binding === 'stream' || binding === 'poll') policy.lease_seconds = fit(ctx, 'lease_seconds', 0.5);
  // The kit's receiver answers at once: timeout_ms only bounds a stalled machine, and a short one
  // would turn a slow push into a failed attempt. The cases about timeouts set their own.
  if (binding === 'http') policy.timeout_ms = fit(ctx, 'timeout_ms', 5000);
  return { ...policy, ...overrides };
}

export async function agent(ctx: CaseContext, role: string, binding: Binding, overrides: Record<string, unknown> = {}, receiver?: Receiver): Promise<RegisteredAgent> {
  return ctx.agent({ role, delivery: fastPolicy(ctx, binding, overrides) }, receiver);
}

/** True when a host name or literal lies in a range a strict SSRF guard refuses (SEC-020). */
function privateHost(host: string): boolean {
  return /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|0\.|\[?::1\]?$|\[?f[cd]|\[?fe80|localhost$)/i.test(host);
}

/** The setting that lets the kit push to its own receiver, for not-applicable reasons. */
export const PRIVATE_CALLBACKS_HINT =
  'start the target with private callbacks allowed (limits.allow_private_callbacks true; reference server: --allow-private-callbacks) or give the kit a --receiver-host the target may reach';

/** A receiver URL the target may push to: loopback is refused unless it allows private callbacks. */
export async function httpReceiver(ctx: CaseContext, script: Parameters<CaseContext['receiver']>[0]): Promise<Receiver> {
  const receiver = await ctx.receiver(script);
  if (privateHost(new URL(receiver.url).hostname) && limits(ctx).allow_private_callbacks === false) {
    throw new NotApplicable(`the target refuses private callback URLs (SEC-020) and the kit's receiver is at ${receiver.url}; to run this case, ${PRIVATE_CALLBACKS_HINT}`);
  }
  return receiver;
}

/**
 * A globally routable address literal for registrations that never deliver. A strict SSRF guard
 * accepts it without DNS (a host name must resolve at registration, and a test machine may have no
 * resolver), and documentation ranges (RFC 5737) are reserved, which a strict guard may refuse.
 * No case sends an intent to an agent registered with it.
 */
export const PARKED_PUBLIC_URL = 'https://1.1.1.1/axp-conformance/never-called';

/**
 * A callback URL for an http agent that is registered but never pushed to: the kit's own receiver
 * when the target may reach it (so nothing leaves the machine), else a public address literal.
 */
export async function parkedCallbackUrl(ctx: CaseContext): Promise<string> {
  if (limits(ctx).allow_private_callbacks !== false) return (await ctx.receiver([{ status: 200 }])).url;
  return PARKED_PUBLIC_URL;
}

/**
 * A registration with a parked callback URL that the target refused as a callback (SEC-020 is
 * tested by SEC cases): this case cannot establish its agent, so it does not apply here.
 */
export function callbackRefused(res: HttpResponse, url: string): void {
  if (res.status === 422 && res.body?.code === 'callback_url_refused') {
    throw new NotApplicable(`the target refuses the callback URL ${url} (422 callback_url_refused), so no http agent can be registered; to run this case, ${PRIVATE_CALLBACKS_HINT}`);
  }
}

// ---------------------------------------------------------------- intents and events

let typeCounter = 0;

/** A create body to `to` with a run-unique payload. */
export function intentBody(ctx: CaseContext, to: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  typeCounter++;
  return { intent_type: 'conformance.check.v1', to_agent: to, payload: { probe: ctx.unique(`p${typeCounter}`) }, ...extra };
}

/** POST /v1/intents expecting 200; returns the whole answer. */
export async function create(ctx: CaseContext, key: string | undefined, body: unknown, headers?: Record<string, string>): Promise<Wire> {
  const res = await ctx.request({ method: 'POST', path: '/v1/intents', key, json: body, headers, expectSchema: 'intent-response' });
  return ok(res, 'POST /v1/intents');
}

/** Creates an intent from `sender` to `to`; returns the stored intent. */
export async function send(ctx: CaseContext, sender: RegisteredAgent | string | undefined, to: string, extra: Record<string, unknown> = {}): Promise<Wire> {
  const key = typeof sender === 'string' || sender === undefined ? sender : sender.key;
  const answer = await create(ctx, key, intentBody(ctx, to, extra));
  return answer.intent;
}

export async function getIntent(ctx: CaseContext, id: string, key: string | undefined): Promise<Wire> {
  const res = await ctx.request({ method: 'GET', path: `/v1/intents/${id}`, key, expectSchema: 'intent-response' });
  return ok(res, `GET /v1/intents/${id}`).intent;
}

/**
 * The intent's events after `since`. Their numbering (EVT-002) and the cursor (EVT-005) are the EVT
 * cases' to judge (checkContiguous), not every case that reads a history.
 */
export async function events(ctx: CaseContext, id: string, key: string | undefined, since = 0): Promise<Wire[]> {
  const res = await ctx.request({ method: 'GET', path: `/v1/intents/${id}/events`, key, query: since ? { since } : undefined, expectSchema: 'event-list-response' });
  return ok(res, `GET /v1/intents/${id}/events`).events;
}

/** EVT-002: seq runs since+1, since+2, ... with no gap or duplicate. */
export function checkContiguous(list: Wire[], since = 0): void {
  list.forEach((e, i) => equal(e.seq, since + i + 1, `event #${i + 1} after since=${since}: seq (EVT-002)`));
}

export function types(list: Wire[]): string[] {
  return list.map((e) => e.event_type);
}

/** POST /v1/intents/{id}/{op}; returns the raw answer. */
export async function write(ctx: CaseContext, id: string, op: string, key: string | undefined, body?: unknown, headers?: Record<string, string>): Promise<HttpResponse> {
  return ctx.request({ method: 'POST', path: `/v1/intents/${id}/${op}`, key, json: body, headers, expectSchema: 'intent-write-response' });
}

/** A write that must succeed with `{ok, intent, event}` (RES-001) appending `eventType` and leaving `status`. */
export async function writeOk(ctx: CaseContext, id: string, op: string, key: string | undefined, body: unknown, eventType: string, status: string): Promise<Wire> {
  const answer = ok(await write(ctx, id, op, key, body), `POST ${op} on ${id}`);
  equal(answer.event?.event_type, eventType, `${op}: event_type of the appended event`);
  equal(answer.intent?.status, status, `${op}: status after the write`);
  equal(answer.event?.status, status, `${op}: event status (the status after the event)`);
  return answer;
}

export const resume = (ctx: CaseContext, id: string, key: string | undefined, body: unknown, headers?: Record<string, string>) => write(ctx, id, 'resume', key, body, headers);
export const resolve = (ctx: CaseContext, id: string, key: string | undefined, body: unknown, headers?: Record<string, string>) => write(ctx, id, 'resolve', key, body, headers);

// ---------------------------------------------------------------- deliveries

/** GET /v1/agents/{addr}/intents (poll). */
export async function poll(ctx: CaseContext, who: RegisteredAgent, query: Record<string, string | number> = {}, key = who.key): Promise<Wire> {
  const res = await ctx.request({ method: 'GET', path: `/v1/agents/${who.path}/intents`, key, query, expectSchema: 'delivery-list-response' });
  return ok(res, `poll ${who.address}`);
}

/** Polls (long poll, bounded) until a delivery of `intentId` is issued; returns it. */
export async function pollFor(ctx: CaseContext, who: RegisteredAgent, intentId: string, boundMs = 5000): Promise<Wire> {
  return ctx.eventually(`a poll delivery of ${intentId} to ${who.address}`, async () => {
    const answer = await poll(ctx, who, { wait_seconds: 1, limit: 50 });
    return (answer.deliveries as Wire[]).find((d) => d.intent_id === intentId);
  }, boundMs);
}

// ---------------------------------------------------------------- protocol time

/**
 * Lets `ms` of protocol time pass: with the test clock it is advanced (true); without it nothing
 * happens here (false) and the caller's waits must allow `ms` of real time.
 */
export async function passTime(ctx: CaseContext, ms: number): Promise<boolean> {
  return ctx.advanceClock(Math.ceil(ms));
}

/** Probes until `probe` yields, after `ms` of protocol time: advances the test clock first when there is one. */
export async function afterTime<T>(ctx: CaseContext, ms: number, what: string, probe: () => Promise<T | undefined>, slackMs = 2000): Promise<T> {
  const advanced = await passTime(ctx, ms);
  return ctx.eventually(what, probe, advanced ? slackMs : ms + slackMs);
}

/** Waits (bounded) until the intent has an event matching `match`; returns it. */
export async function eventuallyEvent(ctx: CaseContext, id: string, key: string | undefined, what: string, match: (e: Wire) => boolean, boundMs = 3000): Promise<Wire> {
  return ctx.eventually(what, async () => (await events(ctx, id, key)).find(match), boundMs);
}

/** Milliseconds between two wire timestamps. */
export function gapMs(from: string, to: string): number {
  return Date.parse(to) - Date.parse(from);
}

/** Status of an intent to look at in a probe. */
export async function statusOf(ctx: CaseContext, id: string, key: string | undefined): Promise<string> {
  return (await getIntent(ctx, id, key)).status;
}

/**
 * True when `token` (a key or secret) appears in `text` as a whole token, not inside a longer word:
 * a one-letter admin key is not "found" in "unknown API key", but is in `"key":"k"`.
 */
export function containsToken(text: string, token: string): boolean {
  if (!token) return false;
  const escaped = token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9_+/=-])${escaped}(?![A-Za-z0-9_+/=-])`).test(text);
}

/** A key the target has never issued. */
export function bogusKey(ctx: CaseContext): string {
  return `axp_${ctx.unique('bogus').replace(/[^A-Za-z0-9_-]/g, '')}XXXXXXXXXXXXXXXXXXXX`;
}

export const RANDOM_UUID = () => crypto.randomUUID();

/** Case options: the capabilities it needs, and the admin key (it registers agents). */
export function needs(...capabilities: string[]): { needsCapabilities: string[]; needsAdmin: true } {
  return { needsCapabilities: capabilities, needsAdmin: true };
}
