// The agent side of the stateful suite: receive on the stream or poll binding, and check what came
// against the model: what must, may and must not be delivered now (DLV-006, DLV-025, DLV-030,
// LC-015), new deliveries numbered and attempted as the spec says (DLV-002..DLV-005), re-sends
// unchanged (STR-004), and one intent.delivered per issued delivery (LC-012, STR-005).
import { deliverability, viewOf, type Deliverability, type WireDelivery } from './model.js';
import type { ModelIntent, World } from './world.js';

interface ReceiveOptions {
  /** Stream only: reconnect from cursor 0 instead of the kit's cursor (re-sends expected). */
  fromZero?: boolean;
  /** Stream only: cut the response after its first delivery, then reconnect with its id. */
  cut?: boolean;
  /** Poll with this long-poll wait (real time only). */
  waitSeconds?: number;
}

async function poll(w: World, waitSeconds: number): Promise<WireDelivery[]> {
  const res = await w.call({ method: 'GET', path: `/v1/agents/${w.worker.path}/intents`, key: w.worker.key, query: { wait_seconds: waitSeconds, limit: 100 } });
  if (res.status !== 200) w.fail(`poll answered ${res.status} (POLL-001)`, 200, res.body);
  const deliveries = res.body.deliveries as WireDelivery[];
  for (let i = 1; i < deliveries.length; i++) {
    if (deliveries[i].seq <= deliveries[i - 1].seq) w.fail('a poll answer must list deliveries in ascending seq (POLL-003)', 'ascending', deliveries.map((d) => d.seq));
  }
  return deliveries;
}

async function stream(w: World, since: number, cut: boolean): Promise<{ deliveries: WireDelivery[]; cut: boolean }> {
  const path = `/v1/agents/${w.worker.path}/intents/stream`;
  const res = await w.ctx.sse(path, {
    key: w.worker.key,
    query: { since, wait_seconds: 0 },
    until: cut ? (frame) => frame.event === 'intent.delivered' : undefined,
  });
  if (res.status !== 200) w.fail(`the agent stream answered ${res.status} (STR-001)`, 200, res.body);
  const deliveries: WireDelivery[] = [];
  for (const f of res.frames) {
    if (f.event === 'stream.timeout') continue;
    const d = f.json as WireDelivery;
    if (f.event !== 'intent.delivered' || f.id !== String(d?.seq)) w.fail('a stream delivery frame must be event intent.delivered with id = the delivery seq (STR-001)', { event: 'intent.delivered', id: d?.seq }, { event: f.event, id: f.id });
    deliveries.push(d);
  }
  w.log.add(`stream since ${since} → seqs ${deliveries.map((d) => `${d.seq}(${d.intent_id.slice(0, 8)} a${d.attempt})`).join(', ') || 'none'}${res.ended ? '' : ' (cut by the kit)'}`);
  return { deliveries, cut: !res.ended };
}

export async function receive(w: World, via: 'poll' | 'stream', options: ReceiveOptions = {}): Promise<void> {
  const window = w.time.window();
  const { initialDelayMs } = w.options.policy;
  const minRetryDelayMs = 0.8 * initialDelayMs;
  const history = new Map(w.intents.map((mi) => [mi, mi.events.slice()]));
  // What must be delivered is judged on the clock when the request left: it was due already.
  const before = new Map<ModelIntent, Deliverability>(w.intents.map((mi) => [mi, deliverability(mi.events, mi.maxAttempts, w.leases, window, minRetryDelayMs)]));
  const eventsBefore = new Map(w.intents.map((mi) => [mi, mi.events.length]));
  const cursorBefore = w.cursor;

  let got: WireDelivery[];
  if (via === 'poll') got = await poll(w, options.waitSeconds ?? 0);
  else {
    const since = options.fromZero ? 0 : w.cursor;
    const first = await stream(w, since, options.cut ?? false);
    got = first.deliveries;
    if (first.cut) {
      w.streamWasCut = true;
      const second = await stream(w, got.at(-1)?.seq ?? since, false);
      got = [...got, ...second.deliveries];
    }
  }
  // What may be delivered is judged on the clock when the answer arrived: the server may issue a
  // delivery at any moment while the request is open, so a lease that expires during a long poll
  // (or a slow answer) makes the retry legitimate (DLV-025, POLL-002).
  const answered = w.time.window();
  const allowed = new Map<ModelIntent, Deliverability>([...history].map(([mi, events]) => [mi, deliverability(events, mi.maxAttempts, w.leases, { low: window.low, high: answered.high }, minRetryDelayMs)]));
  await w.syncAll();

  const issued: WireDelivery[] = [];
  const seen = new Set<string>();
  for (const d of got) {
    const mi = w.find(d.intent_id);
    if (!mi) return w.fail(`a delivery of intent ${d.intent_id}, which the kit never sent to this agent`, 'only the kit\'s intents', d);
    if (seen.has(d.delivery_id)) {
      if (via === 'poll') w.fail(`a poll answer listed delivery ${d.delivery_id} twice (POLL-004)`);
      continue; // the reconnect after a cut re-sent it (STR-004)
    }
    seen.add(d.delivery_id);
    const index = mi.events.findIndex((e) => e.event_type === 'intent.delivered' && e.details?.delivery_id === d.delivery_id);
    const known = w.deliveries.get(d.delivery_id);
    if (known) {
      // A re-send: only on the stream, unchanged, and only while its lease runs (STR-004).
      if (via === 'poll') w.fail(`poll returned delivery ${d.delivery_id} again while it was already issued (POLL-004)`, 'a new delivery', d);
      for (const f of ['seq', 'attempt', 'lease_expires_at'] as const) {
        if (d[f] !== known[f]) w.fail(`a re-sent delivery must be unchanged: ${f} ${String(d[f])}, first sent with ${String(known[f])} (STR-004)`, known[f], d[f]);
      }
      // Open when the request left is enough: its lease may run out while the stream is read,
      // and the failure recorded since then does not make the re-send wrong.
      const view = viewOf(history.get(mi) ?? mi.events);
      const current = view.attempts.at(-1);
      if (current?.deliveryId !== d.delivery_id || current.closed) w.fail(`delivery ${d.delivery_id} was re-sent though it is no longer open (STR-004, LC-015)`, 'not re-sent', { status: view.status, current });
      continue;
    }
    if (index < 0) {
      if (mi.events.some((e) => e.event_type === 'intent.delivered' && typeof e.details?.delivery_id === 'string')) {
        w.fail(`delivery ${d.delivery_id} has no intent.delivered event (DLV-006, LC-012)`, 'an intent.delivered naming it', mi.events.map((e) => e.event_type));
      }
    } else if (index < (eventsBefore.get(mi) ?? 0)) {
      // Issued earlier on the part of a stream the kit cut and never read: a re-send (STR-004).
      if (via === 'poll') w.fail(`poll returned delivery ${d.delivery_id}, issued before this poll (POLL-004)`);
    } else issued.push(d);
    w.deliveries.set(d.delivery_id, d);
    w.leases.set(d.delivery_id, Date.parse(d.lease_expires_at));
  }

  // A reconnect from 0 re-sends every open delivery whose lease surely still runs (STR-004, STR-009).
  if (via === 'stream' && options.fromZero && !options.cut) {
    for (const mi of w.intents) {
      const current = viewOf(mi.events).attempts.at(-1);
      const lease = current?.deliveryId ? w.leases.get(current.deliveryId) : undefined;
      if (!current?.deliveryId || current.closed || lease === undefined || lease <= window.high || seen.has(current.deliveryId)) continue;
      w.fail(`a stream reconnect from 0 did not re-send the open delivery ${current.deliveryId} of intent ${mi.id} (STR-004)`, 're-sent', got.map((d) => d.delivery_id));
    }
  }

  // New deliveries: allowed now, one event each, attempts rising by one, seq rising by one (DLV-002..DLV-005).
  issued.sort((a, b) => a.seq - b.seq);
  let expectSeq = cursorBefore + 1;
  for (const d of issued) {
    const mi = w.find(d.intent_id)!;
    if (allowed.get(mi) === 'must-not') w.fail(`intent ${mi.id} was delivered (attempt ${d.attempt}) when it must not be: ${describe(mi)} (DLV-025, DLV-030, LC-015)`, 'no delivery', d);
    const attempts = viewOf(mi.events).attempts;
    const mine = attempts.find((a) => a.deliveryId === d.delivery_id);
    const previous = attempts[attempts.indexOf(mine!) - 1];
    if (mine && d.attempt !== (previous?.attempt ?? 0) + 1) w.fail(`delivery attempt ${d.attempt} follows attempt ${previous?.attempt ?? 0} (DLV-004)`, (previous?.attempt ?? 0) + 1, d.attempt);
    if (mine && mine.attempt !== d.attempt) w.fail(`the delivery says attempt ${d.attempt}, its intent.delivered says ${mine.attempt}`, mine.attempt, d.attempt);
    if (!w.streamWasCut && d.seq !== expectSeq) w.fail(`agent delivery seq ${d.seq}, expected ${expectSeq}: seq rises by exactly one per delivery issued (DLV-002)`, expectSeq, d.seq);
    if (d.seq <= cursorBefore) w.fail(`a new delivery has seq ${d.seq}, not above the ${cursorBefore} already issued (DLV-002)`, `> ${cursorBefore}`, d.seq);
    const event = mi.events.find((e) => e.details?.delivery_id === d.delivery_id);
    const leaseMs = Date.parse(d.lease_expires_at) - Date.parse(event?.at ?? d.lease_expires_at);
    if (event && Math.abs(leaseMs - w.options.policy.leaseSeconds * 1000) > 1000) w.fail(`lease_expires_at is ${leaseMs} ms after the issue, lease_seconds is ${w.options.policy.leaseSeconds} (DLV-005)`, w.options.policy.leaseSeconds * 1000, leaseMs);
    expectSeq = d.seq + 1;
  }
  for (const d of got) w.cursor = Math.max(w.cursor, d.seq);
  w.seqsSeen.push(...issued.map((d) => d.seq));

  // What had to be delivered was (DLV-006, DLV-030): a new issue, or on a cut stream one the kit had not read yet.
  for (const [mi, must] of before) {
    if (must !== 'must') continue;
    const deliveredNow = mi.events.slice(eventsBefore.get(mi)).some((e) => e.event_type === 'intent.delivered');
    if (!deliveredNow) w.fail(`intent ${mi.id} was due for delivery but the ${via} did not deliver it: ${describe(mi)} (DLV-030, DLV-025)`, 'a delivery', got.map((d) => d.intent_id));
  }
}

function describe(mi: ModelIntent): string {
  const view = viewOf(mi.events);
  return `status ${view.status}, events ${mi.events.map((e) => e.event_type.replace('intent.', '')).join(' → ')}`;
}
