// Versioned schema of the PostgreSQL store. Append only: a released migration is never
// edited; a change is a new entry with the next version. Applied at start under an advisory lock,
// each in its own transaction with its row in axp_migrations, so processes that start together
// apply each version exactly once.
export interface Migration { version: number; name: string; sql: string }

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE agents (address text PRIMARY KEY, key_hash text NOT NULL, version bigint NOT NULL DEFAULT 0, doc text NOT NULL);
CREATE INDEX agents_key ON agents (key_hash);
CREATE TABLE intents (ord bigserial PRIMARY KEY, intent_id text NOT NULL UNIQUE, from_agent text NOT NULL,
  to_agent text NOT NULL, status text NOT NULL, doc text NOT NULL);
CREATE INDEX intents_from ON intents (from_agent, ord);
CREATE INDEX intents_to ON intents (to_agent, ord);
CREATE TABLE events (intent_id text NOT NULL, seq integer NOT NULL, doc text NOT NULL, PRIMARY KEY (intent_id, seq));
CREATE TABLE deliveries (ord bigserial PRIMARY KEY, delivery_id text NOT NULL UNIQUE, intent_id text NOT NULL,
  agent text NOT NULL, state text NOT NULL, agent_seq bigint, doc text NOT NULL);
CREATE INDEX deliveries_intent ON deliveries (intent_id, state);
CREATE INDEX deliveries_pending ON deliveries (agent, ord) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries (agent, agent_seq) WHERE state = 'leased';
CREATE TABLE idempotency (scope text NOT NULL, key text NOT NULL, created_at_ms bigint NOT NULL, doc text NOT NULL,
  PRIMARY KEY (scope, key));
CREATE TABLE timers (id bigserial PRIMARY KEY, due_at bigint NOT NULL, kind text NOT NULL, intent_id text,
  data text NOT NULL, claimed_until bigint);
CREATE INDEX timers_due ON timers (due_at, id);
CREATE INDEX timers_intent ON timers (intent_id);
CREATE TABLE dead_letters (ord bigserial PRIMARY KEY, intent_id text NOT NULL UNIQUE, agent text NOT NULL, doc text NOT NULL);
CREATE TABLE threads (ord bigserial PRIMARY KEY, owner text NOT NULL, thread_id text NOT NULL, doc text NOT NULL,
  UNIQUE (owner, thread_id));
CREATE INDEX threads_id ON threads (thread_id);
CREATE TABLE test_clock (id integer PRIMARY KEY CHECK (id = 1), now_ms bigint NOT NULL);
`,
  },
  {
    version: 2,
    name: 'timer owner',
    // The process that scheduled a timer (crash tests check that the others fire a dead one's).
    sql: 'ALTER TABLE timers ADD COLUMN created_by text',
  },
  {
    version: 3,
    name: 'server settings',
    // Named settings that outlive a restart (the admin key's SHA-256 hash).
    sql: 'CREATE TABLE server_settings (name text PRIMARY KEY, value text NOT NULL)',
  },
  {
    version: 4,
    name: 'checked writes',
    // A buffered write that must change exactly n rows raises inside the transaction otherwise, so
    // the COMMIT sent in the same round trip never commits around it (40001: run the unit again).
    sql: `
CREATE FUNCTION axp_expect(actual integer, expected integer, code text, message text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF actual <> expected THEN RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message; END IF;
END $$;
`,
  },
  {
    version: 5,
    name: 'room for in-place updates',
    // An intent is rewritten at each step of its lifecycle; with room left on its page the new
    // version stays there and its indexes are not touched (HOT: no indexed column changes).
    sql: 'ALTER TABLE intents SET (fillfactor = 50)',
  },
];
