// Runs a TypeScript file (an example, the demo CLI) as a child process through tsx and lets a test
// wait for lines of its output, with a bound, instead of sleeping.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export class ScriptProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();
  private readonly child: ChildProcess;

  constructor(file: string, args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT, env: { ...process.env, ...env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        this.lines.push(line);
        for (const wake of this.waiters) wake();
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      for (const wake of this.waiters) wake();
      resolve(code);
    }));
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first output line matching `pattern`; rejects after timeoutMs or on exit. */
  waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let checked = 0;
      const timer = setTimeout(() => finish(new Error(`no line matching ${pattern} in ${timeoutMs} ms; output:\n${this.output}`)), timeoutMs);
      const finish = (error?: Error, match?: RegExpMatchArray) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (error) reject(error);
        else resolve(match as RegExpMatchArray);
      };
      const check = () => {
        for (; checked < this.lines.length; checked++) {
          const match = pattern.exec(this.lines[checked]);
          if (match) return finish(undefined, match);
        }
        if (this.child.exitCode !== null || this.child.signalCode !== null) finish(new Error(`exited (${this.child.exitCode}) without a line matching ${pattern}; output:\n${this.output}`));
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for a natural exit, with a bound. */
  async exitCode(timeoutMs = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; output:\n${this.output}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exitCode(10_000).catch(() => {
      this.child.kill('SIGKILL');
      return null;
    });
  }
}
