// The memory engine: the same semantics as SQLite without a file. Units run one at a time; each
// mutation records its undo, so a unit that throws leaves nothing behind.
import type { NewTimer, Page, Store, StoreTx, IntentQuery } from './store.js';
import type { AgentRecord, DeadLetter, DeliveryRecord, IdempotencyRecord, Intent, IntentEvent, ThreadRecord, TimerRecord } from '../model.js';
import { SerialQueue } from './serial-queue.js';

/**
 * Records are JSON data, stored frozen: a write freezes what it is given (deeply, in place) and a
 * read hands out the stored object itself. No copies (profiled: copying was this engine's top
 * item), and a caller that mutates a record it read or wrote throws a TypeError here instead of
 * silently changing stored state (callers build changed records by spreading).
 */
function frozen<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  // Not JSON data (a Date, say): stored as a copy of its own, so the caller's object stays theirs.
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return Object.freeze(structuredClone(value));
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const child = record[key];
    const stored = frozen(child);
    if (stored !== child) record[key] = stored;
  }
  return Object.freeze(value);
}

interface Ordered<T> { ord: number; value: T }

class MemoryTx implements StoreTx {
  readonly undo: (() => void)[] = [];
  readonly commits: (() => void)[] = [];
  constructor(private readonly db: MemoryStore) {}

  private set<K, V>(map: Map<K, V>, key: K, value: V): void {
    const had = map.has(key);
    const before = map.get(key);
    map.set(key, value);
    this.undo.push(() => (had ? map.set(key, before as V) : map.delete(key)));
  }
  private remove<K, V>(map: Map<K, V>, key: K): boolean {
    if (!map.has(key)) return false;
    const before = map.get(key) as V;
    map.delete(key);
    this.undo.push(() => map.set(key, before));
    return true;
  }
  private nextOrd(): number {
    const ord = ++this.db.ord;
    return ord;
  }

  async getAgent(address: string) { return this.db.agents.get(address); }
  async findAgentByKeyHash(keyHash: string) {
    for (const a of this.db.agents.values()) if (a.key_hash === keyHash) return a;
    return undefined;
  }
  async putAgent(agent: AgentRecord) { this.set(this.db.agents, agent.address, frozen(agent)); }
  async listAgents() { return [...this.db.agents.values()]; }

  async getIntent(intentId: string) { return this.db.intents.get(intentId)?.value; }
  async insertIntent(intent: Intent) {
    if (this.db.intents.has(intent.intent_id)) throw new Error('duplicate intent_id');
    this.set(this.db.intents, intent.intent_id, { ord: this.nextOrd(), value: frozen(intent) });
    this.set(this.db.events, intent.intent_id, []);
  }
  async updateIntent(intent: Intent) {
    const row = this.db.intents.get(intent.intent_id);
    if (!row) throw new Error('no such intent');
    this.set(this.db.intents, intent.intent_id, { ord: row.ord, value: frozen(intent) });
  }
  async listIntents(query: IntentQuery): Promise<Page<Intent>> {
    const before = query.cursor ? Number(query.cursor) : Infinity;
    const p = query.participant;
    const rows = [...this.db.intents.values()]
      .filter((r) => r.ord < before)
      .filter((r) => !query.statuses || query.statuses.includes(r.value.status))
      .filter((r) => !p || (p.role !== 'receiver' && r.value.from_agent === p.address) || (p.role !== 'sender' && r.value.to_agent === p.address))
      .sort((a, b) => b.ord - a.ord);
    const items = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    return { items: items.map((r) => r.value), nextCursor: more ? String(items[items.length - 1].ord) : null };
  }
  async appendEvent(event: IntentEvent) {
    const list = this.db.events.get(event.intent_id) ?? [];
    const last = list[list.length - 1];
    if (last && last.seq >= event.seq) throw new Error('event seq not increasing');
    this.set(this.db.events, event.intent_id, [...list, frozen(event)]);
  }
  async listEvents(intentId: string, since: number, limit = Infinity) {
    return (this.db.events.get(intentId) ?? []).filter((e) => e.seq > since).slice(0, limit);
  }

  async insertDelivery(delivery: DeliveryRecord) {
    this.putDelivery({ ord: this.nextOrd(), value: frozen(delivery) });
  }
  async updateDelivery(delivery: DeliveryRecord) {
    const row = this.db.deliveries.get(delivery.delivery_id);
    if (!row) throw new Error('no such delivery');
    this.putDelivery({ ord: row.ord, value: frozen(delivery) });
  }
  /** Writes a delivery row and keeps the open-deliveries index in step, undo included. */
  private putDelivery(row: Ordered<DeliveryRecord>): void {
    const id = row.value.delivery_id;
    const before = this.db.deliveries.get(id);
    this.set(this.db.deliveries, id, row);
    this.db.indexOpen(before?.value, row.value);
    this.undo.push(() => this.db.indexOpen(row.value, before?.value));
  }
  async getDelivery(deliveryId: string) { return this.db.deliveries.get(deliveryId)?.value; }
  /** Open (pending or leased) deliveries, oldest first, from an index set. */
  private openRows(ids: Set<string> | undefined, filter: (d: DeliveryRecord) => boolean): Ordered<DeliveryRecord>[] {
    const rows: Ordered<DeliveryRecord>[] = [];
    for (const id of ids ?? []) {
      const row = this.db.deliveries.get(id);
      if (row && filter(row.value)) rows.push(row);
    }
    return rows.sort((a, b) => a.ord - b.ord);
  }
  async openDelivery(intentId: string) {
    const open = this.openRows(this.db.openByIntent.get(intentId), () => true);
    return open[open.length - 1]?.value;
  }
  async pendingDeliveries(agent: string, limit: number) {
    return this.openRows(this.db.openByAgent.get(agent), (d) => d.state === 'pending').slice(0, limit).map((r) => r.value);
  }
  async leasedDeliveries(agent: string, since: number) {
    return this.openRows(this.db.openByAgent.get(agent), (d) => d.state === 'leased' && (d.agent_seq ?? 0) > since)
      .map((r) => r.value).sort((a, b) => (a.agent_seq ?? 0) - (b.agent_seq ?? 0));
  }

  async getIdempotency(scope: string, key: string) { return this.db.idempotency.get(`${scope}\n${key}`); }
  async putIdempotency(record: IdempotencyRecord) { this.set(this.db.idempotency, `${record.scope}\n${record.key}`, frozen(record)); }

  async addTimer(timer: NewTimer) {
    const id = ++this.db.timerId;
    this.set(this.db.timers, id, frozen({ id, ...timer }));
    if (timer.intent_id !== null) this.indexTimer(timer.intent_id, id, true);
    return id;
  }
  async deleteTimer(id: number) {
    const intentId = this.db.timers.get(id)?.intent_id;
    if (!this.remove(this.db.timers, id)) return false;
    if (intentId != null) this.indexTimer(intentId, id, false);
    return true;
  }
  async cancelTimers(intentId: string, kind?: string) {
    // By the intent's index: a resolve cancels timers three times, and every lease in flight holds one.
    for (const id of [...(this.db.timersByIntent.get(intentId) ?? [])]) {
      if (!kind || this.db.timers.get(id)?.kind === kind) await this.deleteTimer(id);
    }
  }
  private indexTimer(intentId: string, id: number, add: boolean): void {
    const apply = (adding: boolean) => {
      let ids = this.db.timersByIntent.get(intentId);
      if (adding) { if (!ids) this.db.timersByIntent.set(intentId, (ids = new Set())); ids.add(id); return; }
      if (ids?.delete(id) && ids.size === 0) this.db.timersByIntent.delete(intentId);
    };
    apply(add);
    this.undo.push(() => apply(!add));
  }
  private sortedTimers(): TimerRecord[] {
    return [...this.db.timers.values()].sort((a, b) => a.due_at - b.due_at || a.id - b.id);
  }
  async dueTimers(now: number, limit: number) { return this.sortedTimers().filter((t) => t.due_at <= now).slice(0, limit); }
  async nextTimerDue() { return this.sortedTimers()[0]?.due_at; }

  async putDeadLetter(letter: DeadLetter) {
    // DLV-024: a fresh entry replaces the old one (and sorts as newest); marking it redelivered keeps its place.
    const row = this.db.deadLetters.get(letter.intent_id);
    const ord = row && letter.redelivered_at !== null ? row.ord : this.nextOrd();
    this.set(this.db.deadLetters, letter.intent_id, { ord, value: frozen(letter) });
  }
  async getDeadLetter(intentId: string) { return this.db.deadLetters.get(intentId)?.value; }
  async listDeadLetters(query: { agent?: string; cursor?: string; limit: number }): Promise<Page<DeadLetter>> {
    const before = query.cursor ? Number(query.cursor) : Infinity;
    const rows = [...this.db.deadLetters.values()]
      .filter((r) => r.ord < before && (!query.agent || r.value.to_agent === query.agent))
      .sort((a, b) => b.ord - a.ord);
    const items = rows.slice(0, query.limit);
    return { items: items.map((r) => r.value), nextCursor: rows.length > query.limit ? String(items[items.length - 1].ord) : null };
  }

  async putThread(thread: ThreadRecord) {
    const key = `${thread.owner_agent}\n${thread.thread_id}`;
    const row = this.db.threads.get(key);
    this.set(this.db.threads, key, { ord: row?.ord ?? this.nextOrd(), value: frozen(thread) });
  }
  async getThread(owner: string, threadId: string) { return this.db.threads.get(`${owner}\n${threadId}`)?.value; }
  async listThreads(query: { owner?: string; threadId?: string }) {
    return [...this.db.threads.values()]
      .filter((r) => (query.owner === undefined || r.value.owner_agent === query.owner) && (query.threadId === undefined || r.value.thread_id === query.threadId))
      .sort((a, b) => b.ord - a.ord).map((r) => r.value);
  }

  onCommit(cb: () => void) { this.commits.push(cb); }
  beforeCommit(cb: () => void) { this.commits.push(cb); }
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly ordered = true;
  readonly agents = new Map<string, AgentRecord>();
  readonly intents = new Map<string, Ordered<Intent>>();
  readonly events = new Map<string, IntentEvent[]>();
  readonly deliveries = new Map<string, Ordered<DeliveryRecord>>();
  /** Open (pending or leased) delivery ids by intent and by agent: claims and acks never scan every row. */
  readonly openByIntent = new Map<string, Set<string>>();
  readonly openByAgent = new Map<string, Set<string>>();
  readonly idempotency = new Map<string, IdempotencyRecord>();
  readonly timers = new Map<number, TimerRecord>();
  /** Timer ids by intent: cancelling an intent's timers never scans every timer. */
  readonly timersByIntent = new Map<string, Set<number>>();
  readonly deadLetters = new Map<string, Ordered<DeadLetter>>();
  readonly threads = new Map<string, Ordered<ThreadRecord>>();
  ord = 0;
  timerId = 0;
  private readonly queue = new SerialQueue();
  private committed: (() => void)[][] | undefined;

  /** Moves a delivery id between index sets as its row changes from `before` to `after`. */
  indexOpen(before: DeliveryRecord | undefined, after: DeliveryRecord | undefined): void {
    const isOpen = (d: DeliveryRecord | undefined) => d !== undefined && (d.state === 'pending' || d.state === 'leased');
    const index = (map: Map<string, Set<string>>, key: string, id: string, add: boolean) => {
      let ids = map.get(key);
      if (add) { if (!ids) map.set(key, (ids = new Set())); ids.add(id); return; }
      if (ids?.delete(id) && ids.size === 0) map.delete(key);
    };
    if (isOpen(before)) {
      const d = before as DeliveryRecord;
      index(this.openByIntent, d.intent_id, d.delivery_id, false);
      index(this.openByAgent, d.agent, d.delivery_id, false);
    }
    if (isOpen(after)) {
      const d = after as DeliveryRecord;
      index(this.openByIntent, d.intent_id, d.delivery_id, true);
      index(this.openByAgent, d.agent, d.delivery_id, true);
    }
  }

  write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      const tx = new MemoryTx(this);
      try {
        const result = await fn(tx);
        this.afterCommit(tx.commits);
        return result;
      } catch (error) {
        for (const undo of tx.undo.reverse()) undo();
        throw error;
      }
    });
  }

  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.write(fn);
  }

  /**
   * Like SQLite's group commit, the commit callbacks of one event-loop turn run together once the
   * turn's I/O is handled: a burst of creates wakes a stream or poller once, so one claim hands
   * out the lot (profiled: one claim unit per create otherwise).
   */
  private afterCommit(callbacks: (() => void)[]): void {
    if (callbacks.length === 0) return;
    if (!this.committed) {
      const batch: (() => void)[][] = [];
      this.committed = batch;
      setImmediate(() => {
        this.committed = undefined;
        for (const cbs of batch) for (const cb of cbs) cb();
      });
    }
    this.committed.push(callbacks);
  }

  async close(): Promise<void> {
    await this.queue.run(async () => undefined);
  }
}
