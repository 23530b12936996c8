// The server under torture: a child process on one store (a SQLite file, or a PostgreSQL database
// several of them share), killed with SIGKILL and started again on the same store. Clients read
// `url` and wait on `up()` after a failed request, so they keep working across restarts without
// knowing about them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LISTENING = /axp-server listening on (http:\/\/\S+)/;

/** What the clients need of the server under torture: one process, or several behind a balancer. */
export interface Reachable {
  /** Where the next request goes. */
  readonly url: string;
  /** Starts so far (1 for the first, +1 per restart). */
  readonly epoch: number;
  /** Resolves when a request may be sent again. */
  up(): Promise<void>;
}

export interface ServerProcessOptions {
  /** The --store spec: sqlite:<file> or postgres://… */
  store: string;
  adminKey: string;
  /** Extra CLI flags. */
  args?: string[];
  startTimeoutMs?: number;
}

export class ServerProcess implements Reachable {
  url = '';
  /** Server instance number: 1 for the first start, +1 per restart. */
  epoch = 0;
  /** The last lines the child wrote to stderr (kept short), for the report. */
  readonly stderrTail: string[] = [];
  private child: ChildProcess | undefined;
  /** The running child's process id (PostgreSQL timer claims name it). */
  get pid(): number | undefined {
    return this.alive ? this.child?.pid : undefined;
  }
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
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
    const args = ['--import', 'tsx', 'reference-server/cli.ts', '--store', this.options.store, '--admin-key', this.options.adminKey,
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
