// The PostgreSQL engine (issue 11): several server processes share one database.
//
// A write unit is one READ COMMITTED transaction on its own pooled connection. What the SQLite
// store gets from its serial queue, this one gets from row locks and constraints:
// - intent first: a write unit's getIntent locks the row (FOR UPDATE), and getDelivery /
//   deleteTimer lock the owning intent before they read, so the rows of one intent (its events,
//   deliveries, timers, threads) change under one lock, taken in one order, and seq stays
//   contiguous (EVT-002) whichever process writes;
// - agents are versioned: putAgent writes only if the row still has the version this unit read
//   (two processes claiming for one agent cannot hand out one agent seq twice);
// - idempotency and event keys are unique: the loser of a race gets a conflict, the whole unit is
//   run again and then finds the winner's row (IDEM-008: one intent per key across processes).
// Conflicts, serialization failures and deadlocks are retried with the unit run afresh; fn must
// therefore touch nothing but tx (the store rule already).
// Pending deliveries and due timers are claimed with FOR UPDATE SKIP LOCKED; a timer claim is a
// lease in the row (claimed_until), so a process dying between claim and fire delays, never loses.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { IntentQuery, NewTimer, Page, Store, StoreTx } from './store.js';
import type { AgentRecord, DeadLetter, DeliveryRecord, IdempotencyRecord, Intent, IntentEvent, ThreadRecord, TimerRecord } from '../model.js';
import { IDEMPOTENCY_TTL_SECONDS } from '../idempotency.js';
import { MIGRATIONS } from './postgres-migrations.js';

type Queryable = Pick<pg.Pool, 'query'>;
interface DocRow { doc: string; ord?: string; version?: string }

const MIGRATION_LOCK = 0x41585031; // 'AXP1'
const MAX_ATTEMPTS = 12;
const RETRYABLE_CODES = new Set(['40001', '40P01', '23505']);

/** Another process changed what this unit read; the unit is run again. */
export class WriteConflict extends Error {
  readonly retryable = true;
}

function retryable(error: unknown): boolean {
  if (error instanceof WriteConflict) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}

const parse = <T>(rows: DocRow[]): T | undefined => (rows[0] ? (JSON.parse(rows[0].doc) as T) : undefined);
const parseAll = <T>(rows: DocRow[]): T[] => rows.map((r) => JSON.parse(r.doc) as T);
const toTimer = (r: { id: string; due_at: string; kind: string; intent_id: string | null; data: string }): TimerRecord => ({
  id: Number(r.id), due_at: Number(r.due_at), kind: r.kind, intent_id: r.intent_id, data: JSON.parse(r.data) as Record<string, unknown>,
});

class PgTx implements StoreTx {
  readonly commits: (() => void)[] = [];
  /** The first error a statement raised (a later one may only say "transaction aborted"). */
  firstError: unknown;
  /** Agent versions as first read by this unit (null: read as absent). */
  private readonly agentVersions = new Map<string, number | null>();

  constructor(private readonly db: Queryable, private readonly writing: boolean) {}

  private async q<R = DocRow>(sql: string, args: unknown[] = []): Promise<{ rows: R[]; rowCount: number }> {
    try {
      // PostgreSQL text cannot hold NUL; a key with one (a path parameter) names nothing stored.
      const safe = args.map((a) => (typeof a === 'string' && a.includes('\u0000') ? a.replaceAll('\u0000', '\uFFFD') : a));
      const result = await this.db.query(sql, safe);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      this.firstError ??= error;
      throw error;
    }
  }

  private noteAgent(address: string, row: DocRow | undefined): void {
    if (!this.agentVersions.has(address)) this.agentVersions.set(address, row ? Number(row.version) : null);
  }

  async getAgent(address: string) {
    const { rows } = await this.q('SELECT doc, version FROM agents WHERE address = $1', [address]);
    this.noteAgent(address, rows[0]);
    return parse<AgentRecord>(rows);
  }
  async findAgentByKeyHash(keyHash: string) {
    const { rows } = await this.q<DocRow & { address: string }>('SELECT address, doc, version FROM agents WHERE key_hash = $1', [keyHash]);
    if (rows[0]) this.noteAgent(rows[0].address, rows[0]);
    return parse<AgentRecord>(rows);
  }
  async putAgent(agent: AgentRecord) {
    const doc = JSON.stringify(agent);
    const read = this.agentVersions.get(agent.address);
    const args = [agent.address, agent.key_hash, doc];
    const { rows } = read === undefined
      ? await this.q<{ version: string }>(`INSERT INTO agents (address, key_hash, doc) VALUES ($1, $2, $3) ON CONFLICT (address)
          DO UPDATE SET key_hash = excluded.key_hash, doc = excluded.doc, version = agents.version + 1 RETURNING version`, args)
      : read === null
        ? await this.q<{ version: string }>('INSERT INTO agents (address, key_hash, doc) VALUES ($1, $2, $3) ON CONFLICT (address) DO NOTHING RETURNING version', args)
        : await this.q<{ version: string }>('UPDATE agents SET key_hash = $2, doc = $3, version = version + 1 WHERE address = $1 AND version = $4 RETURNING version', [...args, read]);
    if (rows.length !== 1) throw new WriteConflict(`agent ${agent.address} changed concurrently`);
    // Later writes of this unit build on what it wrote itself.
    this.agentVersions.set(agent.address, Number(rows[0].version));
  }
  async listAgents() { return parseAll<AgentRecord>((await this.q('SELECT doc FROM agents ORDER BY address')).rows); }

  async getIntent(intentId: string) {
    const lock = this.writing ? ' FOR UPDATE' : '';
    return parse<Intent>((await this.q(`SELECT doc FROM intents WHERE intent_id = $1${lock}`, [intentId])).rows);
  }
  async insertIntent(intent: Intent) {
    await this.q('INSERT INTO intents (intent_id, from_agent, to_agent, status, doc) VALUES ($1, $2, $3, $4, $5)',
      [intent.intent_id, intent.from_agent, intent.to_agent, intent.status, JSON.stringify(intent)]);
  }
  async updateIntent(intent: Intent) {
    const { rowCount } = await this.q('UPDATE intents SET status = $1, doc = $2 WHERE intent_id = $3', [intent.status, JSON.stringify(intent), intent.intent_id]);
    if (rowCount !== 1) throw new Error('no such intent');
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
    const { rows } = await this.q(sql, args);
    const items = rows.slice(0, query.limit);
    return { items: parseAll<Intent>(items), nextCursor: rows.length > query.limit ? String(items[items.length - 1].ord) : null };
  }
  async appendEvent(event: IntentEvent) {
    await this.q('INSERT INTO events (intent_id, seq, doc) VALUES ($1, $2, $3)', [event.intent_id, event.seq, JSON.stringify(event)]);
  }
  async listEvents(intentId: string, since: number, limit?: number) {
    const { rows } = await this.q('SELECT doc FROM events WHERE intent_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [intentId, since, limit ?? null]);
    return parseAll<IntentEvent>(rows);
  }

  /** Intent first: lock the intent a delivery or timer belongs to before reading the row itself. */
  private async lockIntentOf(table: 'deliveries' | 'timers', column: string, value: unknown): Promise<void> {
    if (this.writing) await this.q(`SELECT 1 FROM intents WHERE intent_id = (SELECT intent_id FROM ${table} WHERE ${column} = $1) FOR UPDATE`, [value]);
  }

  async insertDelivery(d: DeliveryRecord) {
    await this.q('INSERT INTO deliveries (delivery_id, intent_id, agent, state, agent_seq, doc) VALUES ($1, $2, $3, $4, $5, $6)',
      [d.delivery_id, d.intent_id, d.agent, d.state, d.agent_seq, JSON.stringify(d)]);
  }
  async updateDelivery(d: DeliveryRecord) {
    await this.q('UPDATE deliveries SET state = $1, agent_seq = $2, doc = $3 WHERE delivery_id = $4', [d.state, d.agent_seq, JSON.stringify(d), d.delivery_id]);
  }
  async getDelivery(deliveryId: string) {
    await this.lockIntentOf('deliveries', 'delivery_id', deliveryId);
    return parse<DeliveryRecord>((await this.q('SELECT doc FROM deliveries WHERE delivery_id = $1', [deliveryId])).rows);
  }
  async openDelivery(intentId: string) {
    const { rows } = await this.q("SELECT doc FROM deliveries WHERE intent_id = $1 AND state IN ('pending', 'leased') ORDER BY ord DESC LIMIT 1", [intentId]);
    return parse<DeliveryRecord>(rows);
  }
  async pendingDeliveries(agent: string, limit: number) {
    // A claim: rows another process is claiming (or whose intent it is writing) are skipped, not waited for.
    const sql = this.writing
      ? `SELECT d.doc FROM deliveries d JOIN intents i ON i.intent_id = d.intent_id
         WHERE d.agent = $1 AND d.state = 'pending' ORDER BY d.ord LIMIT $2 FOR UPDATE OF d, i SKIP LOCKED`
      : "SELECT doc FROM deliveries WHERE agent = $1 AND state = 'pending' ORDER BY ord LIMIT $2";
    return parseAll<DeliveryRecord>((await this.q(sql, [agent, limit])).rows);
  }
  async leasedDeliveries(agent: string, since: number) {
    const { rows } = await this.q("SELECT doc FROM deliveries WHERE agent = $1 AND state = 'leased' AND agent_seq > $2 ORDER BY agent_seq", [agent, since]);
    return parseAll<DeliveryRecord>(rows);
  }

  async getIdempotency(scope: string, key: string) {
    return parse<IdempotencyRecord>((await this.q('SELECT doc FROM idempotency WHERE scope = $1 AND key = $2', [scope, key])).rows);
  }
  async putIdempotency(record: IdempotencyRecord) {
    // Only an expired record is replaced; a live one means another unit won the race (retry → replay).
    const { rowCount } = await this.q(`INSERT INTO idempotency (scope, key, created_at_ms, doc) VALUES ($1, $2, $3, $4)
      ON CONFLICT (scope, key) DO UPDATE SET created_at_ms = excluded.created_at_ms, doc = excluded.doc
      WHERE idempotency.created_at_ms <= excluded.created_at_ms - $5`,
    [record.scope, record.key, record.created_at_ms, JSON.stringify(record), IDEMPOTENCY_TTL_SECONDS * 1000]);
    if (rowCount !== 1) throw new WriteConflict(`idempotency key ${record.key} taken concurrently`);
  }

  async addTimer(t: NewTimer) {
    const { rows } = await this.q<{ id: string }>('INSERT INTO timers (due_at, kind, intent_id, data) VALUES ($1, $2, $3, $4) RETURNING id',
      [t.due_at, t.kind, t.intent_id, JSON.stringify(t.data)]);
    return Number(rows[0].id);
  }
  async deleteTimer(id: number) {
    await this.lockIntentOf('timers', 'id', id);
    return (await this.q('DELETE FROM timers WHERE id = $1', [id])).rowCount > 0;
  }
  async cancelTimers(intentId: string, kind?: string) {
    if (kind) await this.q('DELETE FROM timers WHERE intent_id = $1 AND kind = $2', [intentId, kind]);
    else await this.q('DELETE FROM timers WHERE intent_id = $1', [intentId]);
  }
  async dueTimers(now: number, limit: number) {
    const { rows } = await this.q<{ id: string; due_at: string; kind: string; intent_id: string | null; data: string }>(
      'SELECT id, due_at, kind, intent_id, data FROM timers WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2', [now, limit]);
    return rows.map(toTimer);
  }
  async nextTimerDue() {
    // Timers another process holds a live claim on are its business until the claim runs out.
    const { rows } = await this.q<{ due: string | null }>('SELECT min(due_at) AS due FROM timers WHERE claimed_until IS NULL OR claimed_until < $1', [Date.now()]);
    return rows[0]?.due === null || rows[0]?.due === undefined ? undefined : Number(rows[0].due);
  }

  async putDeadLetter(l: DeadLetter) {
    // DLV-024: a fresh entry replaces the old one (and sorts as newest); marking it redelivered updates in place.
    if (l.redelivered_at !== null) {
      await this.q('UPDATE dead_letters SET doc = $1 WHERE intent_id = $2', [JSON.stringify(l), l.intent_id]);
      return;
    }
    await this.q('DELETE FROM dead_letters WHERE intent_id = $1', [l.intent_id]);
    await this.q('INSERT INTO dead_letters (intent_id, agent, doc) VALUES ($1, $2, $3)', [l.intent_id, l.to_agent, JSON.stringify(l)]);
  }
  async getDeadLetter(intentId: string) {
    return parse<DeadLetter>((await this.q('SELECT doc FROM dead_letters WHERE intent_id = $1', [intentId])).rows);
  }
  async listDeadLetters(query: { agent?: string; cursor?: string; limit: number }): Promise<Page<DeadLetter>> {
    const { rows } = await this.q('SELECT ord, doc FROM dead_letters WHERE ($1::bigint IS NULL OR ord < $1) AND ($2::text IS NULL OR agent = $2) ORDER BY ord DESC LIMIT $3',
      [query.cursor ?? null, query.agent ?? null, query.limit + 1]);
    const items = rows.slice(0, query.limit);
    return { items: parseAll<DeadLetter>(items), nextCursor: rows.length > query.limit ? String(items[items.length - 1].ord) : null };
  }

  async putThread(t: ThreadRecord) {
    await this.q('INSERT INTO threads (owner, thread_id, doc) VALUES ($1, $2, $3) ON CONFLICT (owner, thread_id) DO UPDATE SET doc = excluded.doc',
      [t.owner_agent, t.thread_id, JSON.stringify(t)]);
  }
  async getThread(owner: string, threadId: string) {
    return parse<ThreadRecord>((await this.q('SELECT doc FROM threads WHERE owner = $1 AND thread_id = $2', [owner, threadId])).rows);
  }
  async listThreads(query: { owner?: string; threadId?: string }) {
    const { rows } = await this.q('SELECT doc FROM threads WHERE ($1::text IS NULL OR owner = $1) AND ($2::text IS NULL OR thread_id = $2) ORDER BY ord DESC',
      [query.owner ?? null, query.threadId ?? null]);
    return parseAll<ThreadRecord>(rows);
  }

  onCommit(cb: () => void) { this.commits.push(cb); }
  beforeCommit(cb: () => void) { this.commits.push(cb); }
}

export interface PostgresStoreOptions {
  /** Connections per process (default env AXP_PG_POOL or 10). */
  poolSize?: number;
  /** How long a claimed timer stays another process's before it may be claimed again (default 5 s). */
  timerClaimMs?: number;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly ordered = false;
  /** Tells this process's notifications from other processes'. */
  readonly processId = randomUUID();
  readonly pool: pg.Pool;
  readonly ready: Promise<void>;
  private readonly timerClaimMs: number;
  private readonly closers: (() => Promise<void> | void)[] = [];
  private closed = false;

  constructor(readonly url: string, options: PostgresStoreOptions = {}) {
    const max = options.poolSize ?? (Number(process.env.AXP_PG_POOL) || 10);
    this.pool = new pg.Pool({ connectionString: url, max, application_name: 'axp-server' });
    // An idle client losing its server is reported here; the next checkout gets a fresh one.
    this.pool.on('error', () => {});
    this.timerClaimMs = options.timerClaimMs ?? 5000;
    this.ready = this.migrate();
    this.ready.catch(() => {});
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

  async write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    await this.ready;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error('store closed');
      const client = await this.pool.connect();
      const tx = new PgTx(client, true);
      let broken = false;
      try {
        await client.query('BEGIN');
        const value = await fn(tx);
        await client.query('COMMIT');
        client.release();
        for (const cb of tx.commits) cb();
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => { broken = true; });
        client.release(broken);
        // A statement that failed may have been caught inside fn; its error decides.
        if (attempt < MAX_ATTEMPTS && retryable(tx.firstError ?? error)) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
          continue;
        }
        throw error;
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
    return fn(new PgTx(this.pool, false));
  }

  /**
   * Claims up to `limit` timers due by `now` (the clock's time) for this process: they are leased
   * (claimed_until, wall time) and skipped by every other process until fired or the lease ends.
   */
  async claimDueTimers(now: number, limit: number): Promise<TimerRecord[]> {
    await this.ready;
    const wall = Date.now();
    const { rows } = await this.pool.query<{ id: string; due_at: string; kind: string; intent_id: string | null; data: string }>(
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
    this.closed = true;
    await this.ready.catch(() => {});
    await this.pool.end();
  }
}
