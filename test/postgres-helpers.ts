// The PostgreSQL the postgres-* tests use: AXP_TEST_PG_URL, else postgres://axp@127.0.0.1:5432/axp
// (what scripts/ci-postgres.sh provides). Never skipped: when nothing answers, the test file fails
// and says how to get one. Every test file works in a database of its own, dropped at the end.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ADMIN_KEY } from './helpers/server.js';

export const PG_URL = process.env.AXP_TEST_PG_URL ?? 'postgres://axp@127.0.0.1:5432/axp';

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface TestDatabase { url: string; drop(): Promise<void> }

/** Creates a fresh, empty database for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (${(error as Error).message}). The postgres tests need one: ` +
      'run `bash scripts/ci-postgres.sh` (installs and starts Debian\'s postgresql, as root) or set AXP_TEST_PG_URL ' +
      'to a role that may create databases.',
    );
  }
  const name = `axp_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(PG_URL, name),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
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
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 20_000);
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
    async stop() { if (child.exitCode === null) child.kill('SIGTERM'); await exited; },
    async kill() { if (child.exitCode === null) child.kill('SIGKILL'); await exited; },
  };
}
