// Receiver scenarios (spec/17-clients.md, "Receiver"): the program takes deliveries for an agent
// and acks or completes each; the fault layer delivers late (so the lease expires and the server
// redelivers), writes a delivery frame twice, or cuts the stream after a delivery. The kit judges
// from the acks and results the server got (which delivery_id, answered how) and from the
// deliveries the application was handed.
import { NotApplicable } from '../../case.js';
import type { DriverProcess } from '../driver.js';
import type { Exchange } from '../proxy.js';
import type { ClientScenario, RegisteredAgent, ScenarioRun } from '../scenario.js';
import { cursorOf, fail, intentBody } from './support.js';

const LEASE_SECONDS = 30;

type Binding = 'stream' | 'poll';

async function setUp(s: ScenarioRun, binding: Binding, onDelivery: 'ack' | 'complete') {
  const receiver = await s.server.registerAgent('receiver', { binding, lease_seconds: LEASE_SECONDS, initial_delay_ms: 500, max_delivery_attempts: 5 });
  const sender = await s.server.registerAgent('sender', { binding: 'poll' });
  const send = () => s.server.sendIntent(sender.key, intentBody(s, receiver.address));
  const start = () => s.start({ action: 'receive', agent: { address: receiver.address, binding }, on_delivery: onDelivery }, receiver.key);
  return { receiver, sender, send, start };
}

const writes = (intentId: string, actions: string[] = ['ack', 'resume', 'resolve']) => (e: Exchange) =>
  e.method === 'POST' && actions.some((a) => e.path === `/v1/intents/${intentId}/${a}`);

const streamOf = (agent: RegisteredAgent) => (e: Exchange) => e.method === 'GET' && e.path === `/v1/agents/${agent.address.slice('agent://'.length)}/intents/stream`;

/** The delivery_id of the intent's `attempt`-th delivery, from its intent.delivered event. */
async function issued(s: ScenarioRun, intentId: string, attempt = 1): Promise<string | undefined> {
  const events = await s.server.events(intentId);
  return events.find((e: any) => e.event_type === 'intent.delivered' && e.details?.attempt === attempt)?.details?.delivery_id;
}

/** Waits for a write on the intent that the server answered 200 (bounded, scaled). */
async function answeredWrite(s: ScenarioRun, driver: DriverProcess, intentId: string, match: (e: Exchange) => boolean = () => true, timeoutMs = 15_000): Promise<Exchange | undefined> {
  return (await s.seen(() => (driver.exit ? null : s.requests(writes(intentId)).find((e) => e.status === 200 && match(e))), timeoutMs)) ?? undefined;
}

function receiverBinding(s: ScenarioRun, needsStream: boolean): Binding {
  if (s.receiverBindings.includes('stream')) return 'stream';
  if (needsStream) throw new NotApplicable('the scenario cuts or rewrites an SSE delivery stream; the program declares only the poll binding (receiver_bindings)');
  return 'poll';
}

function handedOver(driver: DriverProcess, deliveryId: string): number {
  return driver.of('delivery').filter((d) => d.delivery_id === deliveryId).length;
}

export const receiverScenarios: ClientScenario[] = [
  {
    id: 'RECV-001', name: 'receive-ack', group: 'receiver', role: 'receiver', level: 'MUST',
    title: 'A delivery is handed to the application and acked with its delivery_id',
    requirements: ['CLI-020'],
    async run(s) {
      const { send, start } = await setUp(s, receiverBinding(s, false), 'ack');
      const intentId = await send();
      const driver = start();
      const ack = await answeredWrite(s, driver, intentId);
      const deliveryId = await issued(s, intentId);
      if (!deliveryId) fail('the program never took the delivery (no intent.delivered on the server)');
      if (!ack) {
        const tried = s.requests(writes(intentId)).at(-1);
        fail('the program never acknowledged the delivery successfully (CLI-020)', `POST /v1/intents/${intentId}/ack {"delivery_id":"${deliveryId}"} answered 200`, tried ? `${tried.path} ${tried.body} → ${tried.status}` : '(no ack)');
      }
      if (ack.json?.delivery_id !== deliveryId) fail('the ack does not name the delivery it acknowledges (CLI-020)', { delivery_id: deliveryId }, ack.json ?? '(empty body)');
      if (handedOver(driver, deliveryId) !== 1) fail('the application was not handed the delivery exactly once', 1, driver.of('delivery'));
    },
  },
  {
    id: 'RECV-002', name: 'receive-redelivery', group: 'receiver', role: 'receiver', level: 'MUST',
    title: 'The first delivery arrives after its lease expired, with the redelivery right behind: the stale ack fails, the redelivery is acked with its own delivery_id',
    requirements: ['CLI-021', 'CLI-020'],
    async run(s) {
      const { receiver, send, start } = await setUp(s, receiverBinding(s, true), 'ack');
      const intentId = await send();
      let held: string | undefined;
      let firstSeen: string | undefined;
      let second: string | undefined;
      s.script((e) => (streamOf(receiver)(e) ? {
        kind: 'forward',
        sse: (b) => {
          if (b.json?.intent_id !== intentId) return [{ write: b.raw }];
          if (b.json.attempt === 1 && held === undefined) {
            held = b.raw;
            firstSeen = b.json.delivery_id;
            // The lease runs out while the frame is "on the wire": the server redelivers (DLV-025).
            void s.server.advanceClock((LEASE_SECONDS + 5) * 1000).catch(() => undefined);
            return [];
          }
          if (b.json.attempt === 2 && held !== undefined && second === undefined) {
            second = b.json.delivery_id;
            return [{ write: held }, { write: b.raw }];
          }
          return [{ write: b.raw }];
        },
        fault: 'first delivery held until its lease expired, then written with the redelivery',
      } : undefined));
      const driver = start();
      // Decided early when the ack of the redelivery can no longer come: the intent was acked by
      // another write, or the first delivery_id was used twice (its ack was already refused once).
      const outcome = await s.seen(() => {
        if (driver.exit) return 'exited' as const;
        const all = s.requests(writes(intentId));
        const good = all.find((e) => e.status === 200 && second !== undefined && e.json?.delivery_id === second);
        if (good) return good;
        if (all.some((e) => e.status === 200)) return 'acked-otherwise' as const;
        if (firstSeen !== undefined && all.filter((e) => e.json?.delivery_id === firstSeen && e.status !== undefined).length >= 2) return 'stale-twice' as const;
        return undefined;
      }, 15_000);
      const acked = typeof outcome === 'object' ? outcome : undefined;
      const first = await issued(s, intentId, 1);
      if (second === undefined) fail('the scenario server did not redeliver (no second attempt reached the fault layer)');
      if (!acked) {
        const stale = s.requests(writes(intentId)).filter((e) => e.json?.delivery_id === first);
        fail('the redelivery was never acknowledged with its own delivery_id (CLI-021, CLI-020)', { delivery_id: second }, stale.length > 0 ? `acks with the first delivery_id ${first}: ${stale.map((e) => e.status).join(', ')}` : s.requests(writes(intentId)).map((e) => ({ body: e.json, status: e.status })));
      }
      if (handedOver(driver, second) !== 1) fail('the application was not handed the redelivery (CLI-021)', { delivery_id: second, attempt: 2 }, driver.of('delivery'));
    },
  },
  {
    id: 'RECV-003', name: 'receive-duplicate-frame', group: 'receiver', role: 'receiver', level: 'MUST',
    title: 'The same delivery frame arrives twice: handed to the application once, and the receiver goes on',
    requirements: ['CLI-022'],
    async run(s) {
      const { receiver, send, start } = await setUp(s, receiverBinding(s, true), 'ack');
      const firstId = await send();
      let doubled = false;
      s.script((e) => (streamOf(receiver)(e) ? {
        kind: 'forward',
        sse: (b) => (b.json?.intent_id === firstId && !doubled ? ((doubled = true), [{ write: b.raw }, { write: b.raw }]) : [{ write: b.raw }]),
        fault: 'the first delivery frame written twice',
      } : undefined));
      const driver = start();
      if (!(await answeredWrite(s, driver, firstId))) fail('the program never acknowledged the first delivery (CLI-020)');
      // A second intent after the duplicate: once it is handled, the duplicate was read too.
      const nextId = await send();
      if (!(await answeredWrite(s, driver, nextId))) fail('the program stopped taking deliveries after the duplicate frame (CLI-022)', `an ack of ${nextId}`, s.requests(writes(nextId)).map((e) => e.status));
      const deliveryId = (await issued(s, firstId))!;
      const count = handedOver(driver, deliveryId);
      if (count !== 1) fail(`the application was handed the same delivery ${count} times (CLI-022)`, 1, count);
    },
  },
  {
    id: 'RECV-004', name: 'receive-reconnect-cursor', group: 'receiver', role: 'receiver', level: 'MUST',
    title: 'The delivery stream is cut after a delivery: the receiver reconnects from that delivery\'s seq',
    requirements: ['CLI-023'],
    async run(s) {
      const { receiver, send, start } = await setUp(s, receiverBinding(s, true), 'ack');
      const firstId = await send();
      let seq: number | undefined;
      let first = true;
      s.script((e) => {
        if (!streamOf(receiver)(e) || !first) return undefined;
        first = false;
        return { kind: 'forward', sse: (b) => (b.json?.intent_id === firstId ? ((seq = b.json.seq), [{ write: b.raw }, { cut: true }]) : [{ write: b.raw }]), fault: 'stream cut after the first delivery' };
      });
      const driver = start();
      const again = await s.seen(() => (driver.exit ? null : s.requests(streamOf(receiver))[1]), 15_000);
      if (seq === undefined) fail('the program never opened the delivery stream (STR-001)', `GET /v1/agents/${receiver.address.slice(8)}/intents/stream`, s.requests().map((e) => `${e.method} ${e.path}`));
      if (!again) fail('the receiver did not reconnect after its stream was cut (CLI-023)');
      if (cursorOf(again) !== seq) fail(`the receiver reconnected from ${cursorOf(again)}, not from the seq of the delivery it received (CLI-023)`, `Last-Event-ID or since = ${seq}`, { 'last-event-id': again.headers['last-event-id'] ?? '(none)', since: again.query.get('since') ?? '(none)' });
      const nextId = await send();
      if (!(await answeredWrite(s, driver, nextId))) fail('the receiver took no delivery after reconnecting (CLI-023)', `an ack of ${nextId}`, s.requests(writes(nextId)).map((e) => e.status));
    },
  },
  {
    id: 'RECV-005', name: 'receive-complete', group: 'receiver', role: 'receiver', level: 'MUST',
    title: 'The application completes a delivery: the result names the delivery it got and completes the intent',
    requirements: ['CLI-024'],
    async run(s) {
      const { send, start } = await setUp(s, receiverBinding(s, false), 'complete');
      const intentId = await send();
      const driver = start();
      const outcome = await s.seen(() => {
        if (driver.exit) return null;
        const all = s.requests(writes(intentId, ['resume', 'resolve']));
        return all.find((e) => e.status === 200) ?? (all.some((e) => e.status === 409) ? null : undefined);
      }, 15_000);
      const done = outcome ?? undefined;
      const deliveryId = await issued(s, intentId);
      const refused = s.requests(writes(intentId, ['resume', 'resolve'])).find((e) => e.status === 409 && e.responseBody?.includes('stale_delivery'));
      if (!done && refused) fail('the completion named a delivery_id the server never gave for this intent: 409 stale_delivery (CLI-024)', deliveryId, refused.json?.delivery_id);
      if (!done) fail('the program never completed the delivery (a resume with action complete, or resolve COMPLETED, answered 200)', 'a 200 completion', s.requests(writes(intentId)).map((e) => ({ path: e.path, body: e.json, status: e.status })));
      const named = done.json?.delivery_id;
      if (named !== undefined && named !== deliveryId) fail('the completion names a delivery_id the receiver was not given (CLI-024)', deliveryId, named);
      const intent = await s.server.intent(intentId);
      if (intent.status !== 'COMPLETED') fail('the completion did not complete the intent', 'COMPLETED', intent.status);
    },
  },
];
