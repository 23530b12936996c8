// Observer and wait_for scenarios (spec/17-clients.md, "Observer", "Waiting"): the program follows
// one intent's events while the fault layer cuts its SSE responses (after K events, in the middle
// of a frame), ends each response after one event with the final frame, or keeps a response open
// past the terminal event; the kit moves the intent along itself and judges from the cursors the
// program reconnected with and the events it handed to the application.
import type { Exchange, SseBlock, SseStep } from '../proxy.js';
import type { ClientScenario, RegisteredAgent, ScenarioRun } from '../scenario.js';
import { TERMINAL, cursorOf, fail, finished, intentBody, parties, seconds } from './support.js';

const EVENT_TYPES = ['intent.created', 'intent.submitted', 'intent.delivered', 'intent.acknowledged', 'intent.in_progress', 'intent.completed'];

/** The four writes that take a fresh intent (2 events) to COMPLETED (6 events), one event each. */
function lifecycle(s: ScenarioRun, receiver: RegisteredAgent, intentId: string): Array<() => Promise<void>> {
  const write = async (action: 'ack' | 'resume', body: unknown) => {
    const res = await s.server.write(receiver.key, intentId, action, body);
    if (res.status !== 200) throw new Error(`scenario set-up: ${action} answered ${res.status} ${JSON.stringify(res.body)}`);
  };
  return [
    async () => {
      const deliveries = await s.server.poll(receiver);
      if (!deliveries.some((d) => d.intent_id === intentId)) throw new Error('scenario set-up: the poll did not deliver the intent');
    },
    () => write('ack', {}),
    () => write('resume', { action: 'progress', progress: { percent: 50 } }),
    () => write('resume', { action: 'complete', result: { shipped: true } }),
  ];
}

async function freshIntent(s: ScenarioRun) {
  const { sender, receiver } = await parties(s);
  const intentId = await s.server.sendIntent(sender.key, intentBody(s, receiver.address));
  return { sender, receiver, intentId, steps: lifecycle(s, receiver, intentId) };
}

const observes = (intentId: string) => (e: Exchange) => e.method === 'GET' && e.path === `/v1/intents/${intentId}/events/stream`;

/** CLI-011: every event once, in order, none missing. */
function checkEvents(s: ScenarioRun, events: Array<{ seq: number; event_type: string }>, count: number): void {
  const seqs = events.map((e) => e.seq);
  const expected = Array.from({ length: count }, (_, i) => i + 1);
  const dup = seqs.find((q, i) => seqs.indexOf(q) !== i);
  if (dup !== undefined) fail(`event ${dup} was handed to the application twice (CLI-011)`, expected, seqs);
  if (seqs.some((q, i) => i > 0 && q < seqs[i - 1])) fail('the events were handed to the application out of order (CLI-011)', expected, seqs);
  const missing = expected.filter((q) => !seqs.includes(q));
  if (missing.length > 0) fail(`event(s) ${missing.join(', ')} never reached the application (CLI-011)`, expected, seqs);
  const types = events.map((e) => e.event_type);
  if (types.join() !== EVENT_TYPES.slice(0, count).join()) s.note(`event types seen: ${types.join(', ')}`);
}

/** CLI-010: the request after a cut resumes from the last complete event. */
function checkReconnect(streams: Exchange[], after: number, wanted: number): void {
  if (streams.length === 0) fail('the program never opened GET /v1/intents/{id}/events/stream (SSE observe, SSE-001)');
  if (streams.length <= after) fail('the program did not reconnect after its SSE response was cut before the terminal event (CLI-010)', 'a new request with the cursor', `${streams.length} request(s)`);
  const cursor = cursorOf(streams[after]);
  if (cursor !== wanted) fail(`the program reconnected from ${cursor}, not from the last event it received completely (CLI-010)`, `Last-Event-ID or since = ${wanted}`, { 'last-event-id': streams[after].headers['last-event-id'] ?? '(none)', since: streams[after].query.get('since') ?? '(none)' });
}

/** The first reconnect whose cursor is below the last event the response before it wrote. */
function wentBack(streams: Exchange[]): { had: number; cursor: number } | undefined {
  for (let i = 1; i < streams.length; i++) {
    const had = Math.max(0, ...streams[i - 1].written.filter((b) => b.id !== undefined).map((b) => Number(b.id)));
    if (cursorOf(streams[i]) < had) return { had, cursor: cursorOf(streams[i]) };
  }
  return undefined;
}

/** A script for the first observe request only; later ones pass through. */
function firstObserve(s: ScenarioRun, intentId: string, fault: string, sse: (block: SseBlock, events: number) => SseStep[]): void {
  let first = true;
  s.script((e) => {
    if (!observes(intentId)(e) || !first) return undefined;
    first = false;
    let events = 0;
    return { kind: 'forward', fault, sse: (b) => (b.id !== undefined ? sse(b, ++events) : [{ write: b.raw }]) };
  });
}

export const observerScenarios: ClientScenario[] = [
  {
    id: 'OBSV-001', name: 'observe-cut-after-events', group: 'observer', role: 'observer', level: 'MUST',
    title: 'The SSE response is cut after 2 events: reconnect from seq 2, every event once and in order',
    requirements: ['CLI-010', 'CLI-011'],
    async run(s) {
      const { sender, intentId, steps } = await freshIntent(s);
      for (const step of steps) await step();
      firstObserve(s, intentId, 'connection cut after 2 events', (b, n) => (n === 2 ? [{ write: b.raw }, { cut: true }] : [{ write: b.raw }]));
      const driver = s.start({ action: 'observe', intent_id: intentId }, sender.key);
      await finished(s, driver, 'observing');
      checkReconnect(s.requests(observes(intentId)), 1, 2);
      checkEvents(s, driver.of('event'), 6);
    },
  },
  {
    id: 'OBSV-002', name: 'observe-cut-mid-frame', group: 'observer', role: 'observer', level: 'MUST',
    title: 'The SSE response is cut in the middle of the third frame: the partial frame is no event, reconnect from seq 2',
    requirements: ['CLI-010', 'CLI-011'],
    async run(s) {
      const { sender, intentId, steps } = await freshIntent(s);
      for (const step of steps) await step();
      firstObserve(s, intentId, 'connection cut in the middle of the third event frame', (b, n) => (n === 3 ? [{ write: b.raw.slice(0, Math.floor(b.raw.length / 2)) }, { cut: true }] : [{ write: b.raw }]));
      const driver = s.start({ action: 'observe', intent_id: intentId }, sender.key);
      await finished(s, driver, 'observing');
      checkReconnect(s.requests(observes(intentId)), 1, 2);
      checkEvents(s, driver.of('event'), 6);
    },
  },
  {
    id: 'OBSV-003', name: 'observe-bounded-responses', group: 'observer', role: 'observer', level: 'MUST',
    title: 'Every response ends after one event with a keepalive and the final stream.timeout frame: the observer follows the live intent to its end',
    requirements: ['CLI-013', 'CLI-010', 'CLI-011'],
    timeoutMs: 40_000,
    async run(s) {
      const { sender, intentId, steps } = await freshIntent(s);
      s.script((e) => (observes(intentId)(e) ? {
        kind: 'forward',
        fault: 'response ended after one event with the final frame',
        sse: (b) => (b.id !== undefined ? [{ write: ': keepalive\n\n' }, { write: b.raw }, { write: `event: stream.timeout\ndata: {"ok":true,"next_seq":${b.id},"reason":"wait_elapsed"}\n\n` }, { end: true }] : [{ write: b.raw }]),
      } : undefined));
      const driver = s.start({ action: 'observe', intent_id: intentId }, sender.key);
      let last = 2;
      for (const step of steps) {
        const waiting = await s.seen(() => (driver.exit ? null : wentBack(s.requests(observes(intentId))) ? null : s.requests(observes(intentId)).find((e) => cursorOf(e) >= last && !e.closed)), 10_000);
        const back = wentBack(s.requests(observes(intentId)));
        if (back) fail(`after a response that ended with event ${back.had} the program reconnected from ${back.cursor} (CLI-013, CLI-010)`, `Last-Event-ID or since = ${back.had}`, back.cursor);
        if (!waiting) {
          const streams = s.requests(observes(intentId));
          if (streams.length === 0) fail('the program never opened GET /v1/intents/{id}/events/stream (SSE observe, SSE-001)');
          fail(`after a response ended with its final frame the program did not reconnect with cursor ${last} (CLI-013, CLI-010)`, `a request with Last-Event-ID or since = ${last}`, streams.map((e) => cursorOf(e)));
        }
        await step();
        last++;
      }
      await finished(s, driver, 'observing after the terminal event');
      const events = driver.of('event');
      checkEvents(s, events, 6);
    },
  },
  {
    id: 'OBSV-004', name: 'observe-stop-at-terminal', group: 'observer', role: 'observer', level: 'MUST',
    title: 'The response stays open after the terminal event: the observer stops by itself and does not reconnect',
    requirements: ['CLI-012'],
    async run(s) {
      const { sender, intentId, steps } = await freshIntent(s);
      for (const step of steps) await step();
      s.script((e) => (observes(intentId)(e) ? {
        kind: 'forward', keepOpen: true, fault: 'final frame dropped, response kept open with keepalives',
        sse: (b) => (b.event === 'stream.timeout' ? [] : [{ write: b.raw }]),
      } : undefined));
      const driver = s.start({ action: 'observe', intent_id: intentId }, sender.key);
      const terminalAt = await driver.until(() => driver.of('event').find((e) => TERMINAL.has(e.status)), Math.round(10_000 * s.timeoutScale));
      if (!terminalAt) fail('the terminal event never reached the application', 'an event line with status COMPLETED', driver.of('event'));
      const stopped = await driver.until(() => (driver.of('done').length > 0 ? true : undefined), Math.round(5_000 * s.timeoutScale));
      if (!stopped && !driver.exit) fail(`the program went on observing for ${seconds(5_000 * s.timeoutScale)} after the terminal event (CLI-012)`, 'observe ends at the terminal event', 'still running');
      const streams = s.requests(observes(intentId));
      if (streams.length > 1) fail('the program opened another observe request after the terminal event (CLI-012)', 1, streams.length);
    },
  },
  {
    id: 'WAIT-001', name: 'wait-across-cuts', group: 'wait_for', role: 'wait_for', level: 'MUST',
    title: 'The first two connections of a wait are reset: the wait goes on and returns COMPLETED',
    requirements: ['CLI-014'],
    timeoutMs: 40_000,
    async run(s) {
      const { sender, intentId, steps } = await freshIntent(s);
      const onIntent = (e: Exchange) => e.method === 'GET' && e.path.startsWith(`/v1/intents/${intentId}`);
      let resets = 0;
      s.script((e) => (onIntent(e) && resets < 2 ? (resets++, { kind: 'reset-before', fault: `connection reset ${resets} of 2` }) : undefined));
      const driver = s.start({ action: 'wait', intent_id: intentId }, sender.key);
      const third = await s.seen(() => (driver.exit ? null : s.requests(onIntent)[2]), 20_000);
      if (!third) fail(`the wait did not go on after its connection was reset (CLI-014): ${s.requests(onIntent).length} request(s) on the intent`, 'a third request after two resets', s.requests(onIntent).length);
      for (const step of steps) await step();
      await finished(s, driver, 'waiting after the intent completed');
      const terminal = driver.of('terminal');
      if (terminal.length === 0) fail('the wait did not report the terminal status (CLI-014)', { type: 'terminal', intent_id: intentId, status: 'COMPLETED' }, driver.of('error').at(-1) ?? '(no terminal line)');
      if (terminal[0].status !== 'COMPLETED' || terminal[0].intent_id !== intentId) fail('the wait reported another status or intent (CLI-014)', { intent_id: intentId, status: 'COMPLETED' }, terminal[0]);
    },
  },
];
