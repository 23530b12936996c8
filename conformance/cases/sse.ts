// Chapter 5, observe and wait: the SSE event stream of one intent and the long-polling GET.
import type { CaseContext, SseFrameSeen, SseOpen, SseResult } from '../case.js';
import { agent, check, equal, getIntent, group, limits, needs, ok, problem, resolve, resume, send, validationError, writeOk, started, timedTries, type Wire, scaled } from './support.js';
import { pair, type Pair } from './flows.js';

const pollCap = needs('binding.poll');

function observe(ctx: CaseContext, id: string, key: string | undefined, options: SseOpen = {}): Promise<SseResult> {
  return ctx.sse(`/v1/intents/${id}/events/stream`, { frameSchema: 'event', ...options });
}

function eventFrames(result: SseResult): SseFrameSeen[] {
  return result.frames.filter((f) => f.event !== 'stream.timeout');
}

/** Frame format (SSE-003) and the final frame (SSE-008); returns the event frames. */
function checkFrames(result: SseResult, finalNextSeq: number, what: string): SseFrameSeen[] {
  equal(result.status, 200, `${what}: status`);
  check((result.headers['content-type'] ?? '').startsWith('text/event-stream'), `${what}: content-type`, 'text/event-stream', result.headers['content-type']);
  check(/no-cache/i.test(result.headers['cache-control'] ?? ''), `${what}: Cache-Control must be no-cache (SSE-002)`, 'no-cache', result.headers['cache-control']);
  check(!/gzip|br|deflate/i.test(result.headers['content-encoding'] ?? ''), `${what}: SSE must not be compressed (SSE-002)`, 'identity', result.headers['content-encoding']);
  check(result.ended && !result.cutMidFrame, `${what}: the server must end the response after a complete final frame`, 'ended', { ended: result.ended, cutMidFrame: result.cutMidFrame });
  const frames = eventFrames(result);
  for (const f of frames) {
    equal(f.id, String(f.json?.seq), `${what}: frame id equals the event seq (SSE-003)`);
    equal(f.event, f.json?.event_type, `${what}: frame event equals event_type (SSE-003)`);
    check(!f.data.includes('\n'), `${what}: data must be one line (SSE-003)`, 'one line', f.data);
  }
  const last = result.frames.at(-1);
  check(last?.event === 'stream.timeout', `${what}: the last frame must be stream.timeout (SSE-008)`, 'stream.timeout', last?.event);
  equal(result.frames.filter((f) => f.event === 'stream.timeout').length, 1, `${what}: final frames`);
  check(last.id === undefined, `${what}: the final frame must have no id line (SSE-008)`, 'no id', last.id);
  equal({ ok: last.json?.ok, next_seq: last.json?.next_seq }, { ok: true, next_seq: finalNextSeq }, `${what}: final frame data`);
  return frames;
}

/** A terminal intent with five events: created, submitted, in_progress, waiting, completed. */
async function finished(ctx: CaseContext, p: Pair): Promise<Wire> {
  const i = await send(ctx, p.sender, p.worker.address);
  await writeOk(ctx, i.intent_id, 'resume', p.worker.key, { action: 'progress' }, 'intent.in_progress', 'IN_PROGRESS');
  await writeOk(ctx, i.intent_id, 'resume', p.worker.key, { action: 'wait', waiting_reason: 'WAITING_FOR_TOOL' }, 'intent.waiting', 'WAITING');
  await writeOk(ctx, i.intent_id, 'resume', p.worker.key, { action: 'complete' }, 'intent.completed', 'COMPLETED');
  return i;
}

/** Opens observe, completes the intent once the backlog is read, and returns the result with timings. */
async function liveCompletion(ctx: CaseContext): Promise<{ result: SseResult; triggeredAt: number; started: number; ended: number }> {
  const p = await pair(ctx);
  const i = await send(ctx, p.sender, p.worker.address);
  let triggeredAt = -1;
  let writing: Promise<unknown> | undefined;
  const started = performance.now();
  const result = await observe(ctx, i.intent_id, p.sender.key, {
    key: p.sender.key,
    query: { wait_seconds: 10 },
    until: (frame) => {
      if (frame.id === '2' && !writing) {
        triggeredAt = frame.atMs;
        writing = resolve(ctx, i.intent_id, p.worker.key, { status: 'COMPLETED', result: { live: true } });
      }
      return false;
    },
  });
  const ended = performance.now();
  check(writing, 'the backlog frame seq 2 never arrived', 'frame id 2', result.frames.map((f) => f.id));
  ok((await writing) as never, 'the resolve written while observing');
  return { result, triggeredAt, started, ended };
}

export const sseCases = group('SSE', [
  {
    id: 'SSE-001',
    title: 'observing a terminal intent writes the backlog as id/event/data frames, the final frame, and ends',
    level: 'MUST',
    requirements: ['SSE-001', 'SSE-002', 'SSE-003', 'SSE-008', 'SSE-009'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await finished(ctx, p);
      const result = await observe(ctx, i.intent_id, p.sender.key, { key: p.sender.key, query: { wait_seconds: 10 }, timeoutMs: 5000 });
      const frames = checkFrames(result, 5, 'observe of a terminal intent');
      equal(frames.map((f) => f.json.event_type), ['intent.created', 'intent.submitted', 'intent.in_progress', 'intent.waiting', 'intent.completed'], 'event frames');
      equal(result.frames.at(-1)?.json?.reason, 'terminal', 'final frame reason after a terminal event (SSE-009)');
      const list = ok(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events`, key: p.sender.key }), 'events').events;
      equal(frames.map((f) => f.json), list, 'frame data equals the stored events');
    },
  },
  {
    id: 'SSE-002',
    title: 'observe writes new events live and ends right after the terminal one',
    level: 'MUST',
    requirements: ['SSE-001', 'SSE-009', 'SSE-008'],
    ...pollCap,
    async run(ctx) {
      const { result, started, ended } = await liveCompletion(ctx);
      const frames = checkFrames(result, 3, 'live observe');
      equal(frames.map((f) => f.json.event_type), ['intent.created', 'intent.submitted', 'intent.completed'], 'event frames');
      check(ended - started < scaled(ctx, 8000), 'the response must end after the terminal event, not after wait_seconds', `< ${scaled(ctx, 8000)} ms`, Math.round(ended - started));
    },
  },
  {
    id: 'SSE-003',
    title: 'a live event reaches the observer within one second',
    level: 'SHOULD',
    requirements: ['SSE-011'],
    ...pollCap,
    async run(ctx) {
      const bound = scaled(ctx, 1000);
      const latency = ({ result, triggeredAt }: Awaited<ReturnType<typeof liveCompletion>>) => {
        const completed = result.frames.find((f) => f.event === 'intent.completed');
        return completed ? completed.atMs - triggeredAt : undefined;
      };
      const live = await timedTries(ctx, 'a live event', () => liveCompletion(ctx), (m) => (latency(m) ?? Infinity) <= bound);
      const took = latency(live);
      check(took !== undefined, 'no intent.completed frame', 'frame', live.result.frames.map((f) => f.event));
      check(took! <= bound, 'the event took too long to reach the observer', `<= ${bound} ms`, took);
    },
  },
  {
    id: 'SSE-004',
    title: 'wait_seconds=0 writes the backlog and ends at once',
    level: 'MUST',
    requirements: ['SSE-007', 'SSE-008'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      const atOnce = scaled(ctx, 1000);
      const { result, took } = await timedTries(ctx, 'an observe with wait_seconds=0', async () => {
        const opened = performance.now();
        const result = await observe(ctx, i.intent_id, p.sender.key, { key: p.sender.key, query: { wait_seconds: 0 }, timeoutMs: 3000 });
        return { result, took: performance.now() - opened };
      }, (m) => m.took < atOnce);
      equal(checkFrames(result, 2, 'wait_seconds=0').map((f) => f.id), ['1', '2'], 'backlog frame ids');
      check(took < atOnce, 'wait_seconds=0 must end at once', `< ${atOnce} ms`, Math.round(took));
    },
  },
  {
    id: 'SSE-005',
    title: 'an idle observe ends after wait_seconds (real time) with the final frame at the cursor',
    level: 'MUST',
    requirements: ['SSE-007', 'SSE-008', 'CLK-007'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      const afterWait = scaled(ctx, 2500);
      const { result, took } = await timedTries(ctx, 'an idle observe with wait_seconds=1', async () => {
        const opened = performance.now();
        const result = await observe(ctx, i.intent_id, p.sender.key, { key: p.sender.key, query: { since: 2, wait_seconds: 1 }, timeoutMs: 4000 });
        return { result, took: performance.now() - opened };
      }, (m) => m.took <= afterWait);
      equal(checkFrames(result, 2, 'idle observe since=2').length, 0, 'event frames after the cursor');
      check(took >= 900 && took <= afterWait, 'an idle observe must stay open about wait_seconds=1', `900..${afterWait} ms`, Math.round(took));
      equal(result.frames.at(-1)?.json?.reason ?? 'wait_elapsed', 'wait_elapsed', 'final frame reason');
    },
  },
  {
    id: 'SSE-006',
    title: 'the cursor comes from since or Last-Event-ID, exclusive; the header wins when both are sent',
    level: 'MUST',
    requirements: ['SSE-004', 'SSE-005'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await finished(ctx, p);
      const ids = async (query: Record<string, number>, headers?: Record<string, string>) =>
        eventFrames(await observe(ctx, i.intent_id, p.sender.key, { key: p.sender.key, query: { wait_seconds: 0, ...query }, headers, timeoutMs: 3000 })).map((f) => f.id);
      equal(await ids({ since: 3 }), ['4', '5'], 'since=3');
      equal(await ids({}, { 'last-event-id': '3' }), ['4', '5'], 'Last-Event-ID: 3');
      equal(await ids({ since: 1 }, { 'last-event-id': '3' }), ['4', '5'], 'since=1 with Last-Event-ID: 3');
      equal(await ids({ since: 4 }, { 'last-event-id': '2' }), ['3', '4', '5'], 'since=4 with Last-Event-ID: 2 (the header wins)');
      equal(await ids({}), ['1', '2', '3', '4', '5'], 'no cursor (default 0)');
    },
  },
  {
    id: 'SSE-007',
    title: 'a cut stream resumed with Last-Event-ID loses and repeats nothing',
    level: 'MUST',
    requirements: ['SSE-010', 'SSE-004'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      for (let n = 0; n < 4; n++) await writeOk(ctx, i.intent_id, 'resume', p.worker.key, { action: 'progress', progress: { n } }, 'intent.in_progress', 'IN_PROGRESS');
      const first = await observe(ctx, i.intent_id, p.sender.key, { key: p.sender.key, query: { wait_seconds: 5 }, until: (_f, all) => all.length >= 3 });
      const seen = eventFrames(first).map((f) => Number(f.id));
      equal(seen, [1, 2, 3], 'frames read before the kit cut the stream');
      const completing = resume(ctx, i.intent_id, p.worker.key, { action: 'complete' });
      ok(await completing, 'complete while disconnected');
      const second = await observe(ctx, i.intent_id, p.sender.key, { key: p.sender.key, query: { wait_seconds: 5 }, headers: { 'last-event-id': String(seen.at(-1)) } });
      const rest = checkFrames(second, 7, 'resumed observe').map((f) => Number(f.id));
      equal([...seen, ...rest], [1, 2, 3, 4, 5, 6, 7], 'every event exactly once across both responses');
    },
  },
  {
    id: 'SSE-008',
    title: 'observe refuses bad requests with problem documents before any SSE output',
    level: 'MUST',
    requirements: ['SSE-012', 'SSE-007', 'ERR-012'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      const stranger = await agent(ctx, 'stranger', 'poll');
      const cases: [string, SseOpen, number, string][] = [
        ['wait_seconds=61', { key: p.sender.key, query: { wait_seconds: 61 } }, 422, 'validation_failed'],
        ['wait_seconds=-1', { key: p.sender.key, query: { wait_seconds: -1 } }, 422, 'validation_failed'],
        ['since=-1', { key: p.sender.key, query: { since: -1 } }, 422, 'validation_failed'],
        ['no key', { query: { wait_seconds: 0 } }, 401, 'unauthorized'],
        ['another agent', { key: stranger.key, query: { wait_seconds: 0 } }, 404, 'intent_not_found'],
      ];
      for (const [what, open, status, code] of cases) {
        const r = await observe(ctx, i.intent_id, undefined, { ...open, timeoutMs: 3000 });
        equal({ status: r.status, code: r.body?.code, frames: r.frames.length }, { status, code, frames: 0 }, `observe with ${what}`);
        if (status === 422) equal(r.body.errors?.[0]?.location, 'query', `observe with ${what}: errors[0].location`);
      }
      const unknown = await observe(ctx, crypto.randomUUID(), undefined, { key: p.sender.key, query: { wait_seconds: 0 }, timeoutMs: 3000 });
      equal({ status: unknown.status, code: unknown.body?.code }, { status: 404, code: 'intent_not_found' }, 'observe of an unknown intent');
    },
  },
  {
    id: 'SSE-009',
    title: 'an idle observe writes ": keepalive" comments at the advertised period',
    level: 'MUST',
    requirements: ['SSE-006'],
    ...pollCap,
    async run(ctx) {
      const period = Number(limits(ctx).keepalive_seconds ?? 15);
      const p = await pair(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      const wait = Math.min(60, period + 1);
      ctx.note(`keepalive period ${period} s: observing for ${wait} s`);
      const result = await observe(ctx, i.intent_id, p.sender.key, { key: p.sender.key, query: { since: 2, wait_seconds: wait }, timeoutMs: (wait + 5) * 1000 });
      check(result.comments.some((c) => c.trim() === 'keepalive'), `no ": keepalive" comment within ${wait} s`, ': keepalive', result.comments);
    },
  },
  {
    id: 'SSE-010',
    title: 'GET with wait_seconds answers as soon as the intent is terminal',
    level: 'MUST',
    requirements: ['SSE-020'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      const waiting = started(ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: p.sender.key, query: { wait_seconds: 10 } }));
      await getIntent(ctx, i.intent_id, p.worker.key);
      ok(await resolve(ctx, i.intent_id, p.worker.key, { status: 'COMPLETED' }), 'resolve');
      const res = await waiting;
      const body = ok(res, 'the waiting GET');
      equal(body.status, 'COMPLETED', 'status in the waiting GET\'s answer');
      check(res.durationMs < scaled(ctx, 5000), 'the waiting GET must answer when the intent turns terminal, not after wait_seconds', `< ${scaled(ctx, 5000)} ms`, res.durationMs);
    },
  },
  {
    id: 'SSE-011',
    title: 'GET answers at once without wait_seconds, and after wait_seconds with the current state',
    level: 'MUST',
    requirements: ['SSE-020', 'SSE-021', 'ERR-012'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      const get = (query?: Record<string, number>) => () => ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: p.sender.key, query });
      const atOnce = scaled(ctx, 1000);
      const now = await timedTries(ctx, 'GET without wait_seconds', get(), (r) => r.durationMs < atOnce);
      check(ok(now, 'GET').status === 'SUBMITTED' && now.durationMs < atOnce, 'GET without wait_seconds must answer at once', `< ${atOnce} ms`, now.durationMs);
      const zero = await timedTries(ctx, 'GET wait_seconds=0', get({ wait_seconds: 0 }), (r) => r.durationMs < atOnce);
      check(ok(zero, 'GET wait_seconds=0') && zero.durationMs < atOnce, 'wait_seconds=0 must answer at once', `< ${atOnce} ms`, zero.durationMs);
      const afterWait = scaled(ctx, 3000);
      const one = await timedTries(ctx, 'GET wait_seconds=1', get({ wait_seconds: 1 }), (r) => r.durationMs < afterWait);
      equal(ok(one, 'GET wait_seconds=1').status, 'SUBMITTED', 'state after the wait');
      check(one.durationMs >= 900 && one.durationMs < afterWait, 'GET wait_seconds=1 on a live intent must wait about 1 s', `900..${afterWait} ms`, one.durationMs);
      validationError(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: p.sender.key, query: { wait_seconds: 61 } }), /wait_seconds/, 'GET wait_seconds=61', 'query');
    },
  },
  {
    id: 'SSE-012',
    title: 'a waiting GET answers within one second of the terminal write',
    level: 'SHOULD',
    requirements: ['SSE-022'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const bound = scaled(ctx, 1000);
      const { r, late } = await timedTries(ctx, 'a waiting GET', async () => {
        const i = await send(ctx, p.sender, p.worker.address);
        const waiting = started(ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: p.sender.key, query: { wait_seconds: 10 } }).then((r) => ({ r, at: performance.now() })));
        await getIntent(ctx, i.intent_id, p.worker.key);
        ok(await resume(ctx, i.intent_id, p.worker.key, { action: 'fail', error: { code: 'x' } }), 'resume fail');
        const resolvedAt = performance.now();
        const { r, at } = await waiting;
        return { r, late: at - resolvedAt };
      }, (m) => m.late <= bound);
      equal(ok(r, 'waiting GET').status, 'FAILED', 'status');
      check(late <= bound, 'the waiting GET answered too long after the terminal write', `<= ${bound} ms`, Math.round(late));
    },
  },
  {
    id: 'SSE-013',
    title: 'on the wire, frames are exactly id/event/data lines and everything else is a comment line',
    level: 'MUST',
    requirements: ['SSE-003', 'SSE-016'],
    ...pollCap,
    async run(ctx) {
      const p = await pair(ctx);
      const i = await finished(ctx, p);
      // Raw bytes, read past the kit's SSE parser, so stray fields or retry lines cannot hide.
      const url = new URL(`/v1/intents/${i.intent_id}/events/stream?wait_seconds=5`, ctx.baseUrl);
      const res = await fetch(url, { headers: { 'x-api-key': p.sender.key, accept: 'text/event-stream' }, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000 * ctx.timeoutScale)]) });
      const text = await res.text();
      ctx.note(`raw observe body (${text.length} bytes): ${JSON.stringify(text.slice(0, 400))}`);
      const blocks = text.split(/\r\n\r\n|\n\n|\r\r/).filter((b) => b.length > 0);
      check(/(\r\n|\n|\r){2}$/.test(text), 'the response must end with an empty line after the final frame', 'blank line at the end', JSON.stringify(text.slice(-40)));
      let frames = 0;
      for (const block of blocks) {
        const lines = block.split(/\r\n|\n|\r/);
        if (lines.every((l) => l.startsWith(': '))) continue;
        frames++;
        const shape = lines.map((l) => l.replace(/^(id|event|data): .*$/, '$1'));
        const ok3 = shape.join(',') === 'id,event,data';
        const final = shape.join(',') === 'event,data' && lines[0] === 'event: stream.timeout';
        check(ok3 || final, 'a frame must be exactly "id: …", "event: …", "data: …" (the final frame without id)', 'id,event,data', lines);
      }
      equal(frames, 6, 'frames on the wire (five events and the final frame)');
    },
  },
  {
    id: 'SSE-014',
    title: 'multi-digit cursors: since=9 and Last-Event-ID: 10 select by number on the events list and the stream',
    level: 'MUST',
    requirements: ['SSE-004', 'SSE-005', 'EVT-005', 'EVT-006'],
    ...pollCap,
    forms: { 'SSE-004': ['since=9', 'Last-Event-ID: 10', 'multi-digit seq (10..13)'], 'SSE-005': ['Last-Event-ID above since', 'Last-Event-ID below since'], 'EVT-005': ['since=9', 'since=10', 'since=11'] },
    async run(ctx) {
      const p = await ctx.setup('a sender and a worker', () => pair(ctx));
      // 2 events at creation, then each progress report appends one: 13 events in all, seq 1..13.
      const i = await ctx.setup('an intent with 13 events', async () => {
        const sent = await send(ctx, p.sender, p.worker.address);
        for (let n = 0; n < 10; n++) ok(await resume(ctx, sent.intent_id, p.worker.key, { action: 'progress', progress: { step: n } }), `progress report ${n + 1}`);
        ok(await resolve(ctx, sent.intent_id, p.worker.key, { status: 'COMPLETED', result: {} }), 'resolve');
        return sent;
      });
      const all = ok(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events`, key: p.sender.key }), 'events list').events as Wire[];
      const last = Number(all.at(-1)?.seq);
      ctx.precondition(last >= 12, `at least 12 events (progress reports appended ${all.length} events in all)`);
      const after = (n: number) => all.filter((e) => e.seq > n).map((e) => String(e.seq));
      for (const since of [9, 10, 11]) {
        const page = ok(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events`, key: p.sender.key, query: { since } }), `events since=${since}`);
        equal(page.events.map((e: Wire) => String(e.seq)), after(since), `events list since=${since}`);
        equal(page.next_seq, last, `next_seq of the events list since=${since}`);
      }
      const ids = async (query: Record<string, number>, headers?: Record<string, string>) =>
        eventFrames(await observe(ctx, i.intent_id, p.sender.key, { key: p.sender.key, query: { wait_seconds: 0, ...query }, headers, timeoutMs: 3000 })).map((f) => f.id);
      equal(await ids({ since: 9 }), after(9), 'stream since=9');
      equal(await ids({}, { 'last-event-id': '10' }), after(10), 'stream with Last-Event-ID: 10');
      equal(await ids({ since: 2 }, { 'last-event-id': '11' }), after(11), 'stream since=2 with Last-Event-ID: 11 (the header wins)');
      equal(await ids({ since: 11 }, { 'last-event-id': '9' }), after(9), 'stream since=11 with Last-Event-ID: 9 (the header wins)');
    },
  },
]);
