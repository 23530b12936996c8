// The default engine: one SQLite file through better-sqlite3, WAL, synchronous=FULL.
// Group commit: the units of one event-loop turn share one BEGIN…COMMIT, each inside its own
// SAVEPOINT (rolled back alone if it throws); no unit's promise settles before the COMMIT that
// made it durable, so every answer that says a write happened survives kill -9.
import Database from 'better-sqlite3';
import type { NewTimer, Page, Store, StoreTx, IntentQuery } from './store.js';
import type { AgentRecord, DeadLetter, DeliveryRecord, IdempotencyRecord, Intent, IntentEvent, ThreadRecord, TimerRecord } from '../model.js';
import { SerialQueue } from './serial-queue.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agents (address TEXT PRIMARY KEY, key_hash TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS agents_key ON agents(key_hash);
-- Intents and deliveries are never deleted, so a plain rowid already grows with every insert
-- (AUTOINCREMENT would add a sqlite_sequence write to each; files made before keep theirs).
CREATE TABLE IF NOT EXISTS intents (ord INTEGER PRIMARY KEY, intent_id TEXT NOT NULL UNIQUE,
  from_agent TEXT NOT NULL, to_agent TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS intents_from ON intents(from_agent, ord);
CREATE INDEX IF NOT EXISTS intents_to ON intents(to_agent, ord);
CREATE TABLE IF NOT EXISTS events (intent_id TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,
  PRIMARY KEY (intent_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (ord INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL UNIQUE,
  intent_id TEXT NOT NULL, agent TEXT NOT NULL, state TEXT NOT NULL, agent_seq INTEGER, doc TEXT NOT NULL);
-- By intent only: a delivery's state changes then leave this index alone (an intent has few deliveries).
DROP INDEX IF EXISTS deliveries_intent;
CREATE INDEX IF NOT EXISTS deliveries_of_intent ON deliveries(intent_id);
CREATE INDEX IF NOT EXISTS deliveries_agent ON deliveries(agent, state, ord);
CREATE TABLE IF NOT EXISTS idempotency (scope TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (id INTEGER PRIMARY KEY AUTOINCREMENT, due_at INTEGER NOT NULL, kind TEXT NOT NULL,
  intent_id TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS timers_due ON timers(due_at, id);
CREATE INDEX IF NOT EXISTS timers_intent ON timers(intent_id);
CREATE TABLE IF NOT EXISTS dead_letters (ord INTEGER PRIMARY KEY AUTOINCREMENT, intent_id TEXT NOT NULL UNIQUE,
  agent TEXT NOT NULL, redelivered INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS threads (ord INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, thread_id TEXT NOT NULL,
  doc TEXT NOT NULL, UNIQUE (owner, thread_id));
CREATE INDEX IF NOT EXISTS threads_id ON threads(thread_id);
CREATE TABLE IF NOT EXISTS server_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

type Row = { doc: string; ord?: number };
const parseAll = <T>(rows: unknown[]): T[] => rows.map((r) => JSON.parse((r as Row).doc) as T);
/** Statements that select one doc column are plucked: they return the text itself, no row object. */
const parseDoc = <T>(doc: unknown): T | undefined => (typeof doc === 'string' ? (JSON.parse(doc) as T) : undefined);
const parseDocs = <T>(docs: unknown[]): T[] => docs.map((doc) => JSON.parse(doc as string) as T);

function statements(db: Database.Database) {
  const s = (sql: string) => db.prepare(sql);
  const doc = (sql: string) => db.prepare(sql).pluck();
  return {
    getAgent: doc('SELECT doc FROM agents WHERE address = ?'),
    agentByKey: doc('SELECT doc FROM agents WHERE key_hash = ?'),
    putAgent: s('INSERT INTO agents (address, key_hash, doc) VALUES (?, ?, ?) ON CONFLICT(address) DO UPDATE SET key_hash = excluded.key_hash, doc = excluded.doc'),
    listAgents: doc('SELECT doc FROM agents ORDER BY address'),
    getIntent: doc('SELECT doc FROM intents WHERE intent_id = ?'),
    insertIntent: s('INSERT INTO intents (intent_id, from_agent, to_agent, status, doc) VALUES (?, ?, ?, ?, ?)'),
    updateIntent: s('UPDATE intents SET status = ?, doc = ? WHERE intent_id = ?'),
    appendEvent: s('INSERT INTO events (intent_id, seq, doc) VALUES (?, ?, ?)'),
    listEvents: doc('SELECT doc FROM events WHERE intent_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
    insertDelivery: s('INSERT INTO deliveries (delivery_id, intent_id, agent, state, agent_seq, doc) VALUES (?, ?, ?, ?, ?, ?)'),
    updateDelivery: s('UPDATE deliveries SET state = ?, agent_seq = ?, doc = ? WHERE delivery_id = ?'),
    getDelivery: doc('SELECT doc FROM deliveries WHERE delivery_id = ?'),
    openDelivery: doc("SELECT doc FROM deliveries WHERE intent_id = ? AND state IN ('pending', 'leased') ORDER BY ord DESC LIMIT 1"),
    pending: doc("SELECT doc FROM deliveries WHERE agent = ? AND state = 'pending' ORDER BY ord LIMIT ?"),
    leased: doc("SELECT doc FROM deliveries WHERE agent = ? AND state = 'leased' AND agent_seq > ? ORDER BY agent_seq"),
    getIdem: doc('SELECT doc FROM idempotency WHERE scope = ? AND key = ?'),
    putIdem: s('INSERT OR REPLACE INTO idempotency (scope, key, doc) VALUES (?, ?, ?)'),
    addTimer: s('INSERT INTO timers (due_at, kind, intent_id, data) VALUES (?, ?, ?, ?)'),
    deleteTimer: s('DELETE FROM timers WHERE id = ?'),
    cancelTimers: s('DELETE FROM timers WHERE intent_id = ?'),
    cancelTimersOfKind: s('DELETE FROM timers WHERE intent_id = ? AND kind = ?'),
    dueTimers: s('SELECT id, due_at, kind, intent_id, data FROM timers WHERE due_at <= ? ORDER BY due_at, id LIMIT ?'),
    nextTimer: s('SELECT min(due_at) AS due FROM timers'),
    deleteDead: s('DELETE FROM dead_letters WHERE intent_id = ?'),
    insertDead: s('INSERT INTO dead_letters (intent_id, agent, redelivered, doc) VALUES (?, ?, ?, ?)'),
    updateDead: s('UPDATE dead_letters SET redelivered = ?, doc = ? WHERE intent_id = ?'),
    getDead: doc('SELECT doc FROM dead_letters WHERE intent_id = ?'),
    putThread: s('INSERT INTO threads (owner, thread_id, doc) VALUES (?, ?, ?) ON CONFLICT(owner, thread_id) DO UPDATE SET doc = excluded.doc'),
    getThread: doc('SELECT doc FROM threads WHERE owner = ? AND thread_id = ?'),
    listThreads: doc('SELECT doc FROM threads WHERE (? IS NULL OR owner = ?) AND (? IS NULL OR thread_id = ?) ORDER BY ord DESC'),
    // The "? IS NULL OR" form cannot use an index; every terminal write asks by thread id, so that one gets its own.
    threadsById: doc('SELECT doc FROM threads WHERE thread_id = ? ORDER BY ord DESC'),
    listDead: s('SELECT ord, doc FROM dead_letters WHERE ord < ? AND (? IS NULL OR agent = ?) ORDER BY ord DESC LIMIT ?'),
  };
}

class SqliteTx implements StoreTx {
  readonly commits: (() => void)[] = [];
  readonly precommits: (() => void)[] = [];
  constructor(private readonly db: Database.Database, private readonly q: ReturnType<typeof statements>) {}

  async getAgent(address: string) { return parseDoc<AgentRecord>(this.q.getAgent.get(address)); }
  async findAgentByKeyHash(keyHash: string) { return parseDoc<AgentRecord>(this.q.agentByKey.get(keyHash)); }
  async putAgent(agent: AgentRecord) { this.q.putAgent.run(agent.address, agent.key_hash, JSON.stringify(agent)); }
  async listAgents() { return parseDocs<AgentRecord>(this.q.listAgents.all()); }

  async getIntent(intentId: string) { return parseDoc<Intent>(this.q.getIntent.get(intentId)); }
  async insertIntent(intent: Intent) {
    this.q.insertIntent.run(intent.intent_id, intent.from_agent, intent.to_agent, intent.status, JSON.stringify(intent));
  }
  async updateIntent(intent: Intent) {
    const changed = this.q.updateIntent.run(intent.status, JSON.stringify(intent), intent.intent_id).changes;
    if (changed !== 1) throw new Error('no such intent');
  }
  async listIntents(query: IntentQuery): Promise<Page<Intent>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.cursor) { where.push('ord < ?'); args.push(Number(query.cursor)); }
    if (query.statuses) { where.push('status IN (SELECT value FROM json_each(?))'); args.push(JSON.stringify(query.statuses)); }
    const p = query.participant;
    if (p?.role === 'sender') { where.push('from_agent = ?'); args.push(p.address); }
    if (p?.role === 'receiver') { where.push('to_agent = ?'); args.push(p.address); }
    if (p?.role === 'any') { where.push('(from_agent = ? OR to_agent = ?)'); args.push(p.address, p.address); }
    const sql = `SELECT ord, doc FROM intents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ord DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit + 1) as Row[];
    const items = rows.slice(0, query.limit);
    return { items: parseAll<Intent>(items), nextCursor: rows.length > query.limit ? String(items[items.length - 1].ord) : null };
  }
  async appendEvent(event: IntentEvent) { this.q.appendEvent.run(event.intent_id, event.seq, JSON.stringify(event)); }
  async listEvents(intentId: string, since: number, limit = -1) { return parseDocs<IntentEvent>(this.q.listEvents.all(intentId, since, limit)); }

  async insertDelivery(d: DeliveryRecord) { this.q.insertDelivery.run(d.delivery_id, d.intent_id, d.agent, d.state, d.agent_seq, JSON.stringify(d)); }
  async updateDelivery(d: DeliveryRecord) { this.q.updateDelivery.run(d.state, d.agent_seq, JSON.stringify(d), d.delivery_id); }
  async getDelivery(deliveryId: string) { return parseDoc<DeliveryRecord>(this.q.getDelivery.get(deliveryId)); }
  async openDelivery(intentId: string) { return parseDoc<DeliveryRecord>(this.q.openDelivery.get(intentId)); }
  async pendingDeliveries(agent: string, limit: number) { return parseDocs<DeliveryRecord>(this.q.pending.all(agent, limit)); }
  async leasedDeliveries(agent: string, since: number) { return parseDocs<DeliveryRecord>(this.q.leased.all(agent, since)); }

  async getIdempotency(scope: string, key: string) { return parseDoc<IdempotencyRecord>(this.q.getIdem.get(scope, key)); }
  async putIdempotency(record: IdempotencyRecord) { this.q.putIdem.run(record.scope, record.key, JSON.stringify(record)); }

  async addTimer(t: NewTimer) { return Number(this.q.addTimer.run(t.due_at, t.kind, t.intent_id, JSON.stringify(t.data)).lastInsertRowid); }
  async deleteTimer(id: number) { return this.q.deleteTimer.run(id).changes > 0; }
  async cancelTimers(intentId: string, kind?: string) {
    if (kind) this.q.cancelTimersOfKind.run(intentId, kind); else this.q.cancelTimers.run(intentId);
  }
  async dueTimers(now: number, limit: number) {
    const rows = this.q.dueTimers.all(now, limit) as { id: number; due_at: number; kind: string; intent_id: string | null; data: string }[];
    return rows.map((r): TimerRecord => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }
  async nextTimerDue() {
    const row = this.q.nextTimer.get() as { due: number | null };
    return row.due ?? undefined;
  }

  async putDeadLetter(l: DeadLetter) {
    // DLV-024: a fresh entry replaces the old one (and sorts as newest); marking it redelivered updates in place.
    if (l.redelivered_at !== null) { this.q.updateDead.run(1, JSON.stringify(l), l.intent_id); return; }
    this.q.deleteDead.run(l.intent_id);
    this.q.insertDead.run(l.intent_id, l.to_agent, 0, JSON.stringify(l));
  }
  async getDeadLetter(intentId: string) { return parseDoc<DeadLetter>(this.q.getDead.get(intentId)); }
  async listDeadLetters(query: { agent?: string; cursor?: string; limit: number }): Promise<Page<DeadLetter>> {
    const agent = query.agent ?? null;
    const rows = this.q.listDead.all(query.cursor ? Number(query.cursor) : Number.MAX_SAFE_INTEGER, agent, agent, query.limit + 1) as Row[];
    const items = rows.slice(0, query.limit);
    return { items: parseAll<DeadLetter>(items), nextCursor: rows.length > query.limit ? String(items[items.length - 1].ord) : null };
  }

  async putThread(t: ThreadRecord) { this.q.putThread.run(t.owner_agent, t.thread_id, JSON.stringify(t)); }
  async getThread(owner: string, threadId: string) { return parseDoc<ThreadRecord>(this.q.getThread.get(owner, threadId)); }
  async listThreads(query: { owner?: string; threadId?: string }) {
    const owner = query.owner ?? null;
    const threadId = query.threadId ?? null;
    if (owner === null && threadId !== null) return parseDocs<ThreadRecord>(this.q.threadsById.all(threadId));
    return parseDocs<ThreadRecord>(this.q.listThreads.all(owner, owner, threadId, threadId));
  }

  onCommit(cb: () => void) { this.commits.push(cb); }
  beforeCommit(cb: () => void) { this.precommits.push(cb); }
}

interface Settled { resolve: () => void; reject: (error: unknown) => void; commits: (() => void)[] }

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly ordered = true;
  private readonly db: Database.Database;
  private readonly q: ReturnType<typeof statements>;
  /** Transaction control, prepared once (exec would parse the SQL again for every unit). */
  private readonly control: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;
  private readonly queue = new SerialQueue();
  private batch: Settled[] | undefined;
  /** beforeCommit callbacks of the open batch's finished units. */
  private precommits: (() => void)[] = [];
  private closed = false;

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    // Intent and delivery ids are time-ordered (UUID v7), so new rows land on recent pages; a 64 MiB
    // page cache (default 2 MiB) still keeps the index pages of a large store out of the read syscalls.
    this.db.pragma('cache_size = -65536');
    this.db.exec(SCHEMA);
    this.q = statements(this.db);
    const s = (sql: string) => this.db.prepare(sql);
    this.control = {
      begin: s('BEGIN'), commit: s('COMMIT'), rollback: s('ROLLBACK'),
      savepoint: s('SAVEPOINT unit'), release: s('RELEASE unit'), rollbackTo: s('ROLLBACK TO unit'),
    };
  }

  async readSetting(name: string): Promise<string | undefined> {
    return this.read(async () => this.db.prepare('SELECT value FROM server_settings WHERE name = ?').pluck().get(name) as string | undefined);
  }

  /** A unit of its own, so the setting is durable when this resolves. */
  async writeSetting(name: string, value: string, options: { ifAbsent?: boolean } = {}): Promise<string> {
    return this.write(async () => {
      const sql = options.ifAbsent
        ? 'INSERT INTO server_settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING'
        : 'INSERT INTO server_settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value';
      this.db.prepare(sql).run(name, value);
      return this.db.prepare('SELECT value FROM server_settings WHERE name = ?').pluck().get(name) as string;
    });
  }

  write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      void this.queue.run(async () => {
        if (this.closed) return reject(new Error('store closed'));
        try {
          if (!this.batch) {
            this.control.begin.run();
            this.batch = [];
            setImmediate(() => this.flush());
          }
        } catch (error) {
          return reject(error);
        }
        const tx = new SqliteTx(this.db, this.q);
        this.control.savepoint.run();
        try {
          const value = await fn(tx);
          this.control.release.run();
          this.batch.push({ resolve: () => resolve(value), reject, commits: tx.commits });
          if (tx.precommits.length > 0) this.precommits.push(...tx.precommits);
        } catch (error) {
          this.control.rollbackTo.run();
          this.control.release.run();
          reject(error);
        }
      });
    });
  }

  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    // Reads share the batch so they never report data that is not yet durable.
    return this.write(fn);
  }

  /**
   * The batch's beforeCommit callbacks run first: units they start are queued ahead of the COMMIT
   * and join the batch. A unit that ends after this point has its callbacks run after the commit.
   */
  private flush(): void {
    const early = this.precommits;
    this.precommits = [];
    try {
      for (const cb of early) cb();
    } finally {
      void this.queue.run(async () => this.commit());
    }
  }

  private commit(): void {
    const batch = this.batch;
    const late = this.precommits;
    this.batch = undefined;
    this.precommits = [];
    if (!batch) return;
    try {
      this.control.commit.run();
    } catch (error) {
      try { this.control.rollback.run(); } catch { /* already rolled back */ }
      for (const unit of batch) unit.reject(error);
      return;
    }
    for (const unit of batch) unit.resolve();
    for (const unit of batch) for (const cb of unit.commits) cb();
    for (const cb of late) cb();
  }

  async close(): Promise<void> {
    await this.queue.run(async () => {
      this.commit();
      this.closed = true;
      this.db.close();
    });
  }
}

/** An intent with its events and deliveries, as bulkLoad writes them. */
export interface BulkRow { intent: Intent; events: IntentEvent[]; deliveries: DeliveryRecord[] }

/**
 * Writes rows straight into a store file through this store's schema and statements, in one
 * transaction (the bench pre-fills a million intents this way). Only for a file no server has
 * open; journal and fsync are off because a load that dies is simply run again.
 */
export function bulkLoad(file: string, rows: Iterable<BulkRow>): number {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -1048576');
    db.exec(SCHEMA);
    const q = statements(db);
    let count = 0;
    db.transaction(() => {
      for (const { intent, events, deliveries } of rows) {
        q.insertIntent.run(intent.intent_id, intent.from_agent, intent.to_agent, intent.status, JSON.stringify(intent));
        for (const e of events) q.appendEvent.run(e.intent_id, e.seq, JSON.stringify(e));
        for (const d of deliveries) q.insertDelivery.run(d.delivery_id, d.intent_id, d.agent, d.state, d.agent_seq, JSON.stringify(d));
        count += 1;
      }
    })();
    return count;
  } finally {
    db.close();
  }
}
