// Fault modes: realistic implementation bugs the reference server can be told to have, so the
// conformance kit can be shown to catch each one. None of them lives in the server: each is a part
// plugged in through a seam a real deployment would also use (seams.ts: a store or scheduler
// wrapper, a wake-up bus, an authenticator, an undici interceptor on pushes, a Fastify hook that
// rewrites a request or an answer, a policy). Off by default, and impossible to switch on by
// accident: a non-empty fault list is refused unless the environment has AXP_ALLOW_FAULTS=1.

/** Requirement area prefix (spec/requirements.json) the fault breaks. */
export type FaultArea = 'AGT' | 'IDEM' | 'LC' | 'EVT' | 'SSE' | 'DLV' | 'STR' | 'POLL' | 'HTTP' | 'INBOX' | 'INTL' | 'RES' | 'ERR' | 'SEC' | 'CLK';

export interface FaultSpec {
  name: string;
  area: FaultArea;
  description: string;
}

export const FAULTS = [
  // SSE
  { name: 'sse-duplicate-on-resume', area: 'SSE', description: 'an observe resumed with Last-Event-ID re-sends the event the client already had (a gateway rewrites the header one lower)' },
  { name: 'sse-never-closes', area: 'SSE', description: 'SSE responses never end on their own: not after the terminal event, not after wait_seconds' },
  { name: 'last-event-id-ignored', area: 'SSE', description: 'observe ignores the Last-Event-ID header and resumes from ?since (or 0): a gateway drops the header' },
  { name: 'sse-no-final-frame', area: 'SSE', description: 'SSE responses end without the final stream.timeout frame' },
  { name: 'observe-not-live', area: 'SSE', description: 'observe writes the backlog but never the events that happen while it is open (the wake-up bus drops intent wake-ups)' },
  // EVT
  { name: 'seq-gap-after-retry', area: 'EVT', description: 'the event after a failed delivery attempt skips a seq (gap in the event log): the store reads last_seq one too high' },
  { name: 'since-inclusive', area: 'EVT', description: 'GET events?since=N also returns event N (since treated as inclusive)' },
  // IDEM
  { name: 'idem-replay-creates', area: 'IDEM', description: 'a create replayed with the same Idempotency-Key and body creates a second intent (keys are kept for 0 s)' },
  { name: 'idem-conflict-undetected', area: 'IDEM', description: 'a reused Idempotency-Key with a different body replays the first answer instead of 409 (the fingerprint ignores the body)' },
  { name: 'idem-concurrent-race', area: 'IDEM', description: 'the key is looked up on a replica that lags the writes, so concurrent duplicates race into two intents' },
  { name: 'idem-key-not-scoped', area: 'IDEM', description: 'Idempotency-Keys are global, not per sender: another sender gets the first sender\'s answer' },
  // LC
  { name: 'terminal-accepts-resolve', area: 'LC', description: 'a second resolve, resume or cancel of a terminal intent is answered 200 as if it were a replay, not 409' },
  { name: 'timed-out-never-fires', area: 'LC', description: 'deadline timers fire but their handler does nothing: TIMED_OUT never happens' },
  { name: 'deadline-keeps-delivering', area: 'LC', description: 'a timed-out intent keeps its receiver in pending_with, as if its delivery carried on (the store keeps the column)' },
  // DLV
  { name: 'retry-without-backoff', area: 'DLV', description: 'a failed attempt is retried at once, with no backoff delay' },
  { name: 'exhaustion-stays-delivered', area: 'DLV', description: 'when attempts run out the intent stays DELIVERED (the store drops the FAILED write and intent.delivery_failed)' },
  { name: 'no-dead-letter', area: 'DLV', description: 'an intent that exhausts its attempts gets no dead-letter entry (the store drops the write)' },
  { name: 'lease-never-expires', area: 'DLV', description: 'an un-acked lease never expires: the lease timer does nothing, no failed attempt, no redelivery' },
  { name: 'redelivery-reuses-attempt', area: 'DLV', description: 'a redelivery handed to a poll or stream carries the attempt number of the delivery it replaces (the count itself is right)' },
  { name: 'foreign-ack-accepted', area: 'DLV', description: 'the access policy lets any participant ack: the sender can acknowledge a delivery' },
  { name: 'stale-delivery-acked', area: 'DLV', description: 'an ack naming a delivery that is no longer current is accepted instead of 409 stale_delivery (the delivery_id is dropped from the body)' },
  // STR, POLL
  { name: 'stream-no-resend', area: 'STR', description: 'a stream reconnect below the cursor does not re-send the open, un-acked delivery (the store finds no leased deliveries)' },
  { name: 'poll-limit-ignored', area: 'POLL', description: 'a poll hands out every pending delivery, ignoring limit' },
  // HTTP
  { name: 'no-retry-after-5xx', area: 'HTTP', description: 'a 5xx answer from the receiver fails the intent at once instead of being retried (read as 410 Gone)' },
  { name: 'retry-after-ignored', area: 'HTTP', description: 'a Retry-After header on a failed push is ignored (plain backoff instead): an interceptor drops it' },
  { name: 'gone-retried', area: 'HTTP', description: '410 Gone is retried like any other failure instead of stopping at once (read as 500)' },
  { name: 'signature-wrong-bytes', area: 'HTTP', description: 'the body sent is re-serialized (pretty-printed) after signing: the signature is not over the bytes sent' },
  { name: 'stale-webhook-timestamp', area: 'HTTP', description: 'a retry re-sends the first attempt\'s webhook-timestamp and signature, not its own send time' },
  // INBOX, INTL
  { name: 'outcome-not-checked', area: 'INBOX', description: 'an inbox decision with an outcome outside human_task.allowed_outcomes is accepted (the store does not keep allowed_outcomes)' },
  { name: 'reminders-beyond-max', area: 'INTL', description: 'one reminder more than max_reminders is scheduled (off by one)' },
  { name: 'delay-read-as-ms', area: 'INTL', description: 'payload.seconds of intent.internal.delay.v1 is taken as milliseconds: the delay ends almost at once' },
  // AGT, RES
  { name: 'policy-update-merges', area: 'AGT', description: 'an agent update merges the new policy into the old one instead of replacing it (PUT mapped as a merge)' },
  { name: 'receiver-can-cancel', area: 'RES', description: 'the access policy lets the receiving agent cancel an intent (only the sender or admin may)' },
  // SEC
  { name: 'foreign-read', area: 'SEC', description: 'the access policy lets any agent read any intent' },
  { name: 'rotated-key-still-valid', area: 'SEC', description: 'after rotate_key the previous agent key keeps working (the key cache is never told)' },
  // ERR
  { name: 'malformed-json-500', area: 'ERR', description: 'a body that is not JSON is answered 500 instead of 400 malformed_json (an error mapper)' },
  { name: 'schema-not-enforced', area: 'ERR', description: 'request bodies are not validated (a validator compiler that accepts every body): a schema-invalid body is answered 200' },
  { name: 'payload-limit-off-by-one', area: 'ERR', description: 'a payload of exactly max_payload_bytes is refused 413 (a front check with >= instead of >)' },
  // CLK
  { name: 'events-use-wall-clock', area: 'CLK', description: 'event and intent timestamps are stamped by the store with the wall clock, not the server\'s (test) clock' },
] as const satisfies readonly FaultSpec[];

export type FaultName = (typeof FAULTS)[number]['name'];

export const ALLOW_FAULTS_ENV = 'AXP_ALLOW_FAULTS';

const NAMES: ReadonlySet<string> = new Set(FAULTS.map((f) => f.name));

export function isFaultName(name: string): name is FaultName {
  return NAMES.has(name);
}

export function faultSpec(name: FaultName): FaultSpec {
  return FAULTS.find((f) => f.name === name) as FaultSpec;
}

/** The faults a server runs with; the names are checked at compile time. */
export class FaultSet {
  private readonly active: ReadonlySet<FaultName>;

  constructor(names: Iterable<FaultName> = []) {
    this.active = new Set(names);
  }

  has(name: FaultName): boolean {
    return this.active.has(name);
  }

  get size(): number {
    return this.active.size;
  }

  names(): FaultName[] {
    return [...this.active];
  }
}

export const NO_FAULTS = new FaultSet();

export class FaultsNotAllowedError extends Error {
  override readonly name = 'FaultsNotAllowedError';
}

/** Splits `a,b` items (repeatable flags) into names. */
export function splitFaultList(items: readonly string[]): string[] {
  return items.flatMap((item) => item.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * The FaultSet for a requested list: empty for none; otherwise only with AXP_ALLOW_FAULTS=1 in the
 * environment and only known names (else FaultsNotAllowedError with a message for a person).
 */
export function resolveFaults(requested: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): FaultSet {
  const names = splitFaultList(requested ?? []);
  if (names.length === 0) return NO_FAULTS;
  if (env[ALLOW_FAULTS_ENV] !== '1') {
    throw new FaultsNotAllowedError(`fault modes (${names.join(', ')}) make the server deliberately wrong; set ${ALLOW_FAULTS_ENV}=1 in the environment to allow them`);
  }
  const unknown = names.filter((n) => !isFaultName(n));
  if (unknown.length > 0) throw new FaultsNotAllowedError(`unknown fault ${unknown.join(', ')} (npx axp-server --list-faults lists them)`);
  return new FaultSet(names as FaultName[]);
}

/** `name  description`, one per line, names padded to one column. */
export function faultListing(): string {
  const width = Math.max(...FAULTS.map((f) => f.name.length));
  return FAULTS.map((f) => `${f.name.padEnd(width)}  ${f.description}`).join('\n');
}
