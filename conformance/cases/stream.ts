// Chapter 7: the stream binding (SSE of deliveries, re-send on reconnect, one stream per delivery).
import type { CaseContext, RegisteredAgent, SseFrameSeen, SseOpen, SseResult } from '../case.js';
import { agent, check, equal, events, fit, getIntent, group, needs, ok, resolve, send, types, write, started, type Wire } from './support.js';
import { pair, sentIntent } from './flows.js';

const streamCap = needs('binding.stream', 'binding.poll');

function stream(ctx: CaseContext, who: RegisteredAgent, options: SseOpen = {}): Promise<SseResult> {
  return ctx.sse(`/v1/agents/${who.path}/intents/stream`, { key: who.key, frameSchema: 'delivery', timeoutMs: 6000, ...options });
}

function deliveries(result: SseResult): SseFrameSeen[] {
  return result.frames.filter((f) => f.event !== 'stream.timeout');
}

function checkDeliveryFrames(result: SseResult, what: string): SseFrameSeen[] {
  equal(result.status, 200, `${what}: status`);
  check((result.headers['content-type'] ?? '').startsWith('text/event-stream'), `${what}: content-type`, 'text/event-stream', result.headers['content-type']);
  const frames = deliveries(result);
  for (const f of frames) {
    equal(f.event, 'intent.delivered', `${what}: frame event (STR-001)`);
    equal(f.id, String(f.json?.seq), `${what}: frame id equals the delivery seq (STR-001)`);
    check(!f.data.includes('\n'), `${what}: data must be one line`, 'one line', f.data);
  }
  return frames;
}

function checkFinal(result: SseResult, nextSeq: number, what: string): void {
  const last = result.frames.at(-1);
  check(result.ended && last?.event === 'stream.timeout' && last.id === undefined, `${what}: the response must end with a stream.timeout frame without id (STR-006)`, 'stream.timeout', last);
  equal(last.json?.next_seq, nextSeq, `${what}: next_seq of the final frame`);
}

/** Long leases: these cases are not about expiry. */
async function streamAgent(ctx: CaseContext, role = 'worker'): Promise<RegisteredAgent> {
  return agent(ctx, role, 'stream', { lease_seconds: fit(ctx, 'lease_seconds', 60) });
}

/** Reads the stream until a delivery of `intentId` arrives (cutting it there). */
async function firstDelivery(ctx: CaseContext, who: RegisteredAgent, intentId: string): Promise<Wire> {
  const r = await stream(ctx, who, { query: { wait_seconds: 5 }, until: (f) => f.json?.intent_id === intentId });
  const frame = checkDeliveryFrames(r, 'stream').find((f) => f.json.intent_id === intentId);
  check(frame, `no delivery of ${intentId} on the stream`, intentId, r.frames.map((f) => f.json?.intent_id));
  return frame.json;
}

export const streamCases = group('STR', [
  {
    id: 'STR-001',
    title: 'a stream writes each delivery as id/event/data and ends with stream.timeout after wait_seconds',
    level: 'MUST',
    requirements: ['STR-001', 'STR-006', 'DLV-001', 'DLV-006', 'LC-012', 'SSE-002'],
    ...streamCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { worker: streamAgent, intent: { metadata: { k: 'v' } } });
      equal((await getIntent(ctx, i.intent_id, sender.key)).status, 'SUBMITTED', 'status before any stream is open (DLV-006)');
      const started = performance.now();
      const r = await stream(ctx, worker, { query: { wait_seconds: 1 } });
      const took = performance.now() - started;
      const frames = checkDeliveryFrames(r, 'stream');
      equal(frames.length, 1, 'delivery frames');
      const d = frames[0].json;
      check(/no-cache/i.test(r.headers['cache-control'] ?? ''), 'Cache-Control must be no-cache', 'no-cache', r.headers['cache-control']);
      equal({ id: d.intent_id, type: d.intent_type, from: d.from_agent, to: d.to_agent, payload: d.payload, cid: d.correlation_id, metadata: d.metadata, attempt: d.attempt }, { id: i.intent_id, type: i.intent_type, from: i.from_agent, to: i.to_agent, payload: i.payload, cid: i.correlation_id, metadata: i.metadata, attempt: 1 }, 'delivery fields (DLV-001)');
      checkFinal(r, d.seq, 'stream');
      check(took >= 900, 'the stream must stay open for wait_seconds', '>= 900 ms', Math.round(took));
      const list = await events(ctx, i.intent_id, sender.key);
      equal(types(list), ['intent.created', 'intent.submitted', 'intent.delivered'], 'events after the stream delivery');
      equal(list[2].status, 'DELIVERED', 'status after intent.delivered');
    },
  },
  {
    id: 'STR-002',
    title: 'a reconnect below the cursor re-sends the open delivery unchanged without a new event',
    level: 'MUST',
    requirements: ['STR-004', 'STR-005', 'STR-003', 'STR-009'],
    ...streamCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { worker: streamAgent });
      const d = await firstDelivery(ctx, worker, i.intent_id);
      const again = await stream(ctx, worker, { query: { since: d.seq - 1, wait_seconds: 0 } });
      const resent = checkDeliveryFrames(again, 'reconnect since seq-1').map((f) => f.json);
      equal(resent.length, 1, 're-sent deliveries');
      equal(resent[0], d, 'the re-sent delivery (same seq, delivery_id, attempt, lease_expires_at)');
      checkFinal(again, d.seq, 'reconnect since seq-1');
      const past = await stream(ctx, worker, { query: { since: d.seq, wait_seconds: 0 } });
      equal(deliveries(past).length, 0, 'deliveries at or below the cursor are not re-sent (since is exclusive)');
      checkFinal(past, d.seq, 'reconnect since seq');
      equal(types(await events(ctx, i.intent_id, sender.key)).filter((t) => t === 'intent.delivered').length, 1, 'intent.delivered events after a re-send');
    },
  },
  {
    id: 'STR-003',
    title: 'Last-Event-ID works as the stream cursor; the header wins when both are sent',
    level: 'MUST',
    requirements: ['STR-003'],
    ...streamCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: streamAgent });
      const a = await send(ctx, sender, worker.address);
      const da = await firstDelivery(ctx, worker, a.intent_id);
      const b = await send(ctx, sender, worker.address);
      const db = await firstDelivery(ctx, worker, b.intent_id);
      equal(db.seq, da.seq + 1, 'seq of the next delivery (DLV-002)');
      const ids = async (query: Record<string, number>, headers?: Record<string, string>) =>
        deliveries(await stream(ctx, worker, { query: { wait_seconds: 0, ...query }, headers })).map((f) => Number(f.id));
      equal(await ids({}, { 'last-event-id': String(da.seq) }), [db.seq], 'Last-Event-ID = first seq');
      equal(await ids({ since: 0 }, { 'last-event-id': String(da.seq) }), [db.seq], 'since=0 with Last-Event-ID = first seq');
      equal(await ids({ since: da.seq }, { 'last-event-id': '0' }), [da.seq, db.seq], 'since = first seq with Last-Event-ID 0 (the header wins)');
      equal(await ids({ since: 0 }), [da.seq, db.seq], 'since=0');
    },
  },
  {
    id: 'STR-004',
    title: 'an acknowledged delivery is not re-sent on reconnect',
    level: 'MUST',
    requirements: ['STR-004', 'DLV-010'],
    ...streamCap,
    async run(ctx) {
      const { worker, i } = await sentIntent(ctx, { worker: streamAgent });
      const d = await firstDelivery(ctx, worker, i.intent_id);
      ok(await write(ctx, i.intent_id, 'ack', worker.key, { delivery_id: d.delivery_id }), 'ack');
      const again = await stream(ctx, worker, { query: { since: 0, wait_seconds: 0 } });
      equal(deliveries(again).length, 0, 'deliveries re-sent after the ack');
    },
  },
  {
    id: 'STR-005',
    title: 'another agent\'s stream is 403 and an unregistered address 404, as problem documents',
    level: 'MUST',
    requirements: ['STR-002', 'STR-006', 'ERR-012'],
    ...streamCap,
    async run(ctx) {
      const a = await streamAgent(ctx, 'a');
      const b = await streamAgent(ctx, 'b');
      const forbidden = await stream(ctx, b, { key: a.key, query: { wait_seconds: 0 } });
      equal({ s: forbidden.status, c: forbidden.body?.code, f: forbidden.frames.length }, { s: 403, c: 'forbidden', f: 0 }, 'stream of another agent');
      const ghost = { ...b, path: `${b.path}-ghost` };
      const missing = await stream(ctx, ghost, { key: ctx.adminKey, query: { wait_seconds: 0 } });
      equal({ s: missing.status, c: missing.body?.code }, { s: 404, c: 'agent_not_found' }, 'stream of an unregistered address');
      const bad = await stream(ctx, a, { query: { wait_seconds: 61 } });
      equal({ s: bad.status, c: bad.body?.code, l: bad.body?.errors?.[0]?.location }, { s: 422, c: 'validation_failed', l: 'query' }, 'wait_seconds=61');
    },
  },
  {
    id: 'STR-006',
    title: 'a stream response does not end because an intent became terminal',
    level: 'MUST',
    requirements: ['STR-007'],
    ...streamCap,
    async run(ctx) {
      const { worker, i } = await sentIntent(ctx, { worker: streamAgent });
      let resolving: Promise<unknown> | undefined;
      const started = performance.now();
      const r = await stream(ctx, worker, {
        query: { wait_seconds: 1 },
        until: (f) => {
          if (f.json?.intent_id === i.intent_id && !resolving) resolving = resolve(ctx, i.intent_id, worker.key, { status: 'COMPLETED' });
          return false;
        },
      });
      const took = performance.now() - started;
      check(resolving, 'the delivery never arrived', 'delivery frame', r.frames);
      ok((await resolving) as never, 'resolve during the stream');
      check(took >= 900, 'the stream ended early after the intent became terminal', '>= 900 ms', Math.round(took));
      check(r.frames.at(-1)?.event === 'stream.timeout', 'the stream must end with stream.timeout', 'stream.timeout', r.frames.at(-1)?.event);
    },
  },
  {
    id: 'STR-007',
    title: 'with two streams open, a delivery is issued on exactly one of them',
    level: 'MUST',
    requirements: ['STR-008'],
    ...streamCap,
    async run(ctx) {
      // The kit cannot see when the server has taken a stream request in: if the second request is
      // taken in after the delivery went out on the first, STR-004 makes it re-send that delivery
      // (cursor 0), which is not a second issue. So a duplicate is charged only when it shows on
      // three fresh agents in a row.
      // A delivery on neither stream is no verdict either: on a loaded machine the create can take
      // longer than the streams' wait.
      let count = 0;
      for (let attempt = 1; attempt <= 3; attempt++) {
        const { sender, worker } = await pair(ctx, { worker: streamAgent });
        const both = started(Promise.all([stream(ctx, worker, { query: { wait_seconds: 2 } }), stream(ctx, worker, { query: { wait_seconds: 2 } })]));
        const i = await send(ctx, sender, worker.address);
        const [x, y] = await both;
        count = [...deliveries(x), ...deliveries(y)].filter((f) => f.json.intent_id === i.intent_id).length;
        if (count === 1) break;
        ctx.note(count === 0
          ? `attempt ${attempt}: the delivery came on neither stream within their wait; trying with a fresh agent`
          : `attempt ${attempt}: the delivery came on both streams (a late-taken request re-sends it under STR-004); trying with a fresh agent`);
      }
      equal(count, 1, 'frames carrying the delivery across both streams');
    },
  },
  {
    id: 'STR-008',
    title: 'the stream endpoint serves a poll agent, and writes nothing for an inbox agent',
    level: 'MUST',
    requirements: ['STR-010'],
    ...needs('binding.stream', 'binding.poll', 'binding.inbox'),
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const poller = await agent(ctx, 'poller', 'poll', { lease_seconds: fit(ctx, 'lease_seconds', 60) });
      const i = await send(ctx, sender, poller.address);
      equal((await firstDelivery(ctx, poller, i.intent_id)).intent_id, i.intent_id, 'a poll agent\'s delivery on the stream endpoint');
      const inbox = await agent(ctx, 'inbox', 'inbox');
      await send(ctx, sender, inbox.address);
      const r = await stream(ctx, inbox, { query: { wait_seconds: 1 } });
      equal(deliveries(r).length, 0, 'deliveries written to an inbox agent\'s stream');
      check(r.frames.at(-1)?.event === 'stream.timeout', 'the inbox agent\'s stream must end with the final frame', 'stream.timeout', r.frames.at(-1)?.event);
    },
  },
  {
    id: 'STR-009',
    title: 'delivery seq rises by one per delivery across an agent\'s intents, starting at 1',
    level: 'MUST',
    requirements: ['DLV-002', 'STR-005'],
    ...streamCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx, { worker: streamAgent });
      const ids = [(await send(ctx, sender, worker.address)).intent_id, (await send(ctx, sender, worker.address)).intent_id, (await send(ctx, sender, worker.address)).intent_id];
      const r = await stream(ctx, worker, { query: { wait_seconds: 5 }, until: (_f, all) => deliveries({ frames: all } as SseResult).length >= 3 });
      const frames = checkDeliveryFrames(r, 'stream');
      equal(frames.map((f) => f.json.seq), [1, 2, 3], 'seqs of a fresh agent\'s first three deliveries');
      equal(frames.map((f) => f.json.intent_id).sort(), [...ids].sort(), 'the three intents, once each');
    },
  },
]);
