// Runs every language-neutral vector in fixtures/vectors/ against the reference server's pure
// modules AND the conformance kit's independent ones; both must agree with the vectors.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import * as serverLifecycle from '../reference-server/lifecycle.js';
import type { Operation, Status } from '../reference-server/lifecycle.js';
import { signPush } from '../reference-server/wire/signature.js';
import { delayBoundsMs, nextDelayMs, honourRetryAfter, parseRetryAfter, baseDelayMs } from '../reference-server/wire/backoff.js';
import { canonicalJson, requestFingerprint } from '../reference-server/wire/fingerprint.js';
import { formatComment, formatFrame, formatStreamTimeout } from '../reference-server/wire/sse-format.js';
import * as kitLifecycle from '../conformance/model/lifecycle.js';
import { verifyAxmeSignature, verifyStandardWebhook, type HeaderBag } from '../conformance/wire/signature.js';
import { allowedDelayBounds, attemptOutcome, delayWithin, retryAfterBounds, type AttemptAnswer } from '../conformance/wire/backoff.js';
import { comparableBody, sameCreateBody } from '../conformance/wire/idempotency.js';
import { createSseReader, parseSseText, type SseFrame, type SseParseResult } from '../conformance/wire/sse.js';

const NAMES = ['signatures', 'retry-delays', 'idempotency', 'sse-frames', 'lifecycle'] as const;
type VectorName = (typeof NAMES)[number];

interface Policy { initial_delay_ms: number; max_delay_ms: number; multiplier: number }
type Scheme = 'webhook-signature' | 'x-axme-signature';
interface SignatureCase { name: string; secrets: string[]; webhook_id: string; timestamp: number; body: string; expected: Record<Scheme, string> }
interface NearMiss { name: string; scheme: Scheme; secret: string; headers: Record<string, string>; body: string; now: number; tolerance_seconds: number; expected_failure: string }
interface DelayCase { policy: Policy; failed_attempt: number; base_ms: number; min_ms: number; max_ms: number }
interface RetryAfterCase { name: string; policy: Policy; failed_attempt: number; retry_after: string; now: string; min_ms: number; max_ms: number }
interface OutcomeCase { answer: AttemptAnswer; attempt: number; max_attempts: number; outcome: string }
interface IdempotencyPair { name: string; a: string; b: string; expected: 'replay' | 'conflict'; canonical_a: string; canonical_b: string; fingerprint_a: string; fingerprint_b: string }
interface SseEvent { id?: string; event?: string; data: string; last_event_id: string }
interface SseCase { name: string; text: string; events: SseEvent[]; comments: string[]; retry: number[]; cut_mid_frame: boolean }
type LifecycleCase = { status: Status; operation: Operation } & ({ ok: true; next_status: Status; event_type: string } | { ok: false; error: string });
interface Vectors {
  signatures: { secrets: Record<string, string>; cases: SignatureCase[]; near_misses: NearMiss[] };
  'retry-delays': { rounding_tolerance_ms: number; delays: DelayCase[]; retry_after: RetryAfterCase[]; attempt_outcomes: OutcomeCase[] };
  idempotency: { ignored_fields: string[]; pairs: IdempotencyPair[] };
  'sse-frames': { cases: SseCase[] };
  lifecycle: { statuses: string[]; terminal_statuses: string[]; operations: string[]; cases: LifecycleCase[] };
}

const load = (file: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/vectors/${file}`, import.meta.url), 'utf8'));
const vectors = Object.fromEntries(NAMES.map((n) => [n, load(`${n}.json`)])) as unknown as Vectors;
/** it.each rows: [label, item]. */
const rows = <T>(items: T[], label: (item: T) => string): Array<[string, T]> => items.map((item) => [label(item), item]);
const byName = <T extends { name: string }>(items: T[]) => rows(items, (i) => i.name);

describe('vector files', () => {
  it('equal a fresh run of fixtures/vectors/generate.ts', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'fixtures/vectors/generate.ts', '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
  it.each(NAMES)('%s validates against its schema', (name: VectorName) => {
    const schema = load(`${name}.schema.json`) as { $id: string };
    expect(schema.$id).toBe(`https://schemas.axp.dev/v1/vectors/${name}.schema.json`);
    const validate = ajv.compile(schema);
    expect(validate(vectors[name]), ajv.errorsText(validate.errors)).toBe(true);
  });
  it('a broken vector fails its schema', () => {
    const validate = ajv.getSchema('https://schemas.axp.dev/v1/vectors/lifecycle.schema.json') ?? ajv.compile(load('lifecycle.schema.json') as object);
    const broken = structuredClone(vectors.lifecycle);
    (broken.cases[0] as { next_status: string }).next_status = 'DONE';
    expect(validate(broken)).toBe(false);
  });
});

describe('signatures', () => {
  const { cases, near_misses: nearMisses } = vectors.signatures;
  it.each(byName(cases))('%s: the server signs as the vector says', (_name, c) => {
    const headers = signPush(c.secrets, c.webhook_id, c.timestamp, c.body);
    expect(headers['webhook-signature']).toBe(c.expected['webhook-signature']);
    expect(headers['x-axme-signature']).toBe(c.expected['x-axme-signature']);
    expect(headers['webhook-id']).toBe(c.webhook_id);
    expect(headers['webhook-timestamp']).toBe(String(c.timestamp));
  });
  it.each(byName(cases))('%s: the kit verifies with each secret and with all', (_name, c) => {
    const headers: HeaderBag = { 'webhook-id': c.webhook_id, 'webhook-timestamp': String(c.timestamp), ...c.expected };
    const now = c.timestamp * 1000;
    for (const secret of c.secrets) {
      expect(verifyStandardWebhook(secret, headers, c.body, { now })).toEqual({ ok: true, secretIndex: 0 });
      expect(verifyAxmeSignature(secret, headers, Buffer.from(c.body, 'utf8'))).toEqual({ ok: true, secretIndex: 0 });
      expect(verifyStandardWebhook(['whsec_AAAA', secret], headers, c.body, { now })).toEqual({ ok: true, secretIndex: 1 });
      expect(verifyAxmeSignature(['whsec_AAAA', secret], headers, c.body)).toEqual({ ok: true, secretIndex: 1 });
    }
    const other = Object.values(vectors.signatures.secrets).find((s) => !c.secrets.includes(s));
    if (other) expect(verifyStandardWebhook(other, headers, c.body, { now })).toMatchObject({ ok: false, reason: 'no_matching_signature' });
  });
  it.each(byName(nearMisses))('%s must not verify (kit)', (_name, m) => {
    const result = m.scheme === 'webhook-signature'
      ? verifyStandardWebhook(m.secret, m.headers, m.body, { now: m.now * 1000, toleranceSeconds: m.tolerance_seconds })
      : verifyAxmeSignature(m.secret, m.headers, m.body);
    expect(result).toMatchObject({ ok: false, reason: m.expected_failure });
  });
  it.each(byName(nearMisses.filter((m) => m.expected_failure === 'no_matching_signature')))('%s differs from what the server would send', (_name, m) => {
    const id = m.headers['webhook-id'] ?? 'unused';
    const ts = Number(m.headers['webhook-timestamp'] ?? 0);
    const signed = signPush([m.secret], id, ts, m.body);
    expect(signed[m.scheme]).not.toBe(m.headers[m.scheme]);
  });
  it('missing headers are reported as such', () => {
    expect(verifyStandardWebhook(vectors.signatures.secrets.A, {}, '{}')).toMatchObject({ ok: false, reason: 'missing_header' });
    expect(verifyAxmeSignature(vectors.signatures.secrets.A, {}, '{}')).toMatchObject({ ok: false, reason: 'missing_header' });
    const bad = { 'webhook-id': 'x', 'webhook-timestamp': '12.5', 'webhook-signature': 'v1,AAAA' };
    expect(verifyStandardWebhook(vectors.signatures.secrets.A, bad, '{}')).toMatchObject({ ok: false, reason: 'malformed_header' });
  });
});

describe('retry delays', () => {
  const { delays, retry_after: retryAfter, attempt_outcomes: outcomes, rounding_tolerance_ms: slack } = vectors['retry-delays'];
  const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-6);
  const label = (c: DelayCase) => `${JSON.stringify(c.policy)} after attempt ${c.failed_attempt}`;
  it.each(rows(delays, label))('%s: server bounds and draws', (_l, c) => {
    close(baseDelayMs(c.policy, c.failed_attempt), c.base_ms);
    const bounds = delayBoundsMs(c.policy, c.failed_attempt);
    close(bounds.min, c.min_ms);
    close(bounds.max, c.max_ms);
    for (const r of [0, 0.5, 0.999999]) {
      const d = nextDelayMs(c.policy, c.failed_attempt, () => r);
      expect(d).toBeGreaterThanOrEqual(c.min_ms - slack);
      expect(d).toBeLessThanOrEqual(c.max_ms + slack);
    }
  });
  it.each(rows(delays, label))('%s: kit bounds', (_l, c) => {
    const bounds = allowedDelayBounds(c.policy, c.failed_attempt);
    close(bounds.base, c.base_ms);
    close(bounds.min, c.min_ms);
    close(bounds.max, c.max_ms);
    expect(delayWithin(bounds, c.min_ms - slack + 1e-6)).toBe(true);
    expect(delayWithin(bounds, c.min_ms - slack - 0.01)).toBe(false);
    expect(delayWithin(bounds, c.max_ms + slack + 0.01)).toBe(false);
  });
  it.each(byName(retryAfter))('Retry-After %s: server delay lies inside, kit bounds match', (_n, c) => {
    const now = Date.parse(c.now);
    const asked = parseRetryAfter(c.retry_after, now);
    for (const r of [0, 0.999999]) {
      const d = asked === undefined ? nextDelayMs(c.policy, c.failed_attempt, () => r) : honourRetryAfter(c.policy, c.failed_attempt, asked, () => r);
      expect(d, `server delay for random ${r}`).toBeGreaterThanOrEqual(c.min_ms - slack);
      expect(d, `server delay for random ${r}`).toBeLessThanOrEqual(c.max_ms + slack);
    }
    const bounds = retryAfterBounds(c.policy, c.failed_attempt, c.retry_after, now);
    close(bounds.min, c.min_ms);
    close(bounds.max, c.max_ms);
  });
  it.each(rows(outcomes, (c) => `${c.answer} on attempt ${c.attempt}/${c.max_attempts}`))('%s: kit outcome', (_n, c) => {
    expect(attemptOutcome(c.answer, c.attempt, c.max_attempts)).toBe(c.outcome);
  });
});

describe('idempotency', () => {
  const withoutIgnored = (raw: string) => {
    const body = JSON.parse(raw) as Record<string, unknown>;
    for (const field of vectors.idempotency.ignored_fields) delete body[field];
    return body;
  };
  it.each(byName(vectors.idempotency.pairs))('%s', (_n, p) => {
    // Server: same fingerprint <=> replay; its canonical form is the vector's.
    const [fa, fb] = [requestFingerprint(JSON.parse(p.a)), requestFingerprint(JSON.parse(p.b))];
    expect(fa === fb ? 'replay' : 'conflict').toBe(p.expected);
    expect([fa, fb]).toEqual([p.fingerprint_a, p.fingerprint_b]);
    expect(canonicalJson(withoutIgnored(p.a))).toBe(p.canonical_a);
    expect(canonicalJson(withoutIgnored(p.b))).toBe(p.canonical_b);
    // Kit: from raw text and from parsed values.
    expect(sameCreateBody(p.a, p.b)).toBe(p.expected);
    expect(sameCreateBody(JSON.parse(p.a), JSON.parse(p.b))).toBe(p.expected);
    expect(comparableBody(p.a)).toBe(p.canonical_a);
    expect(comparableBody(p.b)).toBe(p.canonical_b);
  });
});

describe('SSE frames', () => {
  const asVector = (r: SseParseResult) => ({
    events: r.frames.map((f) => ({ ...(f.id !== undefined ? { id: f.id } : {}), ...(f.event !== undefined ? { event: f.event } : {}), data: f.data, last_event_id: f.lastEventId })),
    comments: r.comments, retry: r.retries, cut_mid_frame: r.cutMidFrame,
  });
  const expected = (c: SseCase) => ({ events: c.events, comments: c.comments, retry: c.retry, cut_mid_frame: c.cut_mid_frame });
  const cases = byName(vectors['sse-frames'].cases);

  it.each(cases)('%s: whole text', (_n, c) => {
    expect(asVector(parseSseText(c.text))).toEqual(expected(c));
  });
  it.each(cases)('%s: fed one character at a time and split at every point', (_n, c) => {
    const chars = Array.from(c.text);
    const seen: SseFrame[] = [];
    const reader = createSseReader({ onFrame: (f) => seen.push(f) });
    for (const ch of chars) reader.feed(ch);
    const result = reader.end();
    expect(asVector(result)).toEqual(expected(c));
    expect(seen).toEqual(result.frames);
    for (let cut = 1; cut < chars.length; cut++) {
      const split = createSseReader();
      split.feed(chars.slice(0, cut).join(''));
      split.feed(chars.slice(cut).join(''));
      expect(asVector(split.end()), `split at ${cut}`).toEqual(expected(c));
    }
  });
  it.each(cases.filter(([, c]) => c.events.length > 0))('%s: the server formats the events back to the same events', (_n, c) => {
    const decode = (data: string): unknown => { try { return JSON.parse(data); } catch { return data; } };
    const text = c.events.map((e) => formatFrame({ id: e.id, event: e.event, data: decode(e.data) })).join('');
    const again = parseSseText(text);
    expect(again.cutMidFrame).toBe(false);
    expect(again.frames.map((f) => ({ id: f.id, event: f.event, data: JSON.parse(f.data), last: f.lastEventId })))
      .toEqual(c.events.map((e) => ({ id: e.id, event: e.event, data: decode(e.data), last: e.last_event_id })));
  });
  it('server comments and stream.timeout frames parse as the spec says', () => {
    const parsed = parseSseText(`${formatFrame({ id: 3, event: 'intent.completed', data: { seq: 3 } })}${formatComment('keep\nalive')}${formatStreamTimeout(4)}`);
    expect(parsed.comments).toEqual(['keep alive']);
    expect(parsed.frames).toEqual([
      { id: '3', event: 'intent.completed', data: '{"seq":3}', lastEventId: '3' },
      { event: 'stream.timeout', data: '{"ok":true,"next_seq":4}', lastEventId: '3' },
    ]);
    expect(parsed.cutMidFrame).toBe(false);
  });
});

describe('lifecycle', () => {
  const v = vectors.lifecycle;
  it('covers every (status, operation) pair of both models exactly once', () => {
    expect(v.statuses).toEqual([...serverLifecycle.STATUSES]);
    expect(v.statuses).toEqual([...kitLifecycle.STATUSES]);
    expect(v.operations).toEqual([...serverLifecycle.OPERATIONS]);
    expect(v.operations).toEqual([...kitLifecycle.OPERATIONS]);
    expect(v.terminal_statuses).toEqual([...serverLifecycle.TERMINAL_STATUSES]);
    expect(v.terminal_statuses).toEqual([...kitLifecycle.TERMINAL_STATUSES]);
    const keys = new Set(v.cases.map((c) => `${c.status}/${c.operation}`));
    expect(keys.size).toBe(v.statuses.length * v.operations.length);
  });
  it.each(rows(v.cases, (c) => `${c.status} + ${c.operation}`))('%s', (_l, c) => {
    const server = serverLifecycle.transition(c.status, c.operation);
    const kit = kitLifecycle.expectedTransition(c.status, c.operation);
    if (c.ok) {
      expect(server).toEqual({ ok: true, to: c.next_status, eventType: c.event_type });
      expect(kit).toEqual({ ok: true, next: c.next_status, eventType: c.event_type });
    } else {
      expect(server).toEqual({ ok: false, code: c.error });
      expect(kit).toEqual({ ok: false, code: c.error });
    }
  });
});
