// The PostgreSQL engine: several server processes share one database.
//
// Group commit, as in the SQLite store: the write units one event-loop turn produces run one after
// another inside one READ COMMITTED transaction on one connection, and share its COMMIT. Inside a
// unit, reads go to the database at once (prepared statements); writes are buffered and sent
// together, as one multi-statement round trip, when a later read needs them (a read of a table
// with buffered writes: then the writes and the read share the round trip, and so does the BEGIN)
// or with the COMMIT itself. Writes of one kind merge into one statement (multi-row inserts,
// updates from a VALUES list), and an insert or update followed by an update of the same row is
// sent as its last state.
//
// What a batch has read or written it remembers for its later units (View): the rows of intents
// it holds locked or inserted, with their open delivery and their inbox threads (fetched with the
// lock, in the same round trip), and the agents it read or wrote (versioned: a later unit's write
// is checked against the version the batch left, so another process's change still fails it).
// Units also say what they will read (WriteOptions.reads: the intent a result, ack or cancel
// loads, the agent a create or a claim reads), and a batch's read fetches that for every unit
// still to run in it, the intents locked in id order, in the same round trip. Under load a batch
// then needs one read round trip and its COMMIT, however many units it carries.
// Reads outside units (a request's API key, a poll's agent) that arrive in one turn share one
// round trip too (PointReads).
//
// Lanes: a process runs two such transactions side by side (each its own serial queue, batch and
// connection), so that one runs while the other waits for PostgreSQL. Units with one affinity (an
// agent's claims, the creates of intents to it) always take the same lane: they keep their order,
// a claim woken before a create's commit joins that create's batch, and two lanes never race for
// one agent's seq. Between lanes, as between processes, the locks and checks below decide.
// The COMMIT runs the beforeCommit callbacks its units registered after the end of the turn (a
// create that was waiting for a read) and goes behind the units they start, a few rounds at most,
// so a create's claim shares its COMMIT; what a callback defers with afterCommit (the cluster's
// NOTIFY) runs once the COMMIT is done.
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
import type { IntentQuery, NewTimer, Page, Store, StoreTx, UnitReads, WriteOptions } from './store.js';
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
  /** Milliseconds write units waited for their reads' round trips (the serial part of a batch). */
  readWaitMs: number;
  /** Milliseconds waited for COMMIT round trips (the queue waits with them). */
  commitWaitMs: number;
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

const at = <R>(row: R | undefined): R[] => (row ? [row] : []);
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

const OPEN_DELIVERY = "SELECT doc FROM deliveries WHERE intent_id = $1 AND state IN ('pending', 'leased') ORDER BY ord DESC LIMIT 1";
const THREADS_OF_INTENT = 'SELECT doc FROM threads WHERE thread_id = $1 ORDER BY ord DESC';

// What a batch fetches ahead for its units (Batch.ahead). The intents of one fetch are locked in id
// order, so two fetches that overlap take their common rows in the same order (a cycle with locks a
// batch took earlier is still possible: PostgreSQL detects it and the batch is replayed); the open
// deliveries and the threads follow the lock, each statement with a snapshot taken after it.
const LOCK_INTENTS = 'SELECT intent_id, doc FROM intents WHERE intent_id = ANY($1::text[]) ORDER BY intent_id FOR UPDATE';
const OPEN_DELIVERIES = "SELECT DISTINCT ON (intent_id) intent_id, doc FROM deliveries WHERE intent_id = ANY($1::text[]) AND state IN ('pending', 'leased') ORDER BY intent_id, ord DESC";
const THREADS_OF_INTENTS = 'SELECT thread_id, doc FROM threads WHERE thread_id = ANY($1::text[]) ORDER BY ord DESC';
const AGENTS_AT = 'SELECT address, doc, version FROM agents WHERE address = ANY($1::text[])';
const FETCHED: Table[] = ['intents', 'deliveries', 'threads', 'agents'];
/** Times a batch's commit is put back behind units its late beforeCommit callbacks started, at most. */
const MAX_CLOSINGS = 16;
/** Keys of one kind fetched ahead in one round trip, at most (the rest are fetched by a later read). */
const AHEAD_LIMIT = 128;

/** A value as an SQL literal, arrays too (a read inlined into a multi-statement round trip). */
function literal(value: unknown): string {
  if (value === undefined) return 'NULL';
  if (Array.isArray(value)) return `ARRAY[${value.map((v) => literal(v)).join(', ')}]::text[]`;
  return lit(value as string | number | null);
}
/** A prepared statement's text with its arguments written in ($n → literal). */
const inline = (sql: string, args: unknown[]) => sql.replace(/\$(\d+)/g, (_m, n: string) => literal(args[Number(n) - 1]));

/** A value a view knows, boxed: known to be absent (undefined) differs from not known. */
interface Known<T> { value: T }
const FORGOTTEN = Symbol('forgotten');

/**
 * What one unit knows of some rows, over what its batch knows: the batch's map holds what its
 * finished units read and wrote; a unit's own reads and writes join it only when the unit returns,
 * so a unit dropped from the batch leaves nothing behind.
 */
class View<T> {
  private readonly own = new Map<string, Known<T> | typeof FORGOTTEN>();
  constructor(private readonly base: Map<string, Known<T>>) {}
  known(key: string): Known<T> | undefined {
    const own = this.own.get(key);
    if (own !== undefined) return own === FORGOTTEN ? undefined : own;
    return this.base.get(key);
  }
  set(key: string, value: T): void { this.own.set(key, { value }); }
  forget(key: string): void { this.own.set(key, FORGOTTEN); }
  /** The unit returned: what it knows becomes its batch's. */
  merge(): void {
    for (const [key, known] of this.own) {
      if (known === FORGOTTEN) this.base.delete(key);
      else this.base.set(key, known);
    }
  }
}

/** An agent as a batch knows it: the record (undefined: absent) and the version its row has in this transaction. */
interface AgentState { agent: AgentRecord | undefined; version: number | null }
const agentState = (row: DocRow | undefined): AgentState => ({ agent: row ? (JSON.parse(row.doc) as AgentRecord) : undefined, version: row ? Number(row.version) : null });

/**
 * Point reads outside write units (a request's API-key lookup, a poll's agent) that arrive in one
 * event-loop turn share one round trip (`= ANY($1)`): under load a turn carries several requests.
 * Each is still read from the database when its request asks (a key rotated by another process
 * fails at once, SEC-006); only the round trip is shared.
 */
class PointReads<Row extends object> {
  private waiting = new Map<string, { resolve: (row: Row | undefined) => void; reject: (error: unknown) => void }[]>();
  constructor(private readonly store: PostgresStore, private readonly sql: string, private readonly column: keyof Row & string) {}

  get(key: string): Promise<Row | undefined> {
    const k = noNul(key);
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) setImmediate(() => void this.flush());
      const list = this.waiting.get(k);
      if (list) list.push({ resolve, reject });
      else this.waiting.set(k, [{ resolve, reject }]);
    });
  }

  private async flush(): Promise<void> {
    const waiting = this.waiting;
    this.waiting = new Map();
    try {
      const { rows } = await this.store.query<Row & pg.QueryResultRow>(this.sql, [[...waiting.keys()]]);
      const byKey = new Map(rows.map((r) => [String(r[this.column]), r]));
      for (const [key, list] of waiting) for (const w of list) w.resolve(byKey.get(key));
    } catch (error) {
      for (const list of waiting.values()) for (const w of list) w.reject(error);
    }
  }
}

/**
 * Writes of one kind that merge into one statement when they meet in a flush: the statement is
 * head + the writes' rows joined by ", " + tail(number of rows).
 */
interface Merge { head: string; tail?: (rows: number) => string; insert?: true }

/** A buffered write: a whole statement, or (with `merge`) one row of a merged one. */
interface Write {
  table: Table;
  sql: string;
  merge?: Merge;
  /** For coalescing: the row this write sets in full (table + key). */
  key?: string;
  /** An update: its values as an insert row, for when the row's insert is still buffered. */
  insertAs?: string;
  /** A delete of an intent's timers (some: of one kind); a later delete of all of them makes one of some redundant. */
  timers?: { intent: string; some: boolean };
}

const INSERT_INTENTS: Merge = { head: 'INSERT INTO intents (intent_id, from_agent, to_agent, status, doc) VALUES', insert: true };
const INSERT_EVENTS: Merge = { head: 'INSERT INTO events (intent_id, seq, doc) VALUES', insert: true };
const INSERT_DELIVERIES: Merge = { head: 'INSERT INTO deliveries (delivery_id, intent_id, agent, state, agent_seq, doc) VALUES', insert: true };
const INSERT_TIMERS: Merge = { head: 'INSERT INTO timers (id, due_at, kind, intent_id, data, created_by) VALUES', insert: true };
// Each intent updated must exist: the count is checked inside PostgreSQL (axp_expect).
const UPDATE_INTENTS: Merge = {
  head: 'WITH v (intent_id, status, doc) AS (VALUES',
  tail: (rows) => `), w AS (UPDATE intents i SET status = v.status, doc = v.doc FROM v WHERE i.intent_id = v.intent_id RETURNING 1)
    SELECT axp_expect((SELECT count(*) FROM w)::int, ${rows}, 'P0002', 'no such intent')`,
};
const UPDATE_DELIVERIES: Merge = {
  head: 'UPDATE deliveries d SET state = v.state, agent_seq = v.agent_seq::bigint, doc = v.doc FROM (VALUES',
  tail: () => ') AS v (delivery_id, state, agent_seq, doc) WHERE d.delivery_id = v.delivery_id',
};
const DELETE_TIMERS_OF: Merge = { head: 'DELETE FROM timers WHERE intent_id IN (', tail: () => ')' };

/**
 * A write that must change exactly `rows` rows, checked inside PostgreSQL (axp_expect, migration 4)
 * so that a failed check aborts the transaction before the COMMIT sent with it.
 */
function guarded(sql: string, rows: number, code: string, message: string): string {
  return `WITH w AS (${sql} RETURNING 1) SELECT axp_expect((SELECT count(*) FROM w)::int, ${rows}, ${lit(code)}, ${lit(message)})`;
}

/**
 * A delete of some of an intent's timers followed, later in the buffer, by a delete of all of them
 * is left out: the later one deletes whatever it would have (timer ids are never reused, and a
 * read between the two would have sent the first already).
 */
function withoutRedundantTimerDeletes(writes: Write[]): Write[] {
  if (!writes.some((w) => w.timers?.some)) return writes;
  const wholly = new Set<string>();
  const kept: Write[] = [];
  for (let i = writes.length - 1; i >= 0; i--) {
    const w = writes[i];
    if (w.timers && !w.timers.some) wholly.add(w.timers.intent);
    else if (w.timers?.some && wholly.has(w.timers.intent)) continue;
    kept.push(w);
  }
  return kept.reverse();
}

/** One transaction: the units of one event-loop turn. */
class Batch {
  client: pg.PoolClient | undefined;
  began = false;
  writes: Write[] = [];
  /** Times the buffer was sent before the commit (a unit that throws after one cannot be dropped alone; the commit's own send counts too). */
  flushes = 0;
  /** A statement failed: the transaction is aborted, every unit runs again alone. */
  failed: unknown;
  /** Every unit of the batch in submission order, with what settles it. */
  readonly units: Unit[] = [];
  precommits: (() => void)[] = [];
  /** Times the commit was put back behind the units its late beforeCommit callbacks started. */
  closings = 0;
  /** beforeCommit callbacks that started a unit in another lane: run again after the commit. */
  readonly again: (() => void)[] = [];
  /** What beforeCommit callbacks put off until the COMMIT is done (PostgresStore.afterCommit). */
  readonly deferred: (() => void)[] = [];
  /** Tables with buffered writes. */
  readonly dirty = new Set<Table>();
  /** Where the running unit's buffered writes start. */
  unitStart = 0;
  /** Agents read or written in this transaction (versioned: others may still change them; the version check tells). */
  readonly agents = new Map<string, Known<AgentState>>();
  /** Intents this transaction holds locked (FOR UPDATE) or inserted: nobody else changes them before the COMMIT. */
  readonly intents = new Map<string, Known<Intent | undefined>>();
  /** The open delivery of an intent in `intents` (its deliveries change only under the intent's lock). */
  readonly open = new Map<string, Known<DeliveryRecord | undefined>>();
  /** The inbox threads of an intent in `intents`, newest first (thread_id is the intent id; written only under its lock). */
  readonly threads = new Map<string, Known<ThreadRecord[]>>();
  /** The lane order of the batch's last unit, once its COMMIT is queued (units after it run in the next batch). */
  lastOrder = Infinity;

  /** lane: where the units still to run in this batch wait (a replayed unit's batch has none). */
  constructor(readonly store: PostgresStore, private readonly lane?: Lane) {}

  /**
   * What the next round trip fetches ahead: `extra`, and what the units of this lane still to run
   * in this batch said they will read (WriteOptions.reads), less what the batch knows. Under load a
   * batch then reads its units' intents (locked) and agents in its first round trip, instead of
   * one round trip per unit.
   */
  private ahead(extra?: UnitReads): { intents: string[]; agents: string[] } {
    const intents = new Set<string>();
    const agents = new Set<string>();
    const add = (reads: UnitReads | undefined) => {
      for (const id of reads?.intents ?? []) if (!this.intents.has(id) && intents.size < AHEAD_LIMIT) intents.add(id);
      for (const address of reads?.agents ?? []) if (!this.agents.has(address) && agents.size < AHEAD_LIMIT) agents.add(address);
    };
    add(extra);
    for (const unit of this.lane?.pending ?? []) if (unit.order <= this.lastOrder) add(unit.reads);
    return { intents: [...intents], agents: [...agents] };
  }

  /** Rows fetched ahead become the batch's: read after its own writes, intents under its lock. */
  private absorb(ahead: { intents: string[]; agents: string[] }, results: { rows: unknown[] }[]): void {
    let next = 0;
    if (ahead.intents.length > 0) {
      const [locked, open, threads] = results.slice(0, 3).map((r) => r.rows as (DocRow & { intent_id?: string; thread_id?: string })[]);
      next = 3;
      const intentDoc = new Map(locked.map((r) => [r.intent_id, r.doc]));
      const openDoc = new Map(open.map((r) => [r.intent_id, r.doc]));
      const threadsOf = new Map<string, ThreadRecord[]>();
      for (const r of threads) {
        const list = threadsOf.get(r.thread_id as string) ?? [];
        list.push(JSON.parse(r.doc) as ThreadRecord);
        threadsOf.set(r.thread_id as string, list);
      }
      for (const id of ahead.intents) {
        const doc = intentDoc.get(noNul(id));
        this.intents.set(id, { value: doc === undefined ? undefined : (JSON.parse(doc) as Intent) });
        if (doc === undefined) continue;
        const openRow = openDoc.get(noNul(id));
        this.open.set(id, { value: openRow === undefined ? undefined : (JSON.parse(openRow) as DeliveryRecord) });
        this.threads.set(id, { value: threadsOf.get(noNul(id)) ?? [] });
      }
    }
    if (ahead.agents.length > 0) {
      const rows = results[next].rows as (DocRow & { address: string })[];
      const byAddress = new Map(rows.map((r) => [r.address, r]));
      for (const address of ahead.agents) {
        this.agents.set(address, { value: agentState(byAddress.get(noNul(address))) });
      }
    }
  }

  /** Fetches `extra` (and what the batch's units still to run will read) into the batch. */
  async fetch(extra: UnitReads): Promise<void> {
    await this.queryAll([], [], extra);
  }

  async connection(): Promise<pg.PoolClient> {
    if (!this.client) this.client = await this.store.checkout();
    return this.client;
  }

  /** One read: a prepared statement, or inlined behind the BEGIN and the writes it must see. */
  async query<R>(sql: string, args: unknown[], reads: Table[]): Promise<{ rows: R[]; rowCount: number }> {
    return (await this.queryAll<R>([[sql, args]], reads))[0];
  }

  /**
   * Statements run one after another (each with its own snapshot, READ COMMITTED), in one round
   * trip: alone as a prepared statement when nothing has to go first; else in one simple-protocol
   * text behind the BEGIN (once per batch) and the buffered writes of the tables they read.
   */
  async queryAll<R>(statements: [sql: string, args: unknown[]][], reads: Table[], extra?: UnitReads): Promise<{ rows: R[]; rowCount: number }[]> {
    if (this.failed) throw this.failed;
    try {
      const client = await this.connection();
      const ahead = this.ahead(extra);
      const fetches: [sql: string, args: unknown[]][] = [];
      if (ahead.intents.length > 0) fetches.push([LOCK_INTENTS, [ahead.intents]], [OPEN_DELIVERIES, [ahead.intents]], [THREADS_OF_INTENTS, [ahead.intents]]);
      if (ahead.agents.length > 0) fetches.push([AGENTS_AT, [ahead.agents]]);
      const all = [...fetches, ...statements];
      if (all.length === 0) return [];
      const tables = fetches.length > 0 ? [...reads, ...FETCHED] : reads;
      const flush = this.writes.length > 0 && tables.some((t) => this.dirty.has(t));
      const started = performance.now();
      let results: { rows: R[]; rowCount: number }[];
      if (this.began && !flush && all.length === 1) {
        this.store.count(1, 1);
        const result = await client.query(prepared(all[0][0], all[0][1]));
        results = [{ rows: result.rows as R[], rowCount: result.rowCount ?? 0 }];
      } else {
        const head = this.drain(flush);
        const text = [...head, ...all.map(([sql, args]) => inline(sql, args))];
        this.store.count(1, text.length);
        const answer = (await client.query(text.join(';\n'))) as unknown as pg.QueryResult | pg.QueryResult[];
        const list = Array.isArray(answer) ? answer : [answer];
        results = list.slice(list.length - all.length).map((r) => ({ rows: r.rows as R[], rowCount: r.rowCount ?? 0 }));
      }
      this.store.stats.readWaitMs += performance.now() - started;
      this.absorb(ahead, results.slice(0, fetches.length));
      return results.slice(fetches.length);
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
        this.writes[i] = earlier.merge?.insert && !write.merge?.insert ? { ...earlier, sql: write.insertAs ?? earlier.sql } : write;
        return;
      }
    }
    this.writes.push(write);
    this.dirty.add(write.table);
  }

  /**
   * What goes first in the next round trip: BEGIN (once), then, with `writes`, the buffered writes;
   * the buffer is emptied. Writes of one kind merge into one statement (multi-row inserts, updates
   * from a VALUES list, one DELETE … IN) while no other statement on their table came between
   * them: each table's writes keep their order, and as every write touches its own table only (no
   * foreign keys, no triggers), moving one past another table's writes changes nothing.
   */
  private drain(writes: boolean): string[] {
    const sql: string[] = [];
    if (!this.began) { sql.push('BEGIN'); this.began = true; }
    if (!writes || this.writes.length === 0) return sql;
    const buffered = withoutRedundantTimerDeletes(this.writes);
    this.writes = [];
    this.unitStart = 0;
    this.dirty.clear();
    // A unit that throws after this cannot be dropped alone: its writes left the process.
    this.flushes += 1;
    interface Statement { table: Table; merge?: Merge; rows: string[]; keys: Set<string> }
    const statements: Statement[] = [];
    /** The statement each kind's next write may join. */
    const open = new Map<Merge, Statement>();
    for (const w of buffered) {
      const joinable = w.merge && open.get(w.merge);
      // One row twice in one statement is not allowed (an UPDATE … FROM would apply either).
      if (joinable && !(w.key && joinable.keys.has(w.key))) {
        joinable.rows.push(w.sql);
        if (w.key) joinable.keys.add(w.key);
        continue;
      }
      for (const [kind, statement] of open) if (statement.table === w.table) open.delete(kind);
      const statement: Statement = { table: w.table, merge: w.merge, rows: [w.sql], keys: new Set(w.key ? [w.key] : []) };
      statements.push(statement);
      if (w.merge) open.set(w.merge, statement);
    }
    for (const { merge, rows } of statements) sql.push(merge ? `${merge.head} ${rows.join(', ')}${merge.tail?.(rows.length) ?? ''}` : rows[0]);
    return sql;
  }

  /** Sends the buffered writes and the COMMIT in one round trip. */
  async send(): Promise<void> {
    const sql = this.drain(true);
    sql.push('COMMIT');
    const client = await this.connection();
    this.store.count(1, sql.length);
    const started = performance.now();
    try {
      await client.query(sql.join(';\n'));
      this.store.stats.commitWaitMs += performance.now() - started;
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
  /** What the unit said it will read (fetched ahead by its batch). */
  reads?: UnitReads;
  /** Its place in its lane's submission order. */
  order: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Set once fn returned in this batch. */
  done?: { value: unknown; commits: (() => void)[] };
}

class PgTx implements StoreTx {
  readonly commits: (() => void)[] = [];
  readonly precommits: (() => void)[] = [];
  // What this unit knows over its batch (a write unit only; reads outside one remember nothing).
  /** Agents as this unit read or wrote them, with the version their row has in the transaction. */
  private readonly agents: View<AgentState>;
  /** Intents the transaction holds locked or inserted, as last written: read once per batch. */
  private readonly intents: View<Intent | undefined>;
  /** The open delivery of an intent in `intents`, kept in step with the batch's own writes. */
  private readonly open: View<DeliveryRecord | undefined>;
  /** The threads of an intent in `intents`, kept in step with the batch's own writes. */
  private readonly threads: View<ThreadRecord[]>;

  /** batch: a write unit; without one, reads straight from the pool (no transaction, no locks). */
  constructor(private readonly store: PostgresStore, private readonly batch?: Batch) {
    const base = batch ?? { agents: new Map(), intents: new Map(), open: new Map(), threads: new Map() };
    this.agents = new View(base.agents);
    this.intents = new View(base.intents);
    this.open = new View(base.open);
    this.threads = new View(base.threads);
  }

  /** The unit returned: what it read and wrote is known to the rest of its batch. */
  merge(): void {
    this.agents.merge();
    this.intents.merge();
    this.open.merge();
    this.threads.merge();
  }

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

  /** A read agent row becomes known (a row already known stays as the batch left it: the read saw the same). */
  private noteAgent(address: string, row: DocRow | undefined): void {
    if (this.writing && !this.agents.known(address)) {
      this.agents.set(address, agentState(row));
    }
  }

  async getAgent(address: string) {
    if (!this.batch) return parse<AgentRecord>(at(await this.store.agentsByAddress.get(address)));
    const known = this.agents.known(address);
    if (known) return known.value.agent;
    await this.batch.fetch({ agents: [address] });
    return this.agents.known(address)?.value.agent;
  }
  async findAgentByKeyHash(keyHash: string) {
    if (!this.batch) return parse<AgentRecord>(at(await this.store.agentsByKeyHash.get(keyHash)));
    const { rows } = await this.q<DocRow & { address: string }>('SELECT address, doc, version FROM agents WHERE key_hash = $1', [keyHash], ['agents']);
    if (rows[0]) this.noteAgent(rows[0].address, rows[0]);
    return parse<AgentRecord>(rows);
  }
  async putAgent(agent: AgentRecord) {
    const doc = JSON.stringify(agent);
    const read = this.agents.known(agent.address)?.value.version;
    if (read === undefined) {
      // Written without a read: the version it leaves is only known from the answer.
      const { rows } = await this.q<{ version: string }>(`INSERT INTO agents (address, key_hash, doc) VALUES ($1, $2, $3) ON CONFLICT (address)
          DO UPDATE SET key_hash = excluded.key_hash, doc = excluded.doc, version = agents.version + 1 RETURNING version`, [agent.address, agent.key_hash, doc], ['agents']);
      this.agents.set(agent.address, { agent, version: Number(rows[0].version) });
      return;
    }
    const [a, k, d] = [lit(agent.address), lit(agent.key_hash), lit(doc)];
    const changed = `agent ${agent.address} changed concurrently`;
    await this.w({ table: 'agents', sql: guarded(read === null
      ? `INSERT INTO agents (address, key_hash, doc) VALUES (${a}, ${k}, ${d}) ON CONFLICT (address) DO NOTHING`
      : `UPDATE agents SET key_hash = ${k}, doc = ${d}, version = version + 1 WHERE address = ${a} AND version = ${read}`, 1, '40001', changed) });
    // Later writes of this batch build on what it wrote itself.
    this.agents.set(agent.address, { agent, version: read === null ? 0 : read + 1 });
  }
  async listAgents() { return parseAll<AgentRecord>((await this.q('SELECT doc FROM agents ORDER BY address', [], ['agents'])).rows); }

  async getIntent(intentId: string) {
    if (!this.batch) return parse<Intent>(at(await this.store.intentsById.get(intentId)));
    const known = this.intents.known(intentId);
    if (known) return known.value;
    // Locked, with what only this lock lets change (its open delivery, its threads), and with what
    // the batch's other units will read: one round trip.
    await this.batch.fetch({ intents: [intentId] });
    return this.intents.known(intentId)?.value;
  }
  private intentValues(intent: Intent): string {
    return `(${lit(intent.intent_id)}, ${lit(intent.from_agent)}, ${lit(intent.to_agent)}, ${lit(intent.status)}, ${lit(JSON.stringify(intent))})`;
  }
  async insertIntent(intent: Intent) {
    this.intents.set(intent.intent_id, intent);
    this.open.set(intent.intent_id, undefined);
    this.threads.set(intent.intent_id, []);
    await this.w({ table: 'intents', merge: INSERT_INTENTS, sql: this.intentValues(intent), key: `i:${intent.intent_id}` });
  }
  async updateIntent(intent: Intent) {
    if (this.intents.known(intent.intent_id)) this.intents.set(intent.intent_id, intent);
    await this.w({
      table: 'intents', key: `i:${intent.intent_id}`, insertAs: this.intentValues(intent), merge: UPDATE_INTENTS,
      sql: `(${lit(intent.intent_id)}, ${lit(intent.status)}, ${lit(JSON.stringify(intent))})`,
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
    await this.w({ table: 'events', merge: INSERT_EVENTS, sql: `(${lit(event.intent_id)}, ${lit(event.seq)}, ${lit(JSON.stringify(event))})` });
  }
  async listEvents(intentId: string, since: number, limit?: number) {
    const { rows } = await this.q('SELECT doc FROM events WHERE intent_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [intentId, since, limit ?? null], ['events']);
    return parseAll<IntentEvent>(rows);
  }

  /**
   * Intent first: the intent a delivery or timer belongs to is locked before the row itself is
   * read or changed (`then`, a statement with a snapshot taken after the lock), in one round trip.
   * Outside a write unit, `then` alone.
   */
  private async lockIntentOf(table: 'deliveries' | 'timers', column: string, value: unknown, then: string): Promise<{ rows: DocRow[]; rowCount: number }> {
    if (!this.batch) return this.q(then, [value], [table]);
    const [locked, result] = await this.batch.queryAll<DocRow & { intent_id: string }>([
      [`SELECT intent_id, doc FROM intents WHERE intent_id = (SELECT intent_id FROM ${table} WHERE ${column} = $1) FOR UPDATE`, [value]],
      [then, [value]],
    ], ['intents', table]);
    const row = locked.rows[0];
    if (row && !this.intents.known(row.intent_id)) this.intents.set(row.intent_id, JSON.parse(row.doc) as Intent);
    return result;
  }

  /** Keeps the open-delivery view of a locked intent in step with a delivery this unit wrote. */
  private wroteDelivery(d: DeliveryRecord, inserted: boolean): void {
    const known = this.open.known(d.intent_id);
    if (!known) return;
    const isOpen = d.state === 'pending' || d.state === 'leased';
    if (inserted || known.value?.delivery_id === d.delivery_id) this.open.set(d.intent_id, isOpen ? d : undefined);
    else if (isOpen) this.open.forget(d.intent_id);
  }

  private deliveryValues(d: DeliveryRecord): string {
    return `(${lit(d.delivery_id)}, ${lit(d.intent_id)}, ${lit(d.agent)}, ${lit(d.state)}, ${lit(d.agent_seq)}, ${lit(JSON.stringify(d))})`;
  }
  async insertDelivery(d: DeliveryRecord) {
    this.wroteDelivery(d, true);
    await this.w({ table: 'deliveries', merge: INSERT_DELIVERIES, sql: this.deliveryValues(d), key: `d:${d.delivery_id}` });
  }
  async updateDelivery(d: DeliveryRecord) {
    this.wroteDelivery(d, false);
    await this.w({
      table: 'deliveries', key: `d:${d.delivery_id}`, insertAs: this.deliveryValues(d), merge: UPDATE_DELIVERIES,
      sql: `(${lit(d.delivery_id)}, ${lit(d.state)}, ${lit(d.agent_seq)}, ${lit(JSON.stringify(d))})`,
    });
  }
  async getDelivery(deliveryId: string) {
    return parse<DeliveryRecord>((await this.lockIntentOf('deliveries', 'delivery_id', deliveryId, 'SELECT doc FROM deliveries WHERE delivery_id = $1')).rows);
  }
  async openDelivery(intentId: string) {
    const known = this.writing ? this.open.known(intentId) : undefined;
    if (known) return known.value;
    const { rows } = await this.q(OPEN_DELIVERY, [intentId], ['deliveries']);
    const open = parse<DeliveryRecord>(rows);
    // Only while the transaction holds the intent can nobody else open or close its deliveries.
    if (this.writing && this.intents.known(intentId)?.value !== undefined) this.open.set(intentId, open);
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
      if (!this.intents.known(intent.intent_id)) this.intents.set(intent.intent_id, intent);
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
      table: 'timers', merge: INSERT_TIMERS,
      sql: `(${id}, ${lit(t.due_at)}, ${lit(t.kind)}, ${lit(t.intent_id)}, ${lit(JSON.stringify(t.data))}, ${lit(this.store.processId)})`,
    });
    return id;
  }
  async deleteTimer(id: number) {
    return (await this.lockIntentOf('timers', 'id', id, 'DELETE FROM timers WHERE id = $1')).rowCount > 0;
  }
  async cancelTimers(intentId: string, kind?: string) {
    await this.w(kind === undefined
      ? { table: 'timers', merge: DELETE_TIMERS_OF, sql: lit(intentId), timers: { intent: intentId, some: false } }
      : { table: 'timers', sql: `DELETE FROM timers WHERE intent_id = ${lit(intentId)} AND kind = ${lit(kind)}`, timers: { intent: intentId, some: true } });
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
    const known = this.threads.known(t.thread_id);
    if (known) {
      // An existing (owner, thread) keeps its place (ON CONFLICT keeps ord); a new one is the newest.
      const at = known.value.findIndex((x) => x.owner_agent === t.owner_agent);
      this.threads.set(t.thread_id, at < 0 ? [t, ...known.value] : known.value.map((x, i) => (i === at ? t : x)));
    }
    await this.w({ table: 'threads', sql: `INSERT INTO threads (owner, thread_id, doc) VALUES (${lit(t.owner_agent)}, ${lit(t.thread_id)}, ${lit(JSON.stringify(t))})
      ON CONFLICT (owner, thread_id) DO UPDATE SET doc = excluded.doc` });
  }
  async getThread(owner: string, threadId: string) {
    const known = this.writing ? this.threads.known(threadId) : undefined;
    if (known) return known.value.find((t) => t.owner_agent === owner);
    return parse<ThreadRecord>((await this.q('SELECT doc FROM threads WHERE owner = $1 AND thread_id = $2', [owner, threadId], ['threads'])).rows);
  }
  async listThreads(query: { owner?: string; threadId?: string }) {
    // Every terminal write asks by thread id alone: that one gets its own statement (and index).
    const known = this.writing && query.owner === undefined && query.threadId !== undefined ? this.threads.known(query.threadId) : undefined;
    if (known) return known.value;
    const { rows } = query.owner === undefined && query.threadId !== undefined
      ? await this.q(THREADS_OF_INTENT, [query.threadId], ['threads'])
      : await this.q('SELECT doc FROM threads WHERE ($1::text IS NULL OR owner = $1) AND ($2::text IS NULL OR thread_id = $2) ORDER BY ord DESC',
        [query.owner ?? null, query.threadId ?? null], ['threads']);
    return parseAll<ThreadRecord>(rows);
  }

  onCommit(cb: () => void) { this.commits.push(cb); }
  beforeCommit(cb: () => void) { this.precommits.push(cb); }
}

/** One transaction at a time: its units in a serial queue, the batch of the current turn. */
class Lane {
  readonly queue = new SerialQueue();
  batch: Batch | undefined;
  /** Units submitted and not yet settled (a unit without an affinity goes to the lane with fewest). */
  waiting = 0;
  /** Units submitted with reads (WriteOptions.reads) that have not started: their batch fetches those ahead. */
  readonly pending = new Set<Unit>();
  /** Units submitted so far (a unit's order). */
  submitted = 0;
}

/** FNV-1a: a string's lane. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface PostgresStoreOptions {
  /**
   * Transactions in flight at once per process (default env AXP_PG_LANES or 2): while one waits
   * for a round trip, another runs. Units with one affinity (an agent's claims, the creates of
   * intents to it) always share a lane, so they keep their order and never conflict on the agent.
   */
  lanes?: number;
  /** Connections per process (default env AXP_PG_POOL or 10). */
  poolSize?: number;
  /** How long a claimed timer stays another process's before it may be claimed again (default 5 s). */
  timerClaimMs?: number;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  /** Units of one affinity run one at a time in submission order (grouped into batches) and settle in that order. */
  readonly ordered = true;
  /** Tells this process's notifications and timers from other processes': "<OS pid>.<uuid>". */
  readonly processId = `${process.pid}.${randomUUID()}`;
  readonly pool: pg.Pool;
  readonly ready: Promise<void>;
  readonly stats: PostgresStats = { roundTrips: 0, statements: 0, commits: 0, units: 0, replays: 0, readWaitMs: 0, commitWaitMs: 0 };
  private readonly timerClaimMs: number;
  private readonly closers: (() => Promise<void> | void)[] = [];
  private readonly lanes: Lane[];
  /**
   * The batch whose beforeCommit callbacks run now, and its lane: units they start without an
   * affinity join that batch; what they defer with afterCommit waits for its COMMIT.
   */
  private precommitting: { lane: Lane; batch: Batch } | undefined;
  /** A unit started by such a callback went to another lane, where this batch's writes are not visible yet. */
  private crossed = false;
  private timerIds: number[] = [];
  readonly agentsByAddress = new PointReads<DocRow & { address: string }>(this, 'SELECT address, doc FROM agents WHERE address = ANY($1::text[])', 'address');
  readonly agentsByKeyHash = new PointReads<DocRow & { key_hash: string }>(this, 'SELECT key_hash, doc FROM agents WHERE key_hash = ANY($1::text[])', 'key_hash');
  readonly intentsById = new PointReads<DocRow & { intent_id: string }>(this, 'SELECT intent_id, doc FROM intents WHERE intent_id = ANY($1::text[])', 'intent_id');
  private closed = false;

  constructor(readonly url: string, options: PostgresStoreOptions = {}) {
    const max = options.poolSize ?? (Number(process.env.AXP_PG_POOL) || 10);
    const lanes = Math.max(1, Math.min(max - 1, options.lanes ?? (Number(process.env.AXP_PG_LANES) || 2)));
    this.lanes = Array.from({ length: lanes }, () => new Lane());
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

  write<T>(fn: (tx: StoreTx) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    const lane = this.laneFor(options.affinity);
    if (this.precommitting && lane !== this.precommitting.lane) this.crossed = true;
    lane.waiting += 1;
    const settled = () => { lane.waiting -= 1; };
    return new Promise<T>((resolve, reject) => {
      const unit: Unit = {
        fn,
        reads: options.reads,
        order: ++lane.submitted,
        resolve: (value) => { settled(); resolve(value as T); },
        reject: (error) => { settled(); reject(error); },
      };
      if (unit.reads) lane.pending.add(unit);
      void lane.queue.run(() => this.runInBatch(lane, unit));
    });
  }

  private laneFor(affinity: string | undefined): Lane {
    if (this.lanes.length === 1) return this.lanes[0];
    if (affinity !== undefined) return this.lanes[hashOf(affinity) % this.lanes.length];
    if (this.precommitting) return this.precommitting.lane;
    return this.lanes.reduce((best, lane) => (lane.waiting < best.waiting ? lane : best));
  }

  /** Runs a unit inside its lane's open batch (opening one for this event-loop turn if none is open). */
  private async runInBatch(lane: Lane, unit: Unit): Promise<void> {
    lane.pending.delete(unit);
    try {
      await this.ready;
      if (this.closed) throw new Error('store closed');
    } catch (error) {
      unit.reject(error);
      return;
    }
    if (!lane.batch) {
      const opened = new Batch(this, lane);
      lane.batch = opened;
      setImmediate(() => this.endTurn(lane, opened));
    }
    const batch = lane.batch;
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
      tx.merge();
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
   * The end of the turn that opened the batch: its beforeCommit callbacks run (the units they start
   * queue ahead of the commit and join the batch), then the commit is queued. A callback that
   * started a unit in another lane runs again after the commit, when that lane can see the writes.
   */
  private endTurn(lane: Lane, batch: Batch): void {
    try {
      this.runPrecommits(lane, batch);
    } finally {
      this.queueCommit(lane, batch);
    }
  }

  private queueCommit(lane: Lane, batch: Batch): void {
    batch.lastOrder = lane.submitted;
    void lane.queue.run(() => this.commit(lane, batch));
  }

  private runPrecommits(lane: Lane, batch: Batch): void {
    const due = batch.precommits;
    batch.precommits = [];
    for (const cb of due) {
      this.precommitting = { lane, batch };
      this.crossed = false;
      try {
        cb();
      } finally {
        this.precommitting = undefined;
      }
      if (this.crossed) batch.again.push(cb);
    }
  }

  /**
   * Inside a beforeCommit callback: runs fn once that batch's COMMIT is done instead of now, and
   * answers true; anywhere else answers false. The cluster layer sends a wake-up to the other
   * processes this way: woken before the COMMIT, they would find none of its rows.
   */
  afterCommit(fn: () => void): boolean {
    if (!this.precommitting) return false;
    this.precommitting.batch.deferred.push(fn);
    return true;
  }

  private async commit(lane: Lane, batch: Batch): Promise<void> {
    // Units that joined after the end of the turn, or were still running then (waiting for a read),
    // registered callbacks since: they run now and the commit goes behind the units they start (a
    // create's claim then shares its COMMIT). A few rounds at most, so arrivals never hold it off.
    if (batch.precommits.length > 0 && batch.closings < MAX_CLOSINGS && !batch.failed) {
      batch.closings += 1;
      try {
        this.runPrecommits(lane, batch);
      } finally {
        this.queueCommit(lane, batch);
      }
      return;
    }
    if (lane.batch === batch) lane.batch = undefined;
    const late = [...batch.again, ...batch.precommits];
    if (!batch.failed) {
      try {
        if (batch.began || batch.writes.length > 0) {
          await batch.send();
          this.stats.commits += 1;
        }
        batch.release();
        for (const unit of batch.units) unit.resolve(unit.done?.value);
        for (const unit of batch.units) for (const cb of unit.done?.commits ?? []) cb();
        for (const cb of late) cb();
        for (const cb of batch.deferred) cb();
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
        await batch.send();
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
    // Units already submitted finish, and their batches commit, first.
    const drained = () => Promise.all(this.lanes.map((lane) => lane.queue.run(async () => undefined)));
    await drained();
    while (this.lanes.some((lane) => lane.batch)) {
      await new Promise((resolve) => setImmediate(resolve));
      await drained();
    }
    this.closed = true;
    await this.ready.catch(() => {});
    await this.pool.end();
  }
}
