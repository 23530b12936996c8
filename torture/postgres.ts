// The PostgreSQL a torture or cluster-bench run works in: fresh databases on the server at `url`
// (or AXP_TEST_PG_URL), or, when neither names one, on a PostgreSQL started for this run from the
// npm-packaged binaries (the one the test suite uses), removed again by stop().
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPostgres, type PostgresOptions } from '../test/helpers/postgres-server.js';

export interface RunDatabase {
  /** The run's own database. */
  url: string;
  drop(): Promise<void>;
}

export interface RunPostgres {
  /** The server (a role that may create databases). */
  url: string;
  /** Whether this run started it (its settings are then the ones asked for). */
  started: boolean;
  createDatabase(): Promise<RunDatabase>;
  stop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try { await client.query(sql); } finally { await client.end(); }
}

export async function postgresForRun(url: string | undefined, log: (line: string) => void = () => {}, options: PostgresOptions = {}): Promise<RunPostgres> {
  const given = url ?? process.env.AXP_TEST_PG_URL;
  const server = given ? undefined : await startPostgres(options);
  const serverUrl = given ?? server!.url;
  log(server ? `started PostgreSQL (npm-packaged) at ${serverUrl}` : `PostgreSQL at ${serverUrl.replace(/\/\/[^@]*@/, '//')}`);
  return {
    url: serverUrl,
    started: server !== undefined,
    async createDatabase() {
      const name = `axp_run_${process.pid}_${randomBytes(4).toString('hex')}`;
      await admin(serverUrl, `CREATE DATABASE ${name}`);
      return { url: withDatabase(serverUrl, name), drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
    },
    async stop() { await server?.destroy(); },
  };
}

/** One database for one torture run, on the server postgresForRun finds or starts. */
export async function postgresForTorture(url: string | undefined, log: (line: string) => void = () => {}): Promise<RunDatabase> {
  const server = await postgresForRun(url, log);
  let database: RunDatabase;
  try {
    database = await server.createDatabase();
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    url: database.url,
    async drop() {
      try { await database.drop(); } finally { await server.stop(); }
    },
  };
}
