// The PostgreSQL engine: several server processes share one database.
//
// Group commit, as in the SQLite store: the write units one event-loop turn produces run one after
// another inside one READ COMMITTED transaction on one connection, and share its COMMIT. Inside a
// unit, reads go to the database at once (prepared statements); writes are buffered and sent
// together, as one multi-statement round trip, when a later read needs them (a read of a table
// with buffered writes) or with the COMMIT itself; consecutive event inserts become one multi-row
// INSERT, and an insert or update followed by an update of the same row is sent as its last state.
// A unit that throws before any of its writes left the process is simply dropped from the batch;
// when anything else fails (a statement, a conflict, the COMMIT), the batch is rolled back and
// each of its units is run again alone, in order, with the retries below, so one unit's failure
// never decides another's outcome. No unit's promise settles before the COMMIT that made it
// durable.
//
// Across processes, what the SQLite store gets from its serial queue comes from row locks and
// constraints:
// - intent first: a write unit's getIntent locks the row (FOR UPDATE), and getDelivery /
//   deleteTimer lock the owning intent before they read, so the rows of one intent (its events,
//   deliveries, timers, threads) change under one lock, and seq stays contiguous (EVT-002)
//   whichever process writes;
// - agents are versioned: putAgent writes only if the row still has the version this unit read
//   (two processes claiming for one agent cannot hand out one agent seq twice);
// - idempotency and event keys are unique: the loser of a race gets a conflict, the unit is run
//   again and then finds the winner's row (IDEM-008: one intent per key across processes).
// Conflicts, serialization failures and deadlocks are retried with the unit run afresh; fn must
// therefore touch nothing but tx (the store rule already).
// Pending deliveries and due timers are claimed with FOR UPDATE SKIP LOCKED; a timer claim is a
// lease in the row (claimed_until), so a process dying between claim and fire delays, never loses.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { IntentQuery, NewTimer, Page, Store, StoreTx } from './store.js';
import type { AgentRecord, DeadLetter, DeliveryRecord, IdempotencyRecord, Intent, IntentEvent, ThreadRecord, TimerRecord } from '../model.js';
import { IDEMPOTENCY_TTL_SECONDS } from '../limits.js';
import { MIGRATIONS } from './postgres-migrations.js';
import { SerialQueue } from './serial-queue.js';

interface DocRow { doc: string; ord?: string; version?: string }
type TimerRow = { id: string; due_at: string; kind: string; intent_id: string | null; data: string };
type Table = 'agents' | 'intents' | 'events' | 'deliveries' | 'idempotency' | 'timers' | 'dead_letters' | 'threads';

const MIGRATION_LOCK = 0x41585031; // 'AXP1'
const MAX_ATTEMPTS = 12;
const RETRYABLE_CODES = new Set(['40001', '40P01', '23505']);
/** Timer ids taken from the sequence in one round trip (addTimer answers its id without one). */
const TIMER_IDS_PER_FETCH = 128;

/** Another process changed what this unit read; the unit is run again. */
export class WriteConflict extends Error {
  readonly retryable = true;
}

function retryable(error: unknown): boolean {
  if (error instanceof WriteConflict) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}

/** What the store sent to PostgreSQL so far (the benchmarks report them per lifecycle). */
export interface PostgresStats {
  /** Messages that waited for an answer (a query, a multi-statement batch, BEGIN, COMMIT). */
  roundTrips: number;
  /** SQL statements executed (a multi-row insert is one). */
  statements: number;
  /** Write transactions committed (each carries one or more units). */
  commits: number;
  /** Write units run. */
  units: number;
  /** Batches rolled back and run again unit by unit. */
  replays: number;
}

// PostgreSQL text cannot hold NUL; a key with one (a path parameter) names nothing stored.
const noNul = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s);
const safeArgs = (args: unknown[]) => args.map((a) => (typeof a === 'string' ? noNul(a) : a));
/** A value as an SQL literal, for the buffered writes (sent as one simple-protocol text). */
function lit(value: string | number | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  // standard_conforming_strings is on for the store's connections (the pool sets it): in '…' only
  // the quote needs doubling. (pg.escapeLiteral builds the string a character at a time: slow for
  // the documents every write carries.)
  return `'${noNul(value).replaceAll("'", "''")}'`;
}

const parse = <T>(rows: DocRow[]): T | undefined => (rows[0] ? (JSON.parse(rows[0].doc) as T) : undefined);
const parseAll = <T>(rows: DocRow[]): T[] => rows.map((r) => JSON.parse(r.doc) as T);
const toTimer = (r: TimerRow): TimerRecord => ({
  id: Number(r.id), due_at: Number(r.due_at), kind: r.kind, intent_id: r.intent_id, data: JSON.parse(r.data) as Record<string, unknown>,
});

/** Connections that already carry the store's error listener. */
const listened = new WeakSet<pg.PoolClient>();

/** Prepared statements: one name per SQL text, parsed once per connection. */
const statementNames = new Map<string, string>();
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (!name) statementNames.set(text, (name = `axp_${statementNames.size + 1}`));
  return { name, text, values: safeArgs(values) };
}

/** A buffered write. Adjacent writes with one `head` merge into one multi-row statement. */
interface Write {
  table: Table;
  sql: string;
  /** Multi-row insert: the statement head ("INSERT INTO t (…) VALUES"); sql is then this row's "(…)". */
  head?: string;
  /** For coalescing: the row this write sets in full (table + key). */
  key?: string;
  /** An update: its values as an insert row, for when the row's insert is still buffered. */
  insertAs?: string;
}

/**
 * A write that must change exactly `rows` rows, checked inside PostgreSQL (axp_expect, migration 4)
 * so that a failed check aborts the transaction before the COMMIT sent with it.
 */
function guarded(sql: string, rows: number, code: string, message: string): string {
  return `WITH w AS (${sql} RETURNING 1) SELECT axp_expect((SELECT count(*) FROM w)::int, ${rows}, ${lit(code)}, ${lit(message)})`;
}

/** One transaction: the units of one event-loop turn. */
class Batch {
  client: pg.PoolClient | undefined;
  began = false;
  writes: Write[] = [];
  /** Times the buffer was sent before the commit (a unit that throws after one cannot be dropped alone). */
  flushes = 0;
  /** A statement failed: the transaction is aborted, every unit runs again alone. */
  failed: unknown;
  /** Every unit of the batch in submission order, with what settles it. */
  readonly units: Unit[] = [];
  precommits: (() => void)[] = [];
  /** Tables with buffered writes. */
  readonly dirty = new Set<Table>();
  /** Where the running unit's buffered writes start. */
  unitStart = 0;

  constructor(readonly store: PostgresStore) {}

  async connection(): Promise<pg.PoolClient> {
    if (!this.client) this.client = await this.store.checkout();
    return this.client;
  }

  /** One round trip for a prepared read (BEGIN first, once). */
  async query<R>(sql: string, args: unknown[], reads: Table[]): Promise<{ rows: R[]; rowCount: number }> {
    if (this.failed) throw this.failed;
    try {
      if (reads.some((t) => this.dirty.has(t))) await this.send(false);
      const client = await this.connection();
      if (!this.began) {
        this.store.count(1, 1);
        await client.query('BEGIN');
        this.began = true;
      }
      this.store.count(1, 1);
      const result = await client.query(prepared(sql, args));
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      this.failed ??= error;
      throw error;
    }
  }

  buffer(write: Write): void {
    if (write.key) {
      // The row's last full state replaces an earlier write of it by the same unit (an insert stays an insert).
      for (let i = this.writes.length - 1; i >= this.unitStart; i--) {
        const earlier = this.writes[i];
        if (earlier.key !== write.key) continue;
        this.writes[i] = earlier.head !== undefined && write.head === undefined ? { ...earlier, sql: write.insertAs ?? earlier.sql } : write;
        return;
      }
    }
    this.writes.push(write);
    this.dirty.add(write.table);
  }

  /** Sends the buffered writes (and COMMIT) in one round trip. */
  async send(commit: boolean): Promise<void> {
    const writes = this.writes;
    this.writes = [];
    this.unitStart = 0;
    this.dirty.clear();
    if (writes.length === 0 && !commit) return;
    const sql: string[] = [];
    if (!this.began) { sql.push('BEGIN'); this.began = true; }
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      if (w.head === undefined) { sql.push(w.sql); continue; }
      const rows = [w.sql];
      while (i + 1 < writes.length && writes[i + 1].head === w.head) rows.push(writes[++i].sql);
      sql.push(`${w.head} ${rows.join(', ')}`);
    }
    if (commit) sql.push('COMMIT');
    if (!commit) this.flushes += 1;
    const client = await this.connection();
    this.store.count(1, sql.length);
    try {
      await client.query(sql.join(';\n'));
    } catch (error) {
      this.failed ??= error;
      throw error;
    }
  }

  async rollback(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    let broken = false;
    if (this.began) {
      this.store.count(1, 1);
      await client.query('ROLLBACK').catch(() => { broken = true; });
    }
    client.release(broken);
  }

  release(): void {
    this.client?.release();
    this.client = undefined;
  }
}

interface Unit {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Set once fn returned in this batch. */
  done?: { value: unknown; commits: (() => void)[] };
}

class PgTx implements StoreTx {
  readonly commits: (() => void)[] = [];
  readonly precommits: (() => void)[] = [];
  /** Agent versions as first read by this unit (null: read as absent). */
  private readonly agentVersions = new Map<string, number | null>();
  /**
   * Intents this unit holds locked (read FOR UPDATE) or inserted, as this unit last wrote them:
   * nobody else can change them before the commit, so they are read once per unit.
   */
  private readonly intents = new Map<string, Intent | undefined>();
  /** The open delivery of an intent in `intents`, kept in step with this unit's own writes. */
  private readonly open = new Map<string, DeliveryRecord | undefined>();

  /** batch: a write unit; without one, reads straight from the pool (no transaction, no locks). */
  constructor(private readonly store: PostgresStore, private readonly batch?: Batch) {}

  private get writing(): boolean {
    return this.batch !== undefined;
  }

  private async q<R = DocRow>(sql: string, args: unknown[], reads: Table[]): Promise<{ rows: R[]; rowCount: number }> {
    if (this.batch) return this.batch.query<R>(sql, args, reads);
    this.store.count(1, 1);
    const result = await this.store.pool.query(prepared(sql, args));
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  }

  /** A write with no answer the caller needs: buffered in a unit, sent at once outside one. */
  private async w(write: Write): Promise<void> {
    if (this.batch) { this.batch.buffer(write); return; }
    throw new Error('writes need a write unit');
  }

  private noteAgent(address: string, row: DocRow | undefined): void {
    if (!this.agentVersions.has(address)) this.agentVersions.set(address, row ? Number(row.version) : null);
  }

  async getAgent(address: string) {
    const { rows } = await this.q('SELECT doc, version FROM agents WHERE address = $1', [address], ['agents']);
    this.noteAgent(address, rows[0]);
    return parse<AgentRecord>(rows);
  }
  async findAgentByKeyHash(keyHash: string) {
    const { rows } = await this.q<DocRow & { address: string }>('SELECT address, doc, version FROM agents WHERE key_hash = $1', [keyHash], ['agents']);
    if (rows[0]) this.noteAgent(rows[0].address, rows[0]);
    return parse<AgentRecord>(rows);
  }
  async putAgent(agent: AgentRecord) {
    const doc = JSON.stringify(agent);
    const read = this.agentVersions.get(agent.address);
    if (read === undefined) {
      // Written without a read: the version it leaves is only known from the answer.
      const { rows } = await this.q<{ version: string }>(`INSERT INTO agents (address, key_hash, doc) VALUES ($1, $2, $3) ON CONFLICT (address)
          DO UPDATE SET key_hash = excluded.key_hash, doc = excluded.doc, version = agents.version + 1 RETURNING version`, [agent.address, agent.key_hash, doc], ['agents']);
      this.agentVersions.set(agent.address, Number(rows[0].version));
      return;
    }
    const [a, k, d] = [lit(agent.address), lit(agent.key_hash), lit(doc)];
    const changed = `agent ${agent.address} changed concurrently`;
    await this.w({ table: 'agents', sql: guarded(read === null
      ? `INSERT INTO agents (address, key_hash, doc) VALUES (${a}, ${k}, ${d}) ON CONFLICT (address) DO NOTHING`
      : `UPDATE agents SET key_hash = ${k}, doc = ${d}, version = version + 1 WHERE address = ${a} AND version = ${read}`, 1, '40001', changed) });
    // Later writes of this unit build on what it wrote itself.
    this.agentVersions.set(agent.address, read === null ? 0 : read + 1);
  }
  async listAgents() { return parseAll<AgentRecord>((await this.q('SELECT doc FROM agents ORDER BY address', [], ['agents'])).rows); }

  async getIntent(intentId: string) {
    if (!this.writing) return parse<Intent>((await this.q('SELECT doc FROM intents WHERE intent_id = $1', [intentId], ['intents'])).rows);
    if (this.intents.has(intentId)) return this.intents.get(intentId);
    const intent = parse<Intent>((await this.q('SELECT doc FROM intents WHERE intent_id = $1 FOR UPDATE', [intentId], ['intents'])).rows);
    this.intents.set(intentId, intent);
    return intent;
  }
  private intentValues(intent: Intent): string {
    return `(${lit(intent.intent_id)}, ${lit(intent.from_agent)}, ${lit(intent.to_agent)}, ${lit(intent.status)}, ${lit(JSON.stringify(intent))})`;
  }
  async insertIntent(intent: Intent) {
    this.intents.set(intent.intent_id, intent);
    this.open.set(intent.intent_id, undefined);
    await this.w({ table: 'intents', head: 'INSERT INTO intents (intent_id, from_agent, to_agent, status, doc) VALUES', sql: this.intentValues(intent), key: `i:${intent.intent_id}` });
  }
  async updateIntent(intent: Intent) {
    if (this.intents.has(intent.intent_id)) this.intents.set(intent.intent_id, intent);
    await this.w({
      table: 'intents', key: `i:${intent.intent_id}`, insertAs: this.intentValues(intent),
      sql: guarded(`UPDATE intents SET status = ${lit(intent.status)}, doc = ${lit(JSON.stringify(intent))} WHERE intent_id = ${lit(intent.intent_id)}`, 1, 'P0002', 'no such intent'),
    });
  }
  async listIntents(query: IntentQuery): Promise<Page<Intent>> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (value: unknown) => { args.push(value); return `$${args.length}`; };
    if (query.cursor) where.push(`ord < ${arg(query.cursor)}`);
    if (query.statuses) where.push(`status = ANY(${arg(query.statuses)})`);
    const p = query.participant;
    if (p?.role === 'sender') where.push(`from_agent = ${arg(p.address)}`);
    if (p?.role === 'receiver') where.push(`to_agent = ${arg(p.address)}`);
    if (p?.role === 'any') { const a = arg(p.address); where.push(`(from_agent = ${a} OR to_agent = ${a})`); }
    const sql = `SELECT ord, doc FROM intents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ord DESC LIMIT ${arg(query.limit + 1)}`;
    const { rows } = await this.q(sql, args, ['intents']);
    const items = rows.slice(0, query.limit);
    return { items: parseAll<Intent>(items), nextCursor: rows.length > query.limit ? String(items[items.length - 1].ord) : null };
  }
  async appendEvent(event: IntentEvent) {
    await this.w({ table: 'events', head: 'INSERT INTO events (intent_id, seq, doc) VALUES', sql: `(${lit(event.intent_id)}, ${lit(event.seq)}, ${lit(JSON.stringify(event))})` });
  }
  async listEvents(intentId: string, since: number, limit?: number) {
    const { rows } = await this.q('SELECT doc FROM events WHERE intent_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [intentId, since, limit ?? null], ['events']);
    return parseAll<IntentEvent>(rows);
  }

  /** Intent first: lock the intent a delivery or timer belongs to before reading the row itself. */
  private async lockIntentOf(table: 'deliveries' | 'timers', column: string, value: unknown): Promise<void> {
    if (!this.writing) return;
    const { rows } = await this.q<DocRow & { intent_id: string }>(`SELECT intent_id, doc FROM intents WHERE intent_id = (SELECT intent_id FROM ${table} WHERE ${column} = $1) FOR UPDATE`, [value], ['intents', table]);
    if (rows[0] && !this.intents.has(rows[0].intent_id)) this.intents.set(rows[0].intent_id, JSON.parse(rows[0].doc) as Intent);
  }

  /** Keeps the open-delivery cache of a locked intent in step with a delivery this unit wrote. */
  private wroteDelivery(d: DeliveryRecord, inserted: boolean): void {
    if (!this.open.has(d.intent_id)) return;
    const isOpen = d.state === 'pending' || d.state === 'leased';
    const current = this.open.get(d.intent_id);
    if (inserted || current?.delivery_id === d.delivery_id) this.open.set(d.intent_id, isOpen ? d : undefined);
    else if (isOpen) this.open.delete(d.intent_id);
  }

  private deliveryValues(d: DeliveryRecord): string {
    return `(${lit(d.delivery_id)}, ${lit(d.intent_id)}, ${lit(d.agent)}, ${lit(d.state)}, ${lit(d.agent_seq)}, ${lit(JSON.stringify(d))})`;
  }
  async insertDelivery(d: DeliveryRecord) {
    this.wroteDelivery(d, true);
    await this.w({ table: 'deliveries', head: 'INSERT INTO deliveries (delivery_id, intent_id, agent, state, agent_seq, doc) VALUES', sql: this.deliveryValues(d), key: `d:${d.delivery_id}` });
  }
  async updateDelivery(d: DeliveryRecord) {
    this.wroteDelivery(d, false);
    await this.w({
      table: 'deliveries', key: `d:${d.delivery_id}`, insertAs: this.deliveryValues(d),
      sql: `UPDATE deliveries SET state = ${lit(d.state)}, agent_seq = ${lit(d.agent_seq)}, doc = ${lit(JSON.stringify(d))} WHERE delivery_id = ${lit(d.delivery_id)}`,
    });
  }
  async getDelivery(deliveryId: string) {
    await this.lockIntentOf('deliveries', 'delivery_id', deliveryId);
    return parse<DeliveryRecord>((await this.q('SELECT doc FROM deliveries WHERE delivery_id = $1', [deliveryId], ['deliveries'])).rows);
  }
  async openDelivery(intentId: string) {
    if (this.open.has(intentId)) return this.open.get(intentId);
    const { rows } = await this.q("SELECT doc FROM deliveries WHERE intent_id = $1 AND state IN ('pending', 'leased') ORDER BY ord DESC LIMIT 1", [intentId], ['deliveries']);
    const open = parse<DeliveryRecord>(rows);
    // Only while this unit holds the intent can nobody else open or close its deliveries.
    if (this.writing && this.intents.get(intentId) !== undefined) this.open.set(intentId, open);
    return open;
  }
  async pendingDeliveries(agent: string, limit: number) {
    // A claim: rows another process is claiming (or whose intent it is writing) are skipped, not waited for.
    if (!this.writing) return parseAll<DeliveryRecord>((await this.q("SELECT doc FROM deliveries WHERE agent = $1 AND state = 'pending' ORDER BY ord LIMIT $2", [agent, limit], ['deliveries'])).rows);
    // The intents come along, locked: the claim reads each of them next.
    const { rows } = await this.q<DocRow & { intent: string }>(`SELECT d.doc, i.doc AS intent FROM deliveries d JOIN intents i ON i.intent_id = d.intent_id
         WHERE d.agent = $1 AND d.state = 'pending' ORDER BY d.ord LIMIT $2 FOR UPDATE OF d, i SKIP LOCKED`, [agent, limit], ['deliveries', 'intents']);
    for (const row of rows) {
      const intent = JSON.parse(row.intent) as Intent;
      if (!this.intents.has(intent.intent_id)) this.intents.set(intent.intent_id, intent);
    }
    return parseAll<DeliveryRecord>(rows);
  }
  async leasedDeliveries(agent: string, since: number) {
    const { rows } = await this.q("SELECT doc FROM deliveries WHERE agent = $1 AND state = 'leased' AND agent_seq > $2 ORDER BY agent_seq", [agent, since], ['deliveries']);
    return parseAll<DeliveryRecord>(rows);
  }

  async getIdempotency(scope: string, key: string) {
    return parse<IdempotencyRecord>((await this.q('SELECT doc FROM idempotency WHERE scope = $1 AND key = $2', [scope, key], ['idempotency'])).rows);
  }
  async putIdempotency(record: IdempotencyRecord) {
    // Only an expired record is replaced; a live one means another unit won the race (retry → replay).
    await this.w({
      table: 'idempotency',
      sql: guarded(`INSERT INTO idempotency (scope, key, created_at_ms, doc) VALUES (${lit(record.scope)}, ${lit(record.key)}, ${lit(record.created_at_ms)}, ${lit(JSON.stringify(record))})
        ON CONFLICT (scope, key) DO UPDATE SET created_at_ms = excluded.created_at_ms, doc = excluded.doc
        WHERE idempotency.created_at_ms <= excluded.created_at_ms - ${IDEMPOTENCY_TTL_SECONDS * 1000}`, 1, '40001', `idempotency key ${record.key} taken concurrently`),
    });
  }

  async addTimer(t: NewTimer) {
    const id = await this.store.nextTimerId();
    // created_by names the process that armed it in memory: the others find it by polling (backstop).
    await this.w({
      table: 'timers', head: 'INSERT INTO timers (id, due_at, kind, intent_id, data, created_by) VALUES',
      sql: `(${id}, ${lit(t.due_at)}, ${lit(t.kind)}, ${lit(t.intent_id)}, ${lit(JSON.stringify(t.data))}, ${lit(this.store.processId)})`,
    });
    return id;
  }
  async deleteTimer(id: number) {
    await this.lockIntentOf('timers', 'id', id);
    return (await this.q('DELETE FROM timers WHERE id = $1', [id], ['timers'])).rowCount > 0;
  }
  async cancelTimers(intentId: string, kind?: string) {
    await this.w({ table: 'timers', sql: `DELETE FROM timers WHERE intent_id = ${lit(intentId)}${kind ? ` AND kind = ${lit(kind)}` : ''}` });
  }
  async dueTimers(now: number, limit: number) {
    const { rows } = await this.q<TimerRow>('SELECT id, due_at, kind, intent_id, data FROM timers WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2', [now, limit], ['timers']);
    return rows.map(toTimer);
  }
  async nextTimerDue() {
    // Timers another process holds a live claim on are its business until the claim runs out.
    const { rows } = await this.q<{ due: string | null }>('SELECT min(due_at) AS due FROM timers WHERE claimed_until IS NULL OR claimed_until < $1', [Date.now()], ['timers']);
    return rows[0]?.due === null || rows[0]?.due === undefined ? undefined : Number(rows[0].due);
  }

  async putDeadLetter(l: DeadLetter) {
    // DLV-024: a fresh entry replaces the old one (and sorts as newest); marking it redelivered updates in place.
    const doc = lit(JSON.stringify(l));
    if (l.redelivered_at !== null) {
      await this.w({ table: 'dead_letters', sql: `UPDATE dead_letters SET doc = ${doc} WHERE intent_id = ${lit(l.intent_id)}` });
      return;
    }
    await this.w({ table: 'dead_letters', sql: `DELETE FROM dead_letters WHERE intent_id = ${lit(l.intent_id)}` });
    await this.w({ table: 'dead_letters', sql: `INSERT INTO dead_letters (intent_id, agent, doc) VALUES (${lit(l.intent_id)}, ${lit(l.to_agent)}, ${doc})` });
  }
  async getDeadLetter(intentId: string) {
    return parse<DeadLetter>((await this.q('SELECT doc FROM dead_letters WHERE intent_id = $1', [intentId], ['dead_letters'])).rows);
  }
  async listDeadLetters(query: { agent?: string; cursor?: string; limit: number }): Promise<Page<DeadLetter>> {
    const { rows } = await this.q('SELECT ord, doc FROM dead_letters WHERE ($1::bigint IS NULL OR ord < $1) AND ($2::text IS NULL OR agent = $2) ORDER BY ord DESC LIMIT $3',
      [query.cursor ?? null, query.agent ?? null, query.limit + 1], ['dead_letters']);
    const items = rows.slice(0, query.limit);
    return { items: parseAll<DeadLetter>(items), nextCursor: rows.length > query.limit ? String(items[items.length - 1].ord) : null };
  }

  async putThread(t: ThreadRecord) {
    await this.w({ table: 'threads', sql: `INSERT INTO threads (owner, thread_id, doc) VALUES (${lit(t.owner_agent)}, ${lit(t.thread_id)}, ${lit(JSON.stringify(t))})
      ON CONFLICT (owner, thread_id) DO UPDATE SET doc = excluded.doc` });
  }
  async getThread(owner: string, threadId: string) {
    return parse<ThreadRecord>((await this.q('SELECT doc FROM threads WHERE owner = $1 AND thread_id = $2', [owner, threadId], ['threads'])).rows);
  }
  async listThreads(query: { owner?: string; threadId?: string }) {
    // Every terminal write asks by thread id alone: that one gets its own statement (and index).
    const { rows } = query.owner === undefined && query.threadId !== undefined
      ? await this.q('SELECT doc FROM threads WHERE thread_id = $1 ORDER BY ord DESC', [query.threadId], ['threads'])
      : await this.q('SELECT doc FROM threads WHERE ($1::text IS NULL OR owner = $1) AND ($2::text IS NULL OR thread_id = $2) ORDER BY ord DESC',
        [query.owner ?? null, query.threadId ?? null], ['threads']);
    return parseAll<ThreadRecord>(rows);
  }

  onCommit(cb: () => void) { this.commits.push(cb); }
  beforeCommit(cb: () => void) { this.precommits.push(cb); }
}

export interface PostgresStoreOptions {
  /** Connections per process (default env AXP_PG_POOL or 10). */
  poolSize?: number;
  /** How long a claimed timer stays another process's before it may be claimed again (default 5 s). */
  timerClaimMs?: number;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  /** Units run one at a time in submission order (grouped into batches) and settle in that order. */
  readonly ordered = true;
  /** Tells this process's notifications and timers from other processes': "<OS pid>.<uuid>". */
  readonly processId = `${process.pid}.${randomUUID()}`;
  readonly pool: pg.Pool;
  readonly ready: Promise<void>;
  readonly stats: PostgresStats = { roundTrips: 0, statements: 0, commits: 0, units: 0, replays: 0 };
  private readonly timerClaimMs: number;
  private readonly closers: (() => Promise<void> | void)[] = [];
  private readonly queue = new SerialQueue();
  private batch: Batch | undefined;
  private timerIds: number[] = [];
  private closed = false;

  constructor(readonly url: string, options: PostgresStoreOptions = {}) {
    const max = options.poolSize ?? (Number(process.env.AXP_PG_POOL) || 10);
    // Bounded connects: while the database is down a request fails fast (503) instead of hanging.
    this.pool = new pg.Pool({
      connectionString: url, max, application_name: 'axp-server', connectionTimeoutMillis: 5000, keepAlive: true,
      // The buffered writes' literals rely on it (lit()); on by default since PostgreSQL 9.1, pinned here.
      options: '-c standard_conforming_strings=on',
    });
    // An idle client losing its server is reported here; the next checkout gets a fresh one.
    this.pool.on('error', () => {});
    this.timerClaimMs = options.timerClaimMs ?? 5000;
    this.ready = this.migrate();
    this.ready.catch(() => {});
  }

  /**
   * A pooled connection for a batch. The server ending it while it is checked out (a restart,
   * an administrator) is an 'error' event on it, which would end the process unheard: the
   * statement in flight fails with that error instead, and the pool drops the connection.
   */
  async checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (!listened.has(client)) {
      listened.add(client);
      client.on('error', () => {});
    }
    return client;
  }

  count(roundTrips: number, statements: number): void {
    this.stats.roundTrips += roundTrips;
    this.stats.statements += statements;
  }

  /** One counted statement on any pooled connection (the cluster layer's NOTIFY, clock, scans). */
  async query<R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.count(1, 1);
    return this.pool.query<R>(prepared(sql, args));
  }

  /** A timer id from this process's block of the sequence (a round trip per TIMER_IDS_PER_FETCH timers). */
  async nextTimerId(): Promise<number> {
    if (this.timerIds.length === 0) {
      const { rows } = await this.query<{ id: string }>('SELECT nextval(\'timers_id_seq\') AS id FROM generate_series(1, $1)', [TIMER_IDS_PER_FETCH]);
      this.timerIds = rows.map((r) => Number(r.id)).sort((a, b) => b - a);
    }
    return this.timerIds.pop() as number;
  }

  /** Applies what is missing of MIGRATIONS, one process at a time (advisory lock). */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS axp_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
        const { rows } = await client.query<{ version: number }>('SELECT version FROM axp_migrations');
        const applied = new Set(rows.map((r) => r.version));
        for (const m of MIGRATIONS) {
          if (applied.has(m.version)) continue;
          await client.query('BEGIN');
          try {
            await client.query(m.sql);
            await client.query('INSERT INTO axp_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK').catch(() => {});
            throw new Error(`postgres migration ${m.version} (${m.name}) failed: ${(error as Error).message}`);
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      }
    } finally {
      client.release();
    }
  }

  write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const unit: Unit = { fn, resolve: resolve as (value: unknown) => void, reject };
      void this.queue.run(() => this.runInBatch(unit));
    });
  }

  /** Runs a unit inside the open batch (opening one for this event-loop turn if none is open). */
  private async runInBatch(unit: Unit): Promise<void> {
    try {
      await this.ready;
      if (this.closed) throw new Error('store closed');
    } catch (error) {
      unit.reject(error);
      return;
    }
    if (!this.batch) {
      const opened = new Batch(this);
      this.batch = opened;
      setImmediate(() => this.endTurn(opened));
    }
    const batch = this.batch;
    batch.units.push(unit);
    this.stats.units += 1;
    // A failed batch runs every unit again alone at its end; this one waits for that too.
    if (batch.failed) return;
    const tx = new PgTx(this, batch);
    const mark = batch.writes.length;
    batch.unitStart = mark;
    const flushes = batch.flushes;
    try {
      const value = await unit.fn(tx);
      unit.done = { value, commits: tx.commits };
      if (tx.precommits.length > 0) batch.precommits.push(...tx.precommits);
    } catch (error) {
      // Nothing of this unit left the process and nothing failed: drop its writes, answer it alone.
      if (!batch.failed && batch.flushes === flushes) {
        batch.writes.length = mark;
        batch.units.pop();
        unit.reject(error);
        return;
      }
      batch.failed ??= error;
    }
  }

  /**
   * The end of the turn that opened the batch: its beforeCommit callbacks run first (the units they
   * start queue ahead of the commit and join the batch), then the batch commits.
   */
  private endTurn(batch: Batch): void {
    const early = batch.precommits;
    batch.precommits = [];
    try {
      for (const cb of early) cb();
    } finally {
      void this.queue.run(() => this.commit(batch));
    }
  }

  private async commit(batch: Batch): Promise<void> {
    if (this.batch === batch) this.batch = undefined;
    const late = batch.precommits;
    if (!batch.failed) {
      try {
        if (batch.began || batch.writes.length > 0) {
          await batch.send(true);
          this.stats.commits += 1;
        }
        batch.release();
        for (const unit of batch.units) unit.resolve(unit.done?.value);
        for (const unit of batch.units) for (const cb of unit.done?.commits ?? []) cb();
        for (const cb of late) cb();
        return;
      } catch (error) {
        batch.failed = error;
      }
    }
    await batch.rollback();
    if (batch.units.length === 0) return;
    // Run every unit of the batch again, alone and in order: one unit's failure decides only its own answer.
    this.stats.replays += 1;
    for (const unit of batch.units) await this.runAlone(unit);
  }

  /** One unit in a transaction of its own, retried on conflicts (the replay of a failed batch). */
  private async runAlone(unit: Unit): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const batch = new Batch(this);
      const tx = new PgTx(this, batch);
      try {
        if (this.closed) throw new Error('store closed');
        const value = await unit.fn(tx);
        if (batch.failed) throw batch.failed;
        await batch.send(true);
        this.stats.commits += 1;
        batch.release();
        unit.resolve(value);
        for (const cb of [...tx.precommits, ...tx.commits]) cb();
        return;
      } catch (error) {
        await batch.rollback();
        // A statement that failed may have been caught inside fn; its error decides.
        if (attempt < MAX_ATTEMPTS && retryable(batch.failed ?? error)) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
          continue;
        }
        unit.reject(error);
        return;
      }
    }
  }

  async readSetting(name: string): Promise<string | undefined> {
    await this.ready;
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM server_settings WHERE name = $1', [name]);
    return rows[0]?.value;
  }

  /** With ifAbsent, processes that start together all end with the value of the first (ON CONFLICT DO NOTHING, then read). */
  async writeSetting(name: string, value: string, options: { ifAbsent?: boolean } = {}): Promise<string> {
    await this.ready;
    await this.pool.query(options.ifAbsent
      ? 'INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING'
      : 'INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
    return (await this.readSetting(name))!;
  }

  /** Reads run outside a transaction, one statement at a time, and never lock. */
  async read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    await this.ready;
    return fn(new PgTx(this));
  }

  /**
   * Claims up to `limit` timers due by `now` (the clock's time) for this process: they are leased
   * (claimed_until, wall time) and skipped by every other process until fired or the lease ends.
   */
  async claimDueTimers(now: number, limit: number): Promise<TimerRecord[]> {
    await this.ready;
    const wall = Date.now();
    const { rows } = await this.query<TimerRow>(
      `UPDATE timers SET claimed_until = $3 WHERE id IN (
         SELECT id FROM timers WHERE due_at <= $1 AND (claimed_until IS NULL OR claimed_until < $2)
         ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING id, due_at, kind, intent_id, data`, [now, wall, wall + this.timerClaimMs, limit]);
    return rows.map(toTimer).sort((a, b) => a.due_at - b.due_at || a.id - b.id);
  }

  /** Runs at close, before the pool ends (the cluster's listener and backstops). */
  onClose(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const fn of this.closers.splice(0)) await fn();
    // Units already submitted finish, and their batch commits, first.
    await this.queue.run(async () => undefined);
    while (this.batch) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.queue.run(async () => undefined);
    }
    this.closed = true;
    await this.ready.catch(() => {});
    await this.pool.end();
  }
}
