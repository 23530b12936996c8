// The one storage interface: asynchronous so that a networked engine (PostgreSQL) can implement
// it; the SQLite and memory engines resolve at once.
//
// Units of work: `write(fn)` runs fn with a transaction; units never interleave, so a
// read-check-insert inside one unit is atomic (IDEM-008, EVT-002 seq contiguity). If fn throws,
// everything it wrote is undone and the error is rethrown. The promise settles only after the
// unit is durable (SQLite: after the group COMMIT), so a reply sent after it never lies.
// Inside fn, await only tx calls: no network, no timers.
import type {
  AgentRecord, DeadLetter, DeliveryRecord, IdempotencyRecord, Intent, IntentEvent, ThreadRecord, TimerRecord,
} from '../model.js';

export interface IntentQuery {
  /** Intents this address sent (sender), receives (receiver), or either (any); omit for all. */
  participant?: { address: string; role: 'sender' | 'receiver' | 'any' };
  statuses?: string[];
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit: number;
}

export interface Page<T> { items: T[]; nextCursor: string | null }

export interface NewTimer { due_at: number; kind: string; intent_id: string | null; data: Record<string, unknown> }

export interface StoreTx {
  // agents
  getAgent(address: string): Promise<AgentRecord | undefined>;
  findAgentByKeyHash(keyHash: string): Promise<AgentRecord | undefined>;
  putAgent(agent: AgentRecord): Promise<void>;
  listAgents(): Promise<AgentRecord[]>;

  // intents and their events
  getIntent(intentId: string): Promise<Intent | undefined>;
  insertIntent(intent: Intent): Promise<void>;
  updateIntent(intent: Intent): Promise<void>;
  /** Newest first. */
  listIntents(query: IntentQuery): Promise<Page<Intent>>;
  appendEvent(event: IntentEvent): Promise<void>;
  /** Events with seq > since, ascending. */
  listEvents(intentId: string, since: number, limit?: number): Promise<IntentEvent[]>;

  // deliveries
  insertDelivery(delivery: DeliveryRecord): Promise<void>;
  updateDelivery(delivery: DeliveryRecord): Promise<void>;
  getDelivery(deliveryId: string): Promise<DeliveryRecord | undefined>;
  /** The intent's open (pending or leased) delivery, if any. */
  openDelivery(intentId: string): Promise<DeliveryRecord | undefined>;
  /** Pending deliveries for an agent, oldest first. */
  pendingDeliveries(agent: string, limit: number): Promise<DeliveryRecord[]>;
  /** Leased deliveries for an agent with agent_seq > since, ascending by agent_seq. */
  leasedDeliveries(agent: string, since: number): Promise<DeliveryRecord[]>;

  // idempotency (IDEM-*)
  getIdempotency(scope: string, key: string): Promise<IdempotencyRecord | undefined>;
  putIdempotency(record: IdempotencyRecord): Promise<void>;

  // durable timers
  addTimer(timer: NewTimer): Promise<number>;
  /** Removes a timer; false when it was already gone (fired or cancelled). */
  deleteTimer(id: number): Promise<boolean>;
  cancelTimers(intentId: string, kind?: string): Promise<void>;
  /** Timers with due_at <= now, in (due_at, id) order. */
  dueTimers(now: number, limit: number): Promise<TimerRecord[]>;
  nextTimerDue(): Promise<number | undefined>;

  // dead letters (DLV-020)
  putDeadLetter(letter: DeadLetter): Promise<void>;
  getDeadLetter(intentId: string): Promise<DeadLetter | undefined>;
  /** Every entry (redelivered ones carry redelivered_at), newest first (DLV-021). */
  listDeadLetters(query: { agent?: string; cursor?: string; limit: number }): Promise<Page<DeadLetter>>;

  // inbox threads (INBOX-*): one per (owner_agent, thread_id)
  putThread(thread: ThreadRecord): Promise<void>;
  getThread(owner: string, threadId: string): Promise<ThreadRecord | undefined>;
  /** An owner's threads newest first, or every thread of one intent (threadId). */
  listThreads(query: { owner?: string; threadId?: string }): Promise<ThreadRecord[]>;

  /** Runs cb after this unit is durable (never if it is rolled back). */
  onCommit(cb: () => void): void;
  /**
   * Runs cb once this unit is done, before the commit that makes it durable, where the engine
   * groups units into one commit (SQLite): the units cb starts then join that commit, so a stream
   * claim shares its create's fsync instead of waiting for one of its own. Engines without group
   * commit run cb after the commit, like onCommit. Never run if the unit is rolled back; a reader
   * woken by cb finds what it was woken for, because its unit runs after this one.
   */
  beforeCommit(cb: () => void): void;
}

export interface WriteOptions {
  /**
   * Units with one affinity run in submission order, one at a time, where a store runs units side
   * by side (PostgreSQL): an agent's claims and the creates of intents to it give its address.
   */
  affinity?: string;
  /**
   * Rows the unit will read, by key: the intent it loads first, the agent it reads. A store that
   * batches units may fetch those of a turn's units together (PostgreSQL: one round trip for the
   * batch, the intents locked, instead of one per unit). A hint only: the unit reads what it reads.
   */
  reads?: UnitReads;
}

export interface UnitReads {
  intents?: string[];
  agents?: string[];
}

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /**
   * Units run one at a time in the order write() was called, and settle in that order (memory,
   * SQLite: all units; PostgreSQL: the units of one affinity). A reader may then submit a unit
   * while its previous one is in flight and still see their results in order; with concurrent
   * units it must wait for the previous one.
   */
  readonly ordered: boolean;
  write<T>(fn: (tx: StoreTx) => Promise<T>, options?: WriteOptions): Promise<T>;
  /**
   * Stores shared by several processes: claims due timers for this process (each fires
   * on one process only). Absent: the scheduler reads dueTimers and fires in submission order.
   */
  claimDueTimers?(now: number, limit: number): Promise<TimerRecord[]>;
  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * Durable stores keep a few named server settings across restarts (the admin key's SHA-256
   * hash); a store that forgets on restart (memory) has neither method.
   */
  readSetting?(name: string): Promise<string | undefined>;
  /** Stores a setting (with ifAbsent, an existing value stays); resolves to the value now stored. */
  writeSetting?(name: string, value: string, options?: { ifAbsent?: boolean }): Promise<string>;
}
