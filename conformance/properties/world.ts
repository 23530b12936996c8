// The state of one stateful run: the kit's agents, what it knows of each intent it sent, the
// deliveries and leases it saw, the server clock window; and the checks every command ends with
// (history, intent object, no 5xx, events immutable). Commands (commands.ts) drive it.
import { CaseFailure, type CaseContext, type HttpRequest, type HttpResponse, type RegisteredAgent } from '../case.js';
import { isTerminalStatus, type Status } from '../model/lifecycle.js';
import type { CreateBody } from './arbitraries.js';
import { canonicalize } from '../wire/idempotency.js';
import type { RunLog } from './harness.js';
import { historyProblems, intentProblems, ServerTime, TIMER_EVENTS, viewOf, type WireDelivery, type WireEvent, type WireIntent } from './model.js';

export interface KeyedWrite {
  route: string;
  key: string;
  body: Record<string, unknown>;
  answer: unknown;
}

export interface ModelIntent {
  id: string;
  body: CreateBody;
  /** The first create answer (a replay must repeat it, IDEM-001). */
  createAnswer: unknown;
  events: WireEvent[];
  intent: WireIntent;
  maxAttempts: number;
  keyedWrites: KeyedWrite[];
}

export interface Policy {
  leaseSeconds: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

export interface WorldOptions {
  sender: RegisteredAgent;
  worker: RegisteredAgent;
  /** The target advertises the test clock (and the kit has the admin key). */
  clock: boolean;
  policy: Policy;
}

const SUMMARY_CHARS = 240;

function shortBody(res: HttpResponse): string {
  const text = res.text.replace(/\s+/g, ' ');
  return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS)}…` : text;
}

export class World {
  readonly intents: ModelIntent[] = [];
  /** Create Idempotency-Keys used by the sender: key → the intent and the body first sent. */
  readonly createKeys = new Map<string, { intentId: string; body: CreateBody }>();
  readonly deliveries = new Map<string, WireDelivery>();
  readonly leases = new Map<string, number>();
  /** Highest agent delivery seq the kit has read; a cut stream may leave seqs unread. */
  cursor = 0;
  seqsSeen: number[] = [];
  streamWasCut = false;
  readonly time = new ServerTime();

  constructor(readonly ctx: CaseContext, readonly log: RunLog, readonly options: WorldOptions) {}

  get sender(): RegisteredAgent {
    return this.options.sender;
  }

  get worker(): RegisteredAgent {
    return this.options.worker;
  }

  fail(message: string, expected?: unknown, actual?: unknown): never {
    this.log.add(`FAILED: ${message}`);
    throw new CaseFailure(message, expected, actual);
  }

  /** Every request of the run: logged for the transcript, schema-checked by the kit's client, never a 5xx (ERR-007). */
  async call(req: HttpRequest): Promise<HttpResponse & { sentAt: number }> {
    const sentAt = performance.now();
    const res = await this.ctx.request(req);
    this.log.add(`${req.method} ${req.path}${req.query ? `?${new URLSearchParams(Object.entries(req.query).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString()}` : ''} → ${res.status} ${shortBody(res)}`);
    if (res.status >= 500) this.fail(`${req.method} ${req.path} answered ${res.status}: no request may yield a 5xx (ERR-007)`, '< 500', res.body ?? res.text);
    return { ...res, sentAt };
  }

  find(id: string): ModelIntent | undefined {
    return this.intents.find((m) => m.id === id);
  }

  pick(n: number): ModelIntent | undefined {
    return this.intents.length === 0 ? undefined : this.intents[n % this.intents.length];
  }

  status(mi: ModelIntent): Status {
    return viewOf(mi.events).status;
  }

  /**
   * Reads the intent and its events, checks the whole history and the intent object, and
   * returns the events appended since the last sync (EVT-003: what was seen never changes).
   */
  async sync(mi: ModelIntent): Promise<WireEvent[]> {
    const got = await this.call({ method: 'GET', path: `/v1/intents/${mi.id}/events`, key: this.sender.key });
    if (got.status !== 200) this.fail(`GET events of intent ${mi.id} answered ${got.status}`, 200, got.body);
    const events = got.body.events as WireEvent[];
    const res = await this.call({ method: 'GET', path: `/v1/intents/${mi.id}`, key: this.sender.key });
    if (res.status !== 200) this.fail(`GET intent ${mi.id} answered ${res.status}`, 200, res.body);
    const intent = res.body.intent as WireIntent;
    for (const e of events) this.time.observe(e.at, got.sentAt);
    mi.events.forEach((old, i) => {
      if (canonicalize(old) !== canonicalize(events[i])) {
        this.fail(`intent ${mi.id}: event seq ${old.seq} changed or vanished (EVT-003: events are immutable and never removed)`, old, events[i] ?? '(missing)');
      }
    });
    const deadline = typeof intent.deadline_at === 'string' ? Date.parse(intent.deadline_at) : undefined;
    const problems = historyProblems(mi.id, events, { maxAttempts: mi.maxAttempts, leases: this.leases, deadlineMs: deadline });
    // The intent was read after its events: with time running by itself a timer may have appended more in between.
    if (intent.last_seq === undefined || intent.last_seq === events.length || this.options.clock) problems.push(...intentProblems(intent, events));
    if (problems.length > 0) this.fail(`intent ${mi.id}: ${problems[0]}`, 'a history the spec allows', { problems, events: events.map((e) => `${e.seq} ${e.event_type} ${e.status}`), intent });
    const fresh = events.slice(mi.events.length);
    mi.events = events;
    mi.intent = intent;
    return fresh;
  }

  async syncAll(): Promise<Map<ModelIntent, WireEvent[]>> {
    const out = new Map<ModelIntent, WireEvent[]>();
    for (const mi of this.intents) out.set(mi, await this.sync(mi));
    return out;
  }

  /** After a refused request: the intent and its history are exactly as before (ERR-008, LC-007). */
  async expectUnchanged(mi: ModelIntent, what: string): Promise<void> {
    const before = canonicalize(mi.intent);
    const fresh = await this.sync(mi);
    const caused = this.options.clock ? fresh : fresh.filter((e) => !TIMER_EVENTS.has(e.event_type));
    if (caused.length > 0) this.fail(`${what} was refused but appended ${caused.map((e) => e.event_type).join(', ')} (ERR-008)`, 'no new event', caused);
    if (this.options.clock && canonicalize(mi.intent) !== before) this.fail(`${what} was refused but the intent changed (ERR-008)`, JSON.parse(before), mi.intent);
  }

  /** After a successful write: exactly one new event, of this type, and the answer names it (LC-006, RES-001). */
  async expectOneEvent(mi: ModelIntent, eventType: string, answer: { intent?: WireIntent; event?: WireEvent; completion_delivery?: unknown }, what: string, terminalWrite = false): Promise<void> {
    const fresh = await this.sync(mi);
    const own = fresh.filter((e) => this.options.clock || !TIMER_EVENTS.has(e.event_type));
    if (own.length !== 1 || own[0].event_type !== eventType) {
      this.fail(`${what} must append exactly one ${eventType} (LC-006)`, [eventType], fresh.map((e) => e.event_type));
    }
    if (JSON.stringify(answer.event) !== JSON.stringify(own[0])) this.fail(`${what}: the answer's event differs from the one in the events list (RES-001)`, own[0], answer.event);
    if (answer.intent?.status !== own[0].status) this.fail(`${what}: the answer's intent status ${String(answer.intent?.status)} differs from its event's ${own[0].status} (RES-001)`, own[0].status, answer.intent?.status);
    const hasReplyTo = typeof mi.body.reply_to === 'string';
    if ((answer.completion_delivery !== undefined) !== (terminalWrite && hasReplyTo)) {
      this.fail(`${what}: completion_delivery must appear exactly on terminal writes of intents with reply_to (RES-002)`, terminalWrite && hasReplyTo, answer.completion_delivery ?? null);
    }
  }

  /** The sender's intents on the server are exactly the ones the model accepted (IDEM-001, IDEM-008, ERR-008). */
  async expectSentIntents(what: string): Promise<void> {
    const res = await this.call({ method: 'GET', path: '/v1/intents', key: this.sender.key, query: { role: 'sender', limit: 500 } });
    if (res.status !== 200) this.fail(`listing the sender's intents answered ${res.status}`, 200, res.body);
    const got = (res.body.intents as Array<{ intent_id: string }>).map((i) => i.intent_id).sort();
    const want = this.intents.map((m) => m.id).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) this.fail(`${what}: the sender has ${got.length} intent(s) on the server, the model accepted ${want.length}`, want, got);
  }

  isTerminal(mi: ModelIntent): boolean {
    return isTerminalStatus(this.status(mi));
  }
}
