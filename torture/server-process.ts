// The server under torture: a child process on one SQLite file, killed with SIGKILL and started
// again on the same file. Clients read `url` and wait on `up()` after a failed request, so they
// keep working across restarts without knowing about them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LISTENING = /axp-server listening on (http:\/\/\S+)/;

export interface ServerProcessOptions {
  dbFile: string;
  adminKey: string;
  /** Extra CLI flags. */
  args?: string[];
  startTimeoutMs?: number;
}

export class ServerProcess {
  url = '';
  /** Server instance number: 1 for the first start, +1 per restart. */
  epoch = 0;
  /** The last lines the child wrote to stderr (kept short), for the report. */
  readonly stderrTail: string[] = [];
  private child: ChildProcess | undefined;
  private port = 0;
  private upPromise: Promise<void> = Promise.resolve();
  private markUp: () => void = () => {};

  constructor(private readonly options: ServerProcessOptions) {}

  /** Resolves when the server is accepting requests (immediately if it is). */
  up(): Promise<void> {
    return this.upPromise;
  }

  async start(): Promise<void> {
    // Clients that saw the kill already wait on the promise kill() made; the first start makes one.
    if (this.epoch === 0) this.upPromise = new Promise((resolve) => { this.markUp = resolve; });
    const args = ['--import', 'tsx', 'reference-server/cli.ts', '--store', `sqlite:${this.options.dbFile}`, '--admin-key', this.options.adminKey,
      '--port', String(this.port), '--host', '127.0.0.1', ...(this.options.args ?? [])];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    this.child = child;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 50) this.stderrTail.shift();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in time; stderr:\n${this.stderrTail.join('\n')}`)), this.options.startTimeoutMs ?? 30_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = LISTENING.exec(line);
        if (match) { clearTimeout(timer); resolve(match[1]); }
      });
      child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`server exited (${code ?? signal}) before listening; stderr:\n${this.stderrTail.join('\n')}`)); });
    });
    this.url = url;
    // Restart on the same port, so connection pools and logs stay readable.
    this.port = Number(new URL(url).port);
    this.epoch += 1;
    this.markUp();
  }

  /** kill -9, and wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.upPromise = new Promise((resolve) => { this.markUp = resolve; });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Graceful stop (SIGTERM), with SIGKILL as the fallback. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
