// The program under test: started once per scenario through the shell, in its own process group so
// that the whole tree (a shell, npx, the SDK's runtime) can be ended together; its stdout read as
// JSON lines (schemas/client-driver-output.schema.json), its stderr kept for the evidence.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { validate } from '../../schemas/index.js';
import type { ClientDriverOutput } from '../../schemas/types.js';

export type DriverLine = ClientDriverOutput;

export interface LineSeen {
  atMs: number;
  text: string;
  /** Set when the line is valid driver output. */
  line?: DriverLine;
  /** Why the line is not valid driver output. */
  invalid?: string;
}

export interface DriverExit {
  /** When it exited (ms since the scenario started). */
  atMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The kit ended the process (scenario over or its bound passed). */
  endedByKit: boolean;
  /** The shell could not run the command (exit 126/127) or the spawn itself failed. */
  cannotStart?: string;
}

const STDERR_KEEP = 40;

export class DriverProcess extends EventEmitter {
  readonly lines: LineSeen[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<DriverExit>;
  exit: DriverExit | undefined;
  private child: ChildProcess;
  private endedByKit = false;
  /** t0: the scenario's start (performance.now()), so line times are on the scenario's clock. */
  constructor(command: string, env: Record<string, string>, private readonly started = performance.now()) {
    super();
    this.setMaxListeners(100);
    this.child = spawn(command, {
      shell: true,
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.exited = new Promise((resolve) => {
      let spawnError: string | undefined;
      this.child.once('error', (err) => {
        spawnError = err.message;
        // 'close' may never come when the spawn itself failed.
        if (this.child.pid === undefined) finish(null, null);
      });
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exit) return;
        const cannotStart = spawnError ?? (code === 126 || code === 127 ? `the shell could not run the command (exit ${code}): ${this.stderr.slice(-3).join(' | ')}` : undefined);
        this.exit = { atMs: Math.round(performance.now() - this.started), code, signal, endedByKit: this.endedByKit, ...(cannotStart ? { cannotStart } : {}) };
        this.emit('change');
        resolve(this.exit);
      };
      this.child.once('close', finish);
    });
    createInterface({ input: this.child.stdout! }).on('line', (text) => this.onLine(text));
    createInterface({ input: this.child.stderr! }).on('line', (text) => {
      this.stderr.push(text);
      if (this.stderr.length > STDERR_KEEP) this.stderr.shift();
    });
  }

  private onLine(text: string): void {
    if (text.trim() === '') return;
    const seen: LineSeen = { atMs: Math.round(performance.now() - this.started), text };
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      seen.invalid = 'not JSON';
    }
    if (!seen.invalid) {
      const result = validate('client-driver-output', data);
      if (result.ok) seen.line = data as DriverLine;
      else seen.invalid = result.errors.map((e) => `${e.pointer || '/'} ${e.message}`).join('; ');
    }
    this.lines.push(seen);
    this.emit('change');
  }

  /** Valid lines of one type. */
  of<T extends DriverLine['type']>(type: T): Array<Extract<DriverLine, { type: T }>> {
    return this.lines.flatMap((l) => (l.line && l.line.type === type ? [l.line as Extract<DriverLine, { type: T }>] : []));
  }

  /** Resolves with probe's first value, or undefined once the process exited or timeoutMs passed. */
  until<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const check = () => {
        const value = probe();
        if (value !== undefined || this.exit) done(value);
      };
      const done = (value: T | undefined) => {
        clearTimeout(timer);
        this.off('change', check);
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.on('change', check);
      check();
    });
  }

  /** Resolves when the process exited, or false after timeoutMs. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Kills whatever is left of the process group (children the program left behind). */
  reap(): void {
    this.signal('SIGKILL');
  }

  /** Ends the whole process tree: SIGTERM, then SIGKILL when it has not exited within graceMs. */
  async stop(graceMs = 2_000): Promise<DriverExit> {
    if (this.exit) return this.exit;
    this.endedByKit = true;
    this.signal('SIGTERM');
    if (!(await this.waitExit(graceMs))) this.signal('SIGKILL');
    return this.exited;
  }

  private signal(name: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      if (process.platform !== 'win32') process.kill(-pid, name);
      else this.child.kill(name);
    } catch {
      // already gone
    }
  }
}
