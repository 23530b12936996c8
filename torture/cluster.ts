// Several server processes on one PostgreSQL database behind a client-side balancer: each request
// goes to the next live process (round robin, no stickiness), a killed process is simply skipped
// until it is started again. kill() takes a random live process down with SIGKILL; start() brings
// the dead one back on its own port.
import { ServerProcess, type Reachable } from './server-process.js';

export class ServerCluster implements Reachable {
  epoch = 0;
  private turn = 0;
  private dead: ServerProcess | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly processes: ServerProcess[]) {}

  get url(): string {
    const live = this.processes.filter((p) => p.alive && p.url);
    if (live.length === 0) return this.processes[0].url;
    return live[this.turn++ % live.length].url;
  }

  get stderrTail(): string[] {
    return this.processes.flatMap((p, i) => p.stderrTail.map((line) => `[${i}] ${line}`));
  }

  up(): Promise<void> {
    if (this.processes.some((p) => p.alive)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** First start: every process, one after another (the first applies the migrations). */
  async startAll(): Promise<void> {
    for (const p of this.processes) await p.start();
    this.epoch = 1;
  }

  /** kill -9 of a random live process; returns its OS process id. */
  async kill(): Promise<number> {
    const live = this.processes.filter((p) => p.alive);
    const victim = live[Math.floor(Math.random() * live.length)];
    const pid = victim.pid ?? 0;
    this.dead = victim;
    await victim.kill();
    return pid;
  }

  /** Starts the process the last kill took down (a new epoch). */
  async start(): Promise<void> {
    const dead = this.dead;
    this.dead = undefined;
    if (dead) await dead.start();
    this.epoch += 1;
    for (const wake of this.waiters.splice(0)) wake();
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }
}
