// The stateful suite's commands (fc.commands + fc.asyncModelRun). Each one drives the target as a
// sender, the receiving agent or an observer, predicts the answer from the kit's model, and ends
// with the world's checks. The real system and the model are one World object (model.ts derives
// every expectation from what the kit saw), so check() only guards what a command needs.
import fc from 'fast-check';
import type { HttpResponse, SseFrameSeen } from '../case.js';
import { canonicalize } from '../wire/idempotency.js';
import { expectedTransition, isTerminalStatus, type Operation } from '../model/lifecycle.js';
import { lifecycleBodyArb, type CreateBody, type Json } from './arbitraries.js';
import { deliverability, viewOf, type WireDelivery, type WireEvent, type WireIntent } from './model.js';
import type { ModelIntent, World } from './world.js';
import { receive } from './receive.js';
import { advanceClock, dropLease } from './timers.js';

export type Cmd = fc.AsyncCommand<World, World>;

/** The to_agent of generated bodies; replaced by the run's worker address when sent. */
export const PLACEHOLDER = 'agent://kit/placeholder';

type Expected = { status: 200 } | { status: 409 | 403 | 422 | 400 | 415; codes: string[] };

const ok: Expected = { status: 200 };
const refused = (status: 409 | 403 | 422 | 400 | 415, ...codes: string[]): Expected => ({ status, codes });

/** The answer the state table gives for `op` on the intent now (LC-005, LC-007, LC-009). */
function byTable(w: World, mi: ModelIntent, op: Operation): Expected {
  const t = expectedTransition(w.status(mi), op);
  return t.ok ? ok : refused(409, t.code);
}

/** Sends a write and checks it against the prediction; returns the 200 body, if any. */
async function write(w: World, mi: ModelIntent, what: string, expected: Expected, send: () => Promise<HttpResponse>, eventType?: string, terminal = false): Promise<HttpResponse['body']> {
  const res = await send();
  const codes = expected.status === 200 ? [] : expected.codes;
  if (res.status !== expected.status || (expected.status !== 200 && !codes.includes(String(res.body?.code)))) {
    w.fail(`${what} on a ${w.status(mi)} intent: expected ${expected.status}${codes.length ? ` ${codes.join(' or ')}` : ''}, got ${res.status} ${res.body?.code ?? ''}`.trim(), expected, res.body);
  }
  if (res.status === 200) {
    if (eventType) await w.expectOneEvent(mi, eventType, res.body, what, terminal);
    return res.body;
  }
  await w.expectUnchanged(mi, what);
  return undefined;
}

function post(w: World, path: string, key: string, json: unknown, idempotencyKey?: string) {
  return w.call({ method: 'POST', path, key, json, headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : undefined });
}

// ---------------------------------------------------------------- send

type KeyMode = 'none' | 'fresh' | 'same' | 'different';

class Send implements Cmd {
  constructor(readonly body: CreateBody, readonly keyMode: KeyMode, readonly keyPick: number) {}
  check(w: World): boolean {
    return this.keyMode === 'none' || this.keyMode === 'fresh' || w.createKeys.size > 0;
  }
  async run(w: World): Promise<void> {
    const body: CreateBody = { ...this.body, to_agent: w.worker.address };
    if (this.keyMode === 'same' || this.keyMode === 'different') return this.reuse(w, body);
    const key = this.keyMode === 'fresh' ? w.ctx.unique('idem') : undefined;
    const res = await post(w, '/v1/intents', w.sender.key, body, key);
    if (res.status !== 200) w.fail(`a valid create answered ${res.status} ${res.body?.code ?? ''} (INT-001)`, 200, res.body);
    if (res.headers['idempotent-replayed'] === 'true') w.fail('a first create answered Idempotent-Replayed: true (IDEM-002)', 'no header', 'true');
    const intent = res.body.intent as WireIntent;
    if (w.find(intent.intent_id)) w.fail(`a new create answered the existing intent ${intent.intent_id}${key ? ` for a fresh key` : ''} (IDEM-001)`, 'a new intent_id', intent.intent_id);
    if (canonicalize(intent.payload) !== canonicalize(body.payload)) w.fail('the stored payload differs from the one sent (INT-001)', body.payload, intent.payload);
    if (intent.from_agent !== w.sender.address) w.fail(`from_agent ${String(intent.from_agent)} is not the sender's address (INT-004)`, w.sender.address, intent.from_agent);
    w.time.observe(intent.created_at, res.sentAt);
    const mi: ModelIntent = { id: intent.intent_id, body, createAnswer: res.body, events: [], intent, maxAttempts: Number(intent.max_delivery_attempts ?? w.options.policy.maxAttempts), keyedWrites: [] };
    w.intents.push(mi);
    if (key) w.createKeys.set(key, { intentId: mi.id, body });
    await w.sync(mi);
  }
  private async reuse(w: World, body: CreateBody): Promise<void> {
    const [key, first] = [...w.createKeys.entries()][this.keyPick % w.createKeys.size];
    const mi = w.find(first.intentId);
    if (!mi) return w.fail(`the model lost intent ${first.intentId}`);
    // Same body apart from a fresh correlation_id still counts as the same (IDEM-004).
    const again: CreateBody = this.keyMode === 'same'
      ? { ...first.body, correlation_id: body.correlation_id ?? '00000000-0000-4000-8000-000000000001' }
      : { ...first.body, payload: { ...(first.body.payload as Record<string, Json>), changed_by_kit: this.keyPick } };
    if (this.keyMode === 'same' && first.body.correlation_id === undefined) delete again.correlation_id;
    const res = await post(w, '/v1/intents', w.sender.key, again, key);
    if (this.keyMode === 'same') {
      if (res.status !== 200 || res.body?.intent_id !== mi.id) w.fail(`a repeated create with the same key and body must answer the original intent ${mi.id} (IDEM-001)`, mi.id, { status: res.status, intent_id: res.body?.intent_id, code: res.body?.code });
      if (res.headers['idempotent-replayed'] !== 'true') w.fail('a replayed create must carry Idempotent-Replayed: true (IDEM-002)', 'true', res.headers['idempotent-replayed'] ?? '(absent)');
      if (canonicalize(res.body) !== canonicalize(mi.createAnswer)) w.fail('a replayed create must repeat the original answer (IDEM-001)', mi.createAnswer, res.body);
    } else if (res.status !== 409 || res.body?.code !== 'idempotency_key_conflict') {
      w.fail(`the same key with a different body must answer 409 idempotency_key_conflict (IDEM-003), got ${res.status} ${res.body?.code ?? ''}`, 409, res.body);
    }
    await w.expectSentIntents(`after a ${this.keyMode === 'same' ? 'replayed' : 'conflicting'} create`);
    await w.expectUnchanged(mi, 'a repeated create');
  }
  toString(): string {
    return `Send(${this.keyMode}${this.keyMode === 'same' || this.keyMode === 'different' ? ` #${this.keyPick}` : ''})`;
  }
}

// ---------------------------------------------------------------- agent writes

type AckRef = 'current' | 'none' | 'older' | 'random';
const RANDOM_DELIVERY = '0b6ad2c4-7d1e-4c5e-9a0f-3f1b2c4d5e6f';

class Ack implements Cmd {
  constructor(readonly pick: number, readonly ref: AckRef) {}
  check(w: World): boolean {
    return w.intents.length > 0;
  }
  async run(w: World): Promise<void> {
    const mi = w.pick(this.pick)!;
    const ids = viewOf(mi.events).attempts.map((a) => a.deliveryId).filter((id): id is string => !!id);
    const current = ids.at(-1);
    const older = ids.length > 1 ? ids[0] : RANDOM_DELIVERY;
    const id = this.ref === 'current' ? current : this.ref === 'older' ? older : this.ref === 'random' ? RANDOM_DELIVERY : undefined;
    const status = w.status(mi);
    const stale = id !== undefined && id !== current;
    const expected: Expected = isTerminalStatus(status) ? refused(409, 'intent_terminal')
      : stale ? (status === 'DELIVERED' ? refused(409, 'stale_delivery') : refused(409, 'illegal_transition', 'stale_delivery'))
      : byTable(w, mi, 'ack');
    await write(w, mi, `ack (${this.ref})`, expected, () => post(w, `/v1/intents/${mi.id}/ack`, w.worker.key, id ? { delivery_id: id } : {}), 'intent.acknowledged');
  }
  toString(): string {
    return `Ack(#${this.pick}, ${this.ref})`;
  }
}

class Resume implements Cmd {
  constructor(readonly pick: number, readonly action: 'progress' | 'wait', readonly withDelivery: boolean) {}
  check(w: World): boolean {
    return w.intents.length > 0;
  }
  async run(w: World): Promise<void> {
    const mi = w.pick(this.pick)!;
    const current = viewOf(mi.events).attempts.at(-1)?.deliveryId;
    const body: Record<string, unknown> = this.action === 'wait' ? { action: 'wait', waiting_reason: 'WAITING_FOR_TOOL' } : { action: 'progress', progress: { step: this.pick } };
    if (this.withDelivery && current) body.delivery_id = current;
    await write(w, mi, `resume ${this.action}`, byTable(w, mi, this.action), () => post(w, `/v1/intents/${mi.id}/resume`, w.worker.key, body), this.action === 'wait' ? 'intent.waiting' : 'intent.in_progress');
  }
  toString(): string {
    return `Resume(#${this.pick}, ${this.action}${this.withDelivery ? ', delivery_id' : ''})`;
  }
}

type Ending = 'complete' | 'fail' | 'cancel';
type Form = 'resume' | 'outcome' | 'resolve' | 'sender';

function endingRequest(w: World, mi: ModelIntent, ending: Ending, form: Form, n: number): { path: string; key: string; body: Record<string, unknown> } {
  const route = (r: string) => `/v1/intents/${mi.id}/${r}`;
  if (ending === 'cancel') {
    return form === 'sender' ? { path: route('cancel'), key: w.sender.key, body: { reason: `kit cancel ${n}` } } : { path: route('resolve'), key: w.worker.key, body: { status: 'CANCELED', reason: `kit ${n}` } };
  }
  if (form === 'resolve') return { path: route('resolve'), key: w.worker.key, body: ending === 'complete' ? { status: 'COMPLETED', result: { n } } : { status: 'FAILED', error: { code: 'kit_failure', message: `n=${n}` } } };
  if (form === 'outcome') return { path: route('resume'), key: w.worker.key, body: ending === 'complete' ? { outcome: 'success', result: { n } } : { outcome: 'failure' } };
  return { path: route('resume'), key: w.worker.key, body: ending === 'complete' ? { action: 'complete', result: { n } } : { action: 'fail', error: { code: 'kit_failure' } } };
}

const ENDING_EVENT: Record<Ending, string> = { complete: 'intent.completed', fail: 'intent.failed', cancel: 'intent.canceled' };

class End implements Cmd {
  constructor(readonly pick: number, readonly ending: Ending, readonly form: Form, readonly keyed: boolean) {}
  check(w: World): boolean {
    return w.intents.length > 0;
  }
  async run(w: World): Promise<void> {
    const mi = w.pick(this.pick)!;
    const req = endingRequest(w, mi, this.ending, this.form, this.pick);
    const key = this.keyed ? w.ctx.unique('w') : undefined;
    const answer = await write(w, mi, `${this.ending} via ${this.form}`, byTable(w, mi, this.ending), () => post(w, req.path, req.key, req.body, key), ENDING_EVENT[this.ending], true);
    if (answer && key) mi.keyedWrites.push({ route: req.path, key, body: req.body, answer });
  }
  toString(): string {
    return `End(#${this.pick}, ${this.ending} via ${this.form}${this.keyed ? ', keyed' : ''})`;
  }
}

/** A second resolve: the same keyed write again, with the same body, another body, or no key (IDEM-010, RES-014, LC-009). */
class Repeat implements Cmd {
  constructor(readonly pick: number, readonly mode: 'same' | 'different' | 'unkeyed') {}
  check(w: World): boolean {
    return w.intents.some((m) => m.keyedWrites.length > 0);
  }
  async run(w: World): Promise<void> {
    const withWrites = w.intents.filter((m) => m.keyedWrites.length > 0);
    const mi = withWrites[this.pick % withWrites.length];
    const first = mi.keyedWrites[this.pick % mi.keyedWrites.length];
    const key = first.route.endsWith('/cancel') ? w.sender.key : w.worker.key;
    if (this.mode === 'same') {
      const res = await post(w, first.route, key, first.body, first.key);
      if (res.status !== 200 || canonicalize(res.body) !== canonicalize(first.answer)) w.fail('a repeated write with the same Idempotency-Key and body must replay its first answer (IDEM-010, RES-014)', first.answer, { status: res.status, body: res.body });
      if (res.headers['idempotent-replayed'] !== 'true') w.fail('a replayed write must carry Idempotent-Replayed: true (IDEM-010)', 'true', res.headers['idempotent-replayed'] ?? '(absent)');
      return w.expectUnchanged(mi, 'a replayed write');
    }
    const body = this.mode === 'different' ? differentBody(first.body) : first.body;
    const expected: Expected = this.mode === 'different' ? refused(409, 'idempotency_key_conflict') : refused(409, 'intent_terminal');
    await write(w, mi, `a repeated write (${this.mode})`, expected, () => post(w, first.route, key, body, this.mode === 'different' ? first.key : undefined));
  }
  toString(): string {
    return `Repeat(#${this.pick}, ${this.mode})`;
  }
}

/** The same write with one value changed, still valid (so the answer is the conflict, not a 422). */
function differentBody(body: Record<string, unknown>): Record<string, unknown> {
  if ('result' in body) return { ...body, result: { changed: true } };
  if ('reason' in body) return { ...body, reason: `${String(body.reason)} (changed)` };
  return { ...body, error: { code: 'changed_by_kit' } };
}

// ---------------------------------------------------------------- refused requests

const BAD_WRITES: Array<{ name: string; route: string; body: unknown; raw?: string; contentType?: string; status: 400 | 415 | 422 }> = [
  { name: 'resume {}', route: 'resume', body: {}, status: 422 },
  { name: 'resume wait without waiting_reason', route: 'resume', body: { action: 'wait' }, status: 422 },
  { name: 'resume progress with result', route: 'resume', body: { action: 'progress', result: {} }, status: 422 },
  { name: 'resume action and outcome', route: 'resume', body: { action: 'complete', outcome: 'success' }, status: 422 },
  { name: 'resolve DONE', route: 'resolve', body: { status: 'DONE' }, status: 422 },
  { name: 'resolve FAILED without error', route: 'resolve', body: { status: 'FAILED' }, status: 422 },
  { name: 'resolve malformed JSON', route: 'resolve', body: undefined, raw: '{"status":', status: 400 },
  { name: 'resume as text/plain', route: 'resume', body: undefined, raw: '{"action":"progress"}', contentType: 'text/plain', status: 415 },
];
const BAD_CODES: Record<number, string> = { 400: 'malformed_json', 415: 'unsupported_media_type', 422: 'validation_failed' };

class BadWrite implements Cmd {
  constructor(readonly pick: number, readonly kind: number) {}
  check(w: World): boolean {
    return w.intents.length > 0;
  }
  async run(w: World): Promise<void> {
    const mi = w.pick(this.pick)!;
    const bad = BAD_WRITES[this.kind % BAD_WRITES.length];
    const path = `/v1/intents/${mi.id}/${bad.route}`;
    // ERR-014 orders 400/415/422 before 409, as a SHOULD: on a terminal intent 409 is tolerated.
    const expected: Expected = isTerminalStatus(w.status(mi)) && bad.status === 422 ? { status: 422, codes: ['validation_failed'] } : refused(bad.status, BAD_CODES[bad.status]);
    const res = await w.call({ method: 'POST', path, key: w.worker.key, json: bad.body, raw: bad.raw, headers: { 'content-type': bad.contentType ?? 'application/json' } });
    const okTerminal = isTerminalStatus(w.status(mi)) && res.status === 409 && res.body?.code === 'intent_terminal';
    if (!okTerminal && (res.status !== expected.status || res.body?.code !== BAD_CODES[bad.status])) w.fail(`${bad.name} must be refused ${bad.status} ${BAD_CODES[bad.status]}, got ${res.status} ${res.body?.code ?? ''}`, bad.status, res.body);
    await w.expectUnchanged(mi, bad.name);
  }
  toString(): string {
    return `BadWrite(#${this.pick}, ${BAD_WRITES[this.kind % BAD_WRITES.length].name})`;
  }
}

// ---------------------------------------------------------------- observe

class Observe implements Cmd {
  constructor(readonly pick: number, readonly since: number, readonly via: 'list' | 'sse' | 'cut-sse', readonly header: boolean) {}
  check(w: World): boolean {
    return w.intents.length > 0;
  }
  async run(w: World): Promise<void> {
    const mi = w.pick(this.pick)!;
    await w.sync(mi);
    const since = this.since % (mi.events.length + 2);
    const want = mi.events.filter((e) => e.seq > since);
    const got = this.via === 'list' ? await this.list(w, mi, since) : await this.sse(w, mi, since);
    // Compared as canonical JSON: member order is not significant (RFC 8259), so a server may
    // write an event's fields in one order in lists and another in SSE frames.
    const known = canonicalize(want);
    // Time running by itself may append timer events meanwhile; what was already there must come exactly.
    if (canonicalize(got.slice(0, want.length)) !== known || (w.options.clock && got.length !== want.length)) {
      w.fail(`observing intent ${mi.id} since ${since} (${this.via}) must give exactly the events list after ${since} (EVT-005, SSE-001, SSE-010)`, want.map((e) => e.seq), got.map((e) => e.seq));
    }
  }
  private async list(w: World, mi: ModelIntent, since: number): Promise<WireEvent[]> {
    const res = await w.call({ method: 'GET', path: `/v1/intents/${mi.id}/events`, key: w.sender.key, query: { since } });
    if (res.status !== 200) w.fail(`GET events since ${since} answered ${res.status}`, 200, res.body);
    const events = res.body.events as WireEvent[];
    const next = events.at(-1)?.seq ?? since;
    if (res.body.next_seq !== next) w.fail(`next_seq ${String(res.body.next_seq)} must be the last seq returned or since (EVT-006)`, next, res.body.next_seq);
    return events;
  }
  private async sse(w: World, mi: ModelIntent, since: number): Promise<WireEvent[]> {
    const path = `/v1/intents/${mi.id}/events/stream`;
    const open = (cursor: number, cutAfter?: number) => {
      const query = this.header ? { since: 0, wait_seconds: 0 } : { since: cursor, wait_seconds: 0 };
      const headers = this.header ? { 'last-event-id': String(cursor) } : undefined;
      return w.ctx.sse(path, { key: w.sender.key, query, headers, until: cutAfter === undefined ? undefined : (_f, all) => all.length >= cutAfter });
    };
    const first = await open(since, this.via === 'cut-sse' ? 1 + (this.pick % 2) : undefined);
    w.log.add(`SSE ${path} since ${since}${this.header ? ' (Last-Event-ID)' : ''} → ${first.frames.map((f) => f.id ?? f.event).join(',')}${first.ended ? '' : ' (cut by the kit)'}`);
    const events = this.eventsOf(w, first.frames, first.ended, since);
    if (first.ended) return events;
    const cursor = events.at(-1)?.seq ?? since;
    const second = await open(cursor);
    w.log.add(`SSE reconnect since ${cursor} → ${second.frames.map((f) => f.id ?? f.event).join(',')}`);
    return [...events, ...this.eventsOf(w, second.frames, second.ended, cursor)];
  }
  private eventsOf(w: World, frames: SseFrameSeen[], ended: boolean, since: number): WireEvent[] {
    const events = frames.filter((f) => f.event !== 'stream.timeout').map((f) => {
      if (f.id !== String(f.json?.seq) || f.event !== f.json?.event_type) w.fail(`an SSE frame must carry id = seq and event = event_type (SSE-003)`, { id: f.json?.seq, event: f.json?.event_type }, { id: f.id, event: f.event });
      return f.json as WireEvent;
    });
    if (ended) {
      const last = frames.at(-1);
      if (last?.event !== 'stream.timeout' || last.id !== undefined) w.fail('an SSE response must end with a stream.timeout frame without id (SSE-008)', 'stream.timeout', last ?? '(no frame)');
      const next = events.at(-1)?.seq ?? since;
      if (last.json?.next_seq !== next) w.fail(`stream.timeout next_seq must be the last seq written or the cursor (SSE-008)`, next, last.json?.next_seq);
    }
    return events;
  }
  toString(): string {
    return `Observe(#${this.pick}, since ${this.since}, ${this.via}${this.header ? ', Last-Event-ID' : ''})`;
  }
}

// ---------------------------------------------------------------- receive and time

class Receive implements Cmd {
  constructor(readonly via: 'poll' | 'stream', readonly fromZero: boolean, readonly cut: boolean) {}
  check(): boolean {
    return true;
  }
  run(w: World): Promise<void> {
    return receive(w, this.via, { fromZero: this.fromZero, cut: this.cut });
  }
  toString(): string {
    return `Receive(${this.via}${this.fromZero ? ', since 0' : ''}${this.cut ? ', cut and reconnect' : ''})`;
  }
}

class Drop implements Cmd {
  constructor(readonly pick: number) {}
  check(w: World): boolean {
    return w.intents.length > 0;
  }
  run(w: World): Promise<void> {
    return dropLease(w, w.pick(this.pick)!);
  }
  toString(): string {
    return `Drop(#${this.pick}: let its lease expire)`;
  }
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check(w: World): boolean {
    return w.options.clock;
  }
  run(w: World): Promise<void> {
    return advanceClock(w, this.ms);
  }
  toString(): string {
    return `AdvanceClock(${this.ms} ms)`;
  }
}

// ---------------------------------------------------------------- the arbitrary

export function commandArbs(): Array<fc.Arbitrary<Cmd>> {
  const pick = fc.nat({ max: 15 });
  return [
    fc.tuple(lifecycleBodyArb(PLACEHOLDER), fc.constantFrom<KeyMode>('none', 'fresh', 'fresh', 'same', 'different'), pick).map(([b, k, p]) => new Send(b, k, p)),
    fc.tuple(lifecycleBodyArb(PLACEHOLDER), fc.constantFrom<KeyMode>('none', 'fresh'), pick).map(([b, k, p]) => new Send(b, k, p)),
    fc.tuple(lifecycleBodyArb(PLACEHOLDER), fc.constant<KeyMode>('none'), pick).map(([b, k, p]) => new Send(b, k, p)),
    fc.tuple(fc.constantFrom<'poll' | 'stream'>('poll', 'stream'), fc.boolean(), fc.boolean()).map(([v, z, c]) => new Receive(v, z, v === 'stream' && c)),
    fc.tuple(pick, fc.constantFrom<AckRef>('current', 'none', 'older', 'random')).map(([p, r]) => new Ack(p, r)),
    pick.map((p) => new Drop(p)),
    fc.tuple(pick, fc.constantFrom<'progress' | 'wait'>('progress', 'wait'), fc.boolean()).map(([p, a, d]) => new Resume(p, a, d)),
    fc.tuple(pick, fc.constantFrom<Ending>('complete', 'fail', 'cancel'), fc.constantFrom<Form>('resume', 'outcome', 'resolve', 'sender'), fc.boolean()).map(([p, e, f, k]) => new End(p, e, e === 'cancel' ? (f === 'sender' || f === 'resume' ? 'sender' : 'resolve') : f === 'sender' ? 'resolve' : f, k)),
    fc.tuple(pick, fc.constantFrom<'same' | 'different' | 'unkeyed'>('same', 'different', 'unkeyed')).map(([p, m]) => new Repeat(p, m)),
    fc.tuple(pick, fc.nat({ max: 12 }), fc.constantFrom<'list' | 'sse' | 'cut-sse'>('list', 'sse', 'cut-sse'), fc.boolean()).map(([p, s, v, h]) => new Observe(p, s, v, h)),
    fc.constantFrom(100, 1_500, 5_000, 31_000, 65_000).map((ms) => new Advance(ms)),
    fc.tuple(pick, fc.nat({ max: BAD_WRITES.length - 1 })).map(([p, k]) => new BadWrite(p, k)),
  ];
}

