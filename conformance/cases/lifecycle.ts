// Chapter 4: the lifecycle state table, walked over the wire and compared with the kit's own model
// (conformance/model/lifecycle.ts).
import type { CaseContext, HttpResponse } from '../case.js';
import { expectedTransition, type Operation, type Status } from '../model/lifecycle.js';
import {
  check, equal, events, getIntent, group, needs, ok, passTime, poll, pollFor, problem, send, types, write, writeOk, type Wire,
} from './support.js';
import { ackOk, pair, polledIntent, type Pair } from './flows.js';

const pollCap = needs('binding.poll');

type Parties = Pair;
const parties = (ctx: CaseContext): Promise<Parties> => pair(ctx, { worker: { lease_seconds: 3600 } });

const OPS: Partial<Record<Operation, (ctx: CaseContext, p: Parties, id: string) => Promise<HttpResponse>>> = {
  ack: (ctx, p, id) => write(ctx, id, 'ack', p.worker.key, {}),
  progress: (ctx, p, id) => write(ctx, id, 'resume', p.worker.key, { action: 'progress' }),
  wait: (ctx, p, id) => write(ctx, id, 'resume', p.worker.key, { action: 'wait', waiting_reason: 'WAITING_FOR_AGENT' }),
  complete: (ctx, p, id) => write(ctx, id, 'resume', p.worker.key, { action: 'complete', result: { done: true } }),
  fail: (ctx, p, id) => write(ctx, id, 'resume', p.worker.key, { action: 'fail', error: { code: 'broken' } }),
  cancel: (ctx, p, id) => write(ctx, id, 'cancel', p.sender.key, { reason: 'test' }),
  redeliver: (ctx, _p, id) => write(ctx, id, 'redeliver', ctx.adminKey, undefined),
};

/** Creates an intent and drives it to `status` with wire operations. */
async function intentIn(ctx: CaseContext, p: Parties, status: Status): Promise<Wire> {
  const i = await send(ctx, p.sender, p.worker.address);
  const id = i.intent_id;
  const steps: Record<string, () => Promise<unknown>> = {
    SUBMITTED: async () => undefined,
    DELIVERED: () => pollFor(ctx, p.worker, id),
    ACKNOWLEDGED: async () => { await pollFor(ctx, p.worker, id); ok(await OPS.ack!(ctx, p, id), 'ack'); },
    IN_PROGRESS: async () => ok(await OPS.progress!(ctx, p, id), 'progress'),
    WAITING: async () => ok(await OPS.wait!(ctx, p, id), 'wait'),
    COMPLETED: async () => ok(await OPS.complete!(ctx, p, id), 'complete'),
    FAILED: async () => ok(await OPS.fail!(ctx, p, id), 'fail'),
    CANCELED: async () => ok(await OPS.cancel!(ctx, p, id), 'cancel'),
  };
  await steps[status]();
  const now = await getIntent(ctx, id, p.sender.key);
  equal(now.status, status, `driving an intent to ${status}`);
  return now;
}

/** Applies every wire operation to an intent in each status and compares with the model. */
async function walk(ctx: CaseContext, statuses: Status[]): Promise<void> {
  const p = await parties(ctx);
  for (const status of statuses) {
    for (const [op, apply] of Object.entries(OPS) as [Operation, NonNullable<(typeof OPS)[Operation]>][]) {
      const before = await intentIn(ctx, p, status);
      const expected = expectedTransition(status, op);
      // The latest seq from the events themselves: last_seq is INT-017's to judge (INT-011 case).
      const lastSeq: number = typeof before.last_seq === 'number' ? before.last_seq : (await events(ctx, before.intent_id, p.sender.key)).length;
      const res = await apply(ctx, p, before.intent_id);
      const where = `${op} on a ${status} intent`;
      // A FAILED intent without a dead-letter entry cannot be redelivered (LC-014).
      if (op === 'redeliver' && status === 'FAILED') {
        problem(res, 409, 'illegal_transition', `${where} (failed by resume, no dead letter)`);
        continue;
      }
      if (expected.ok) {
        const body = ok(res, where);
        equal({ type: body.event.event_type, status: body.intent.status }, { type: expected.eventType, status: expected.next }, `${where}: event and status (LC-005, LC-006)`);
        equal(body.event.seq, lastSeq + 1, `${where}: seq of the one appended event`);
        const after = await events(ctx, before.intent_id, p.sender.key, lastSeq);
        equal(types(after), [expected.eventType], `${where}: events appended`);
        equal(after[0], body.event, `${where}: the answer's event equals the stored event`);
      } else {
        problem(res, 409, expected.code, where);
        const after = await getIntent(ctx, before.intent_id, p.sender.key);
        equal(after.status, before.status, `${where}: status after a refused write (LC-007)`);
        equal((await events(ctx, before.intent_id, p.sender.key, lastSeq)).length, 0, `${where}: events appended by a refused write (LC-007)`);
      }
    }
  }
}

export const lifecycleCases = group('LC', [
  {
    id: 'LC-001',
    title: 'a create appends intent.created (seq 1, CREATED) and intent.submitted (seq 2, SUBMITTED)',
    level: 'MUST',
    requirements: ['LC-003', 'LC-004', 'EVT-001'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      const list = await events(ctx, i.intent_id, p.sender.key);
      equal(list.map((e) => [e.seq, e.event_type, e.status, e.intent_id]), [[1, 'intent.created', 'CREATED', i.intent_id], [2, 'intent.submitted', 'SUBMITTED', i.intent_id]], 'the first two events');
    },
  },
  {
    id: 'LC-002',
    title: 'a full walk: delivered, acknowledged, in progress, waiting, in progress, completed',
    level: 'MUST',
    requirements: ['LC-001', 'LC-002', 'LC-005', 'LC-006', 'RES-001', 'RES-009', 'EVT-008', 'LC-012'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await send(ctx, p.sender, p.worker.address);
      const id = i.intent_id;
      await pollFor(ctx, p.worker, id);
      check((await getIntent(ctx, id, p.sender.key)).waiting_reason === undefined, 'waiting_reason outside WAITING (LC-002)', undefined, 'present');
      await ackOk(ctx, id, p.worker.key, {});
      await writeOk(ctx, id, 'resume', p.worker.key, { action: 'progress' }, 'intent.in_progress', 'IN_PROGRESS');
      const waiting = await writeOk(ctx, id, 'resume', p.worker.key, { action: 'wait', waiting_reason: 'WAITING_FOR_TOOL' }, 'intent.waiting', 'WAITING');
      equal(waiting.intent.waiting_reason, 'WAITING_FOR_TOOL', 'intent waiting_reason (LC-002)');
      equal(waiting.event.waiting_reason, 'WAITING_FOR_TOOL', 'intent.waiting carries waiting_reason (EVT-008)');
      const again = await writeOk(ctx, id, 'resume', p.worker.key, { action: 'progress' }, 'intent.in_progress', 'IN_PROGRESS');
      check(again.intent.waiting_reason === undefined || again.intent.waiting_reason === null, 'waiting_reason must go when the intent leaves WAITING (LC-002)', 'absent', again.intent.waiting_reason);
      await writeOk(ctx, id, 'resume', p.worker.key, { action: 'complete', result: { ok: 1 } }, 'intent.completed', 'COMPLETED');
      const list = await events(ctx, id, p.sender.key);
      equal(types(list), ['intent.created', 'intent.submitted', 'intent.delivered', 'intent.acknowledged', 'intent.in_progress', 'intent.waiting', 'intent.in_progress', 'intent.completed'], 'the event history');
      equal(list.map((e) => e.status), ['CREATED', 'SUBMITTED', 'DELIVERED', 'ACKNOWLEDGED', 'IN_PROGRESS', 'WAITING', 'IN_PROGRESS', 'COMPLETED'], 'event statuses (status after each event)');
    },
  },
  {
    id: 'LC-003',
    title: 'state table: every write on SUBMITTED and DELIVERED intents matches the model',
    level: 'MUST',
    requirements: ['LC-005', 'LC-006', 'LC-007', 'LC-011', 'LC-014'],
    ...pollCap,
    run: (ctx) => walk(ctx, ['SUBMITTED', 'DELIVERED']),
  },
  {
    id: 'LC-004',
    title: 'state table: every write on ACKNOWLEDGED, IN_PROGRESS and WAITING intents matches the model',
    level: 'MUST',
    requirements: ['LC-005', 'LC-006', 'LC-007', 'LC-011', 'LC-014'],
    ...pollCap,
    run: (ctx) => walk(ctx, ['ACKNOWLEDGED', 'IN_PROGRESS', 'WAITING']),
  },
  {
    id: 'LC-005',
    title: 'terminal is final: every write on COMPLETED, FAILED and CANCELED intents is 409 and changes nothing',
    level: 'MUST',
    requirements: ['LC-009', 'LC-005', 'LC-014'],
    ...pollCap,
    run: (ctx) => walk(ctx, ['COMPLETED', 'FAILED', 'CANCELED']),
  },
  {
    id: 'LC-006',
    title: 'a write on a terminal intent that is also stale or malformed is still 409 intent_terminal',
    level: 'MUST',
    requirements: ['LC-010'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const i = await intentIn(ctx, p, 'COMPLETED');
      problem(await write(ctx, i.intent_id, 'ack', p.worker.key, { delivery_id: crypto.randomUUID() }), 409, 'intent_terminal', 'ack with an unknown delivery_id on a terminal intent');
      problem(await write(ctx, i.intent_id, 'resume', p.worker.key, { action: 'progress', delivery_id: crypto.randomUUID() }), 409, 'intent_terminal', 'resume with an unknown delivery_id on a terminal intent');
      problem(await write(ctx, i.intent_id, 'resolve', p.worker.key, { status: 'FAILED', error: { code: 'late' }, delivery_id: crypto.randomUUID() }), 409, 'intent_terminal', 'resolve with an unknown delivery_id on a terminal intent');
    },
  },
  {
    id: 'LC-007',
    title: 'two concurrent terminal writes: one succeeds, the other is 409 intent_terminal',
    level: 'MUST',
    requirements: ['LC-017', 'EVT-002'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      for (let round = 0; round < 3; round++) {
        const i = await send(ctx, p.sender, p.worker.address);
        const [a, b] = await Promise.all([
          write(ctx, i.intent_id, 'resolve', p.worker.key, { status: 'COMPLETED', result: { by: 'a' } }),
          write(ctx, i.intent_id, 'cancel', p.sender.key, { reason: 'race' }),
        ]);
        const statuses = [a.status, b.status].sort();
        equal(statuses, [200, 409], `round ${round + 1}: answers to two competing terminal writes`);
        const loser = a.status === 409 ? a : b;
        problem(loser, 409, 'intent_terminal', `round ${round + 1}: the losing write`);
        const list = await events(ctx, i.intent_id, p.sender.key);
        equal(list.filter((e) => ['intent.completed', 'intent.canceled'].includes(e.event_type)).length, 1, `round ${round + 1}: terminal events`);
      }
    },
  },
  {
    id: 'LC-008',
    title: 'terminal intents carry result ({} by default), error with a code, or the cancel reason',
    level: 'MUST',
    requirements: ['LC-016'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const a = await send(ctx, p.sender, p.worker.address);
      equal((await writeOk(ctx, a.intent_id, 'resolve', p.worker.key, { status: 'COMPLETED' }, 'intent.completed', 'COMPLETED')).intent.result, {}, 'result of a COMPLETED intent without one');
      const b = await send(ctx, p.sender, p.worker.address);
      const failed = (await writeOk(ctx, b.intent_id, 'resolve', p.worker.key, { status: 'FAILED', error: { code: 'no_stock', message: 'out' } }, 'intent.failed', 'FAILED')).intent;
      equal(failed.error, { code: 'no_stock', message: 'out' }, 'error of a FAILED intent');
      const c = await send(ctx, p.sender, p.worker.address);
      equal((await writeOk(ctx, c.intent_id, 'cancel', p.sender.key, { reason: 'duplicate order' }, 'intent.canceled', 'CANCELED')).intent.reason, 'duplicate order', 'reason of a CANCELED intent');
      equal((await getIntent(ctx, c.intent_id, p.worker.key)).reason, 'duplicate order', 'reason on read');
    },
  },
  {
    id: 'LC-009',
    title: 'a terminal intent is never delivered again: no redelivery after its lease would have expired',
    level: 'MUST',
    requirements: ['LC-015', 'RES-023'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i, d } = await polledIntent(ctx);
      await writeOk(ctx, i.intent_id, 'cancel', sender.key, {}, 'intent.canceled', 'CANCELED');
      const leaseMs = Math.max(0, Date.parse(d.lease_expires_at) - Date.now());
      const retryMs = 1.2 * Number(worker.delivery.initial_delay_ms);
      const advanced = await passTime(ctx, Number(worker.delivery.lease_seconds) * 1000 + retryMs + 50);
      // Without a test clock, the poll's own wait covers the lease and the first retry delay.
      const answer = await poll(ctx, worker, { wait_seconds: advanced ? 0 : Math.ceil((leaseMs + retryMs) / 1000) + 1 });
      check(!answer.deliveries.some((x: Wire) => x.intent_id === i.intent_id), 'a canceled intent was delivered again', 'no delivery', answer.deliveries);
      const list = await events(ctx, i.intent_id, sender.key);
      equal(types(list).at(-1), 'intent.canceled', 'the last event stays intent.canceled');
      problem(await write(ctx, i.intent_id, 'resume', worker.key, { action: 'complete' }), 409, 'intent_terminal', 'the receiver\'s next write after the cancel');
    },
  },
  {
    id: 'LC-010',
    title: 'complete, progress and wait are accepted straight from SUBMITTED',
    level: 'MUST',
    requirements: ['RES-009', 'LC-005'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const a = await send(ctx, p.sender, p.worker.address);
      await writeOk(ctx, a.intent_id, 'resume', p.worker.key, { action: 'complete' }, 'intent.completed', 'COMPLETED');
      const b = await send(ctx, p.sender, p.worker.address);
      await writeOk(ctx, b.intent_id, 'resume', p.worker.key, { action: 'progress' }, 'intent.in_progress', 'IN_PROGRESS');
      const c = await send(ctx, p.sender, p.worker.address);
      await writeOk(ctx, c.intent_id, 'resume', p.worker.key, { action: 'wait', waiting_reason: 'WAITING_FOR_HUMAN' }, 'intent.waiting', 'WAITING');
      const d = await poll(ctx, p.worker, { limit: 50 });
      check(!d.deliveries.some((x: Wire) => [a.intent_id, b.intent_id, c.intent_id].includes(x.intent_id)), 'intents past SUBMITTED must not be delivered afterwards', 'no delivery', d.deliveries.map((x: Wire) => x.intent_id));
    },
  },
]);
