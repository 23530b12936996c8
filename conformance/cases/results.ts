// Chapter 12: resume shapes, resolve, cancel, who may write, and replayed results.
import type { CaseContext } from '../case.js';
import {
  agent, check, equal, events, getIntent, group, needs, ok, poll, pollFor, problem, resolve, resume, send, types, validationError, write, writeOk, type Wire,
} from './support.js';
import { pair, type Pair } from './flows.js';

const pollCap = needs('binding.poll');

type Parties = Pair;
const parties = (ctx: CaseContext): Promise<Parties> => pair(ctx);

async function fresh(ctx: CaseContext, p: Parties): Promise<string> {
  return (await send(ctx, p.sender, p.worker.address)).intent_id;
}

export const resultCases = group('RES', [
  {
    id: 'RES-001',
    title: 'resume complete stores result and answers {ok, intent, event}',
    level: 'MUST',
    requirements: ['RES-003', 'RES-001', 'LC-016'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const id = await fresh(ctx, p);
      await pollFor(ctx, p.worker, id);
      const answer = await writeOk(ctx, id, 'resume', p.worker.key, { action: 'complete', result: { refund_id: 'r-1' } }, 'intent.completed', 'COMPLETED');
      equal(answer.intent.result, { refund_id: 'r-1' }, 'result');
      equal(answer.event, (await events(ctx, id, p.sender.key)).at(-1), 'the answer\'s event is the stored latest event');
      equal((await getIntent(ctx, id, p.sender.key)).result, { refund_id: 'r-1' }, 'result on read');
    },
  },
  {
    id: 'RES-002',
    title: 'complete without result takes the other top-level fields as the result, {} when none',
    level: 'MUST',
    requirements: ['RES-004'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const a = await fresh(ctx, p);
      equal((await writeOk(ctx, a, 'resume', p.worker.key, { action: 'complete', amount: 12, currency: 'EUR', reason: 'ok' }, 'intent.completed', 'COMPLETED')).intent.result, { amount: 12, currency: 'EUR' }, 'result from top-level fields');
      const b = await fresh(ctx, p);
      equal((await writeOk(ctx, b, 'resume', p.worker.key, { action: 'complete' }, 'intent.completed', 'COMPLETED')).intent.result, {}, 'result of a bare complete');
      const c = await fresh(ctx, p);
      equal((await writeOk(ctx, c, 'resume', p.worker.key, { action: 'complete', result: { x: 1 }, ignored: true }, 'intent.completed', 'COMPLETED')).intent.result, { x: 1 }, 'result given explicitly beside other fields');
    },
  },
  {
    id: 'RES-003',
    title: 'invalid resume bodies are 422 and change nothing',
    level: 'MUST',
    requirements: ['RES-005', 'RES-006', 'ERR-008'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const id = await fresh(ctx, p);
      const bad: [string, unknown][] = [
        ['wait without waiting_reason', { action: 'wait' }],
        ['fail without error', { action: 'fail' }],
        ['progress with result', { action: 'progress', result: {} }],
        ['wait with error', { action: 'wait', waiting_reason: 'WAITING_FOR_TOOL', error: { code: 'x' } }],
        ['empty body', {}],
        ['action and outcome', { action: 'complete', outcome: 'success' }],
        ['unknown action', { action: 'pause' }],
        ['unknown outcome', { outcome: 'maybe' }],
        ['bad waiting_reason', { action: 'wait', waiting_reason: 'WAITING_FOR_GODOT' }],
      ];
      for (const [what, body] of bad) validationError(await resume(ctx, id, p.worker.key, body), /.*/, what);
      equal((await getIntent(ctx, id, p.sender.key)).status, 'SUBMITTED', 'status after refused resumes');
      equal((await events(ctx, id, p.sender.key)).length, 2, 'events after refused resumes');
    },
  },
  {
    id: 'RES-004',
    title: 'the outcome form: success completes (result default {}), failure fails (error default {code: failure})',
    level: 'MUST',
    requirements: ['RES-007'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const a = await fresh(ctx, p);
      equal((await writeOk(ctx, a, 'resume', p.worker.key, { outcome: 'success' }, 'intent.completed', 'COMPLETED')).intent.result, {}, 'result of outcome success');
      const b = await fresh(ctx, p);
      equal((await writeOk(ctx, b, 'resume', p.worker.key, { outcome: 'success', result: { n: 2 } }, 'intent.completed', 'COMPLETED')).intent.result, { n: 2 }, 'result of outcome success with result');
      const c = await fresh(ctx, p);
      equal((await writeOk(ctx, c, 'resume', p.worker.key, { outcome: 'failure' }, 'intent.failed', 'FAILED')).intent.error, { code: 'failure' }, 'error of outcome failure');
      const d = await fresh(ctx, p);
      equal((await writeOk(ctx, d, 'resume', p.worker.key, { outcome: 'failure', error: { code: 'card_declined' } }, 'intent.failed', 'FAILED')).intent.error, { code: 'card_declined' }, 'error of outcome failure with error');
    },
  },
  {
    id: 'RES-005',
    title: 'the task_result form completes with {task_result}; outcome rejected fails with task_rejected',
    level: 'MUST',
    requirements: ['RES-008'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const a = await fresh(ctx, p);
      equal((await writeOk(ctx, a, 'resume', p.worker.key, { task_result: { outcome: 'approved', comment: 'fine' } }, 'intent.completed', 'COMPLETED')).intent.result, { task_result: { outcome: 'approved', comment: 'fine' } }, 'result of a task_result');
      const b = await fresh(ctx, p);
      const rejected = (await writeOk(ctx, b, 'resume', p.worker.key, { task_result: { outcome: 'rejected' } }, 'intent.failed', 'FAILED')).intent;
      equal({ e: rejected.error?.code, r: rejected.result }, { e: 'task_rejected', r: { task_result: { outcome: 'rejected' } } }, 'a rejected task_result');
    },
  },
  {
    id: 'RES-006',
    title: 'progress and wait repeat, each appending an event; progress details are kept',
    level: 'MUST',
    requirements: ['RES-009', 'RES-003'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const id = await fresh(ctx, p);
      await writeOk(ctx, id, 'resume', p.worker.key, { action: 'progress', progress: { pct: 10 } }, 'intent.in_progress', 'IN_PROGRESS');
      await writeOk(ctx, id, 'resume', p.worker.key, { action: 'progress', progress: { pct: 20 } }, 'intent.in_progress', 'IN_PROGRESS');
      await writeOk(ctx, id, 'resume', p.worker.key, { action: 'wait', waiting_reason: 'WAITING_FOR_AGENT' }, 'intent.waiting', 'WAITING');
      const w = await writeOk(ctx, id, 'resume', p.worker.key, { action: 'wait', waiting_reason: 'WAITING_FOR_HUMAN' }, 'intent.waiting', 'WAITING');
      equal(w.intent.waiting_reason, 'WAITING_FOR_HUMAN', 'waiting_reason after a second wait');
      const list = await events(ctx, id, p.sender.key);
      equal(list.filter((e) => e.event_type === 'intent.in_progress').map((e) => e.details?.progress), [{ pct: 10 }, { pct: 20 }], 'progress details');
    },
  },
  {
    id: 'RES-007',
    title: 'resolve moves to COMPLETED, FAILED or CANCELED storing result, error or reason',
    level: 'MUST',
    requirements: ['RES-010', 'LC-016'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const a = await fresh(ctx, p);
      equal((await writeOk(ctx, a, 'resolve', p.worker.key, { status: 'COMPLETED', result: { n: 1 } }, 'intent.completed', 'COMPLETED')).intent.result, { n: 1 }, 'resolve COMPLETED result');
      const b = await fresh(ctx, p);
      equal((await writeOk(ctx, b, 'resolve', p.worker.key, { status: 'FAILED', error: { code: 'nope' } }, 'intent.failed', 'FAILED')).intent.error, { code: 'nope' }, 'resolve FAILED error');
      const c = await fresh(ctx, p);
      equal((await writeOk(ctx, c, 'resolve', p.worker.key, { status: 'CANCELED', reason: 'obsolete' }, 'intent.canceled', 'CANCELED')).intent.reason, 'obsolete', 'resolve CANCELED reason');
    },
  },
  {
    id: 'RES-008',
    title: 'invalid resolve bodies are 422 and change nothing',
    level: 'MUST',
    requirements: ['RES-011', 'ERR-008'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const id = await fresh(ctx, p);
      for (const [what, body] of [
        ['FAILED without error', { status: 'FAILED' }],
        ['COMPLETED with error', { status: 'COMPLETED', error: { code: 'x' } }],
        ['a non-terminal status', { status: 'IN_PROGRESS' }],
        ['an unknown status', { status: 'DONE' }],
        ['no status', { result: {} }],
      ] as [string, unknown][]) validationError(await resolve(ctx, id, p.worker.key, body), /.*/, `resolve with ${what}`);
      equal((await events(ctx, id, p.sender.key)).length, 2, 'events after refused resolves');
    },
  },
  {
    id: 'RES-009',
    title: 'the sender cannot resume or resolve (403); a stranger gets 404',
    level: 'MUST',
    requirements: ['RES-012'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const stranger = await agent(ctx, 'stranger', 'poll');
      const id = await fresh(ctx, p);
      problem(await resume(ctx, id, p.sender.key, { action: 'complete' }), 403, 'forbidden', 'resume by the sender');
      problem(await resolve(ctx, id, p.sender.key, { status: 'COMPLETED' }), 403, 'forbidden', 'resolve by the sender');
      problem(await resume(ctx, id, stranger.key, { action: 'complete' }), 404, 'intent_not_found', 'resume by a stranger');
      problem(await resolve(ctx, id, stranger.key, { status: 'COMPLETED' }), 404, 'intent_not_found', 'resolve by a stranger');
      await writeOk(ctx, id, 'resolve', ctx.adminKey, { status: 'COMPLETED' }, 'intent.completed', 'COMPLETED');
    },
  },
  {
    id: 'RES-010',
    title: 'the sender or admin cancels with no body, an empty body, {} or a reason',
    level: 'MUST',
    requirements: ['RES-020', 'RES-022', 'ERR-010'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const noBody = await fresh(ctx, p);
      ok(await ctx.request({ method: 'POST', path: `/v1/intents/${noBody}/cancel`, key: p.sender.key }), 'cancel without a body');
      const empty = await fresh(ctx, p);
      ok(await ctx.request({ method: 'POST', path: `/v1/intents/${empty}/cancel`, key: p.sender.key, raw: '', headers: { 'content-type': 'application/json' } }), 'cancel with an empty JSON body');
      const emptyText = await fresh(ctx, p);
      ok(await ctx.request({ method: 'POST', path: `/v1/intents/${emptyText}/cancel`, key: p.sender.key, raw: '', headers: { 'content-type': 'text/plain' } }), 'cancel with an empty text/plain body (ERR-010)');
      const obj = await fresh(ctx, p);
      await writeOk(ctx, obj, 'cancel', p.sender.key, {}, 'intent.canceled', 'CANCELED');
      const reasoned = await fresh(ctx, p);
      equal((await writeOk(ctx, reasoned, 'cancel', ctx.adminKey, { reason: 'ops' }, 'intent.canceled', 'CANCELED')).intent.reason, 'ops', 'reason of an admin cancel');
      for (const id of [noBody, empty, emptyText]) equal((await getIntent(ctx, id, p.sender.key)).status, 'CANCELED', `status of ${id}`);
    },
  },
  {
    id: 'RES-011',
    title: 'the receiver cannot cancel (403); a stranger gets 404',
    level: 'MUST',
    requirements: ['RES-021'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const stranger = await agent(ctx, 'stranger', 'poll');
      const id = await fresh(ctx, p);
      problem(await write(ctx, id, 'cancel', p.worker.key, {}), 403, 'forbidden', 'cancel by the receiver');
      problem(await write(ctx, id, 'cancel', stranger.key, {}), 404, 'intent_not_found', 'cancel by a stranger');
      equal((await getIntent(ctx, id, p.sender.key)).status, 'SUBMITTED', 'status after refused cancels');
    },
  },
  {
    id: 'RES-012',
    title: 'a replayed resolve answers its first answer; without the key it is 409 intent_terminal',
    level: 'MUST',
    requirements: ['RES-014', 'IDEM-010'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const id = await fresh(ctx, p);
      const key = ctx.unique('res');
      const body = { status: 'FAILED', error: { code: 'out_of_stock' } };
      const first = ok(await resolve(ctx, id, p.worker.key, body, { 'idempotency-key': key }), 'resolve');
      const again = await resolve(ctx, id, p.worker.key, body, { 'idempotency-key': key });
      equal(ok(again, 'replayed resolve'), first, 'the replayed answer');
      check((again.headers['idempotent-replayed'] ?? '').toLowerCase() === 'true', 'a replayed resolve must carry Idempotent-Replayed: true', 'true', again.headers['idempotent-replayed']);
      problem(await resolve(ctx, id, p.worker.key, body), 409, 'intent_terminal', 'the same resolve without a key');
      equal(types(await events(ctx, id, p.sender.key)).filter((t) => t === 'intent.failed').length, 1, 'terminal events');
    },
  },
  {
    id: 'RES-013',
    title: 'a cancel stops delivery; the receiver holding the delivery gets 409 intent_terminal',
    level: 'MUST',
    requirements: ['RES-023'],
    ...pollCap,
    async run(ctx) {
      const p = await parties(ctx);
      const held = await fresh(ctx, p);
      const d = await pollFor(ctx, p.worker, held);
      const pending = await fresh(ctx, p);
      await writeOk(ctx, held, 'cancel', p.sender.key, {}, 'intent.canceled', 'CANCELED');
      await writeOk(ctx, pending, 'cancel', p.sender.key, {}, 'intent.canceled', 'CANCELED');
      problem(await write(ctx, held, 'ack', p.worker.key, { delivery_id: d.delivery_id }), 409, 'intent_terminal', 'ack of a canceled intent');
      const later = await poll(ctx, p.worker, { limit: 50 });
      check(!later.deliveries.some((x: Wire) => x.intent_id === pending), 'a canceled intent was delivered', 'no delivery', later.deliveries.map((x: Wire) => x.intent_id));
    },
  },
]);
