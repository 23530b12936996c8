// The PostgreSQL a torture or cluster-bench run works in: a fresh database on the server at `url`
// (or AXP_TEST_PG_URL), or, when neither names one, on a PostgreSQL started for this run from the
// npm-packaged binaries (the one the test suite uses), stopped again by drop().
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPostgres, type PostgresOptions } from '../test/helpers/postgres-server.js';

export interface RunDatabase {
  /** The run's own database. */
  url: string;
  /** The server it lives on (for CREATE/DROP DATABASE and the server's own processes). */
  serverUrl: string;
  drop(): Promise<void>;
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

export async function postgresForTorture(url: string | undefined, log: (line: string) => void = () => {}, options: PostgresOptions = {}): Promise<RunDatabase> {
  const given = url ?? process.env.AXP_TEST_PG_URL;
  const started = given ? undefined : await startPostgres(options);
  const serverUrl = given ?? started!.url;
  if (started) log(`started PostgreSQL (npm-packaged) at ${serverUrl.replace(/\/\/[^@]*@/, '//')}`);
  const name = `axp_run_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await admin(serverUrl, `CREATE DATABASE ${name}`);
  } catch (error) {
    await started?.destroy();
    throw error;
  }
  return {
    url: withDatabase(serverUrl, name),
    serverUrl,
    async drop() {
      try {
        await admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await started?.destroy();
      }
    },
  };
}
