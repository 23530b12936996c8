// Chapter 5, events: the per-intent history, its cursor, actors and details.
import { agent, check, checkContiguous, equal, events, group, needs, ok, resume, types, writeOk, type Wire } from './support.js';
import { ackOk, polledIntent, sentIntent } from './flows.js';

const pollCap = needs('binding.poll');

export const eventCases = group('EVT', [
  {
    id: 'EVT-001',
    title: 'GET events?since=N returns exactly the events after N with next_seq',
    level: 'MUST',
    requirements: ['EVT-005', 'EVT-006', 'EVT-001'],
    ...pollCap,
    async run(ctx) {
      // `since` is tested on the events the delivery wrote before the case writes anything itself.
      const { sender, worker, i } = await polledIntent(ctx, { longLease: true });
      const path = `/v1/intents/${i.intent_id}/events`;
      const list = async (since?: number) => ok(await ctx.request({ method: 'GET', path, key: sender.key, query: since === undefined ? undefined : { since } }), `events since=${since ?? '(none)'}`);
      const after1 = await list(1);
      equal(after1.events.map((e: Wire) => e.seq), [2, 3], 'seqs after since=1 (since is exclusive)');
      const after2 = await list(2);
      equal(after2.events.map((e: Wire) => e.seq), [3], 'seqs after since=2 (since is exclusive)');
      const all = await list();
      equal(all.events.map((e: Wire) => e.seq), [1, 2, 3], 'seqs with the default since=0');
      equal(all.next_seq, 3, 'next_seq = last seq returned');
      equal(after2.next_seq, 3, 'next_seq after since=2');
      equal(after1.events, all.events.slice(1), 'the same events as in the full list');
      for (const since of [3, 9]) {
        const none = await list(since);
        equal({ events: none.events, next_seq: none.next_seq }, { events: [], next_seq: since }, `since at or above the latest seq (${since})`);
      }
      // Multi-digit cursors: seq 10 and beyond compare as numbers, not as text.
      await ackOk(ctx, i.intent_id, worker.key, {});
      for (let n = 0; n < 8; n++) ok(await resume(ctx, i.intent_id, worker.key, { action: 'progress', progress: { step: n } }), `progress write #${n + 1}`);
      const after9 = await list(9);
      equal(after9.events.map((e: Wire) => e.seq), [10, 11, 12], 'seqs after since=9');
      const after10 = await list(10);
      equal({ seqs: after10.events.map((e: Wire) => e.seq), next_seq: after10.next_seq }, { seqs: [11, 12], next_seq: 12 }, 'seqs and next_seq after since=10');
    },
  },
  {
    id: 'EVT-002',
    title: 'seq stays contiguous under concurrent writers',
    level: 'MUST',
    requirements: ['EVT-002'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { longLease: true });
      const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => resume(ctx, i.intent_id, worker.key, { action: 'progress', progress: { step: n } })));
      answers.forEach((r, n) => ok(r, `concurrent progress #${n + 1}`));
      const list = await events(ctx, i.intent_id, sender.key);
      checkContiguous(list);
      equal(list.length, 14, 'events after 12 concurrent progress writes');
      equal(new Set(answers.map((r) => r.body.event.seq)).size, 12, 'distinct seqs in the 12 answers');
    },
  },
  {
    id: 'EVT-003',
    title: 'events are immutable: earlier events read the same after later writes',
    level: 'MUST',
    requirements: ['EVT-003'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await polledIntent(ctx, { longLease: true });
      const before = await events(ctx, i.intent_id, sender.key);
      await writeOk(ctx, i.intent_id, 'resume', worker.key, { action: 'wait', waiting_reason: 'WAITING_FOR_AGENT' }, 'intent.waiting', 'WAITING');
      await writeOk(ctx, i.intent_id, 'resolve', worker.key, { status: 'COMPLETED', result: { x: 1 } }, 'intent.completed', 'COMPLETED');
      const after = await events(ctx, i.intent_id, sender.key);
      equal(after.slice(0, before.length), before, 'the earlier events after two more writes');
    },
  },
  {
    id: 'EVT-004',
    title: 'actor names the agent, admin or system that caused each event',
    level: 'MUST',
    requirements: ['EVT-009'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await polledIntent(ctx, { longLease: true });
      await ackOk(ctx, i.intent_id, worker.key, {});
      await writeOk(ctx, i.intent_id, 'cancel', ctx.adminKey, { reason: 'admin stop' }, 'intent.canceled', 'CANCELED');
      const list = await events(ctx, i.intent_id, sender.key);
      // The actor of each event (EVT-009); whether every event is in the history is the cases of
      // the writes that append them, so a missing one blocks this check instead of failing it.
      const expected: Array<[string, string, string]> = [
        ['intent.created', sender.address, 'INT-001'],
        ['intent.submitted', sender.address, 'LC-004'],
        ['intent.delivered', 'system', 'DLV-006'],
        ['intent.acknowledged', worker.address, 'DLV-010'],
        ['intent.canceled', 'admin', 'RES-020'],
      ];
      const seen = expected.map(([type, , owner]) => ctx.need(list.find((e) => e.event_type === type), `the ${type} event in the history, to read its actor`, [owner]));
      equal(seen.map((e) => [e.event_type, e.actor]), expected.map(([type, actor]) => [type, actor]), 'event types and actors');
    },
  },
  {
    id: 'EVT-005',
    title: 'intent.delivered carries delivery_id, attempt and binding',
    level: 'SHOULD',
    requirements: ['EVT-010'],
    ...pollCap,
    async run(ctx) {
      const { sender, i, d } = await polledIntent(ctx, { longLease: true });
      const delivered = (await events(ctx, i.intent_id, sender.key)).find((e) => e.event_type === 'intent.delivered');
      equal(delivered?.details, { ...delivered?.details, delivery_id: d.delivery_id, attempt: 1, binding: 'poll' }, 'intent.delivered details');
    },
  },
  {
    id: 'EVT-006',
    title: 'intent.in_progress carries the reported progress; acknowledged names the delivery',
    level: 'MUST',
    requirements: ['RES-003', 'EVT-001'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i, d } = await polledIntent(ctx, { longLease: true });
      const acked = await ackOk(ctx, i.intent_id, worker.key, { delivery_id: d.delivery_id });
      equal(acked.event.details?.delivery_id, d.delivery_id, 'intent.acknowledged details.delivery_id');
      const progressed = await writeOk(ctx, i.intent_id, 'resume', worker.key, { action: 'progress', progress: { percent: 40 } }, 'intent.in_progress', 'IN_PROGRESS');
      equal(progressed.event.details?.progress, { percent: 40 }, 'intent.in_progress details.progress');
      const list = await events(ctx, i.intent_id, sender.key);
      equal(list.at(-1), progressed.event, 'the stored intent.in_progress equals the answer\'s event');
      check(list.every((e) => e.intent_id === i.intent_id), 'every event names its intent', i.intent_id, list.map((e) => e.intent_id));
    },
  },
]);
