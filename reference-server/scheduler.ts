// Durable timers (DLV-027, LC-024, LC-*, INTL-*): stored rows {due_at, kind, intent_id, data}; one
// scheduler fires due ones in (due_at, id) order, late ones at once after a restart. A timer is
// deleted in the same write unit its handler runs in, so it fires at most once per commit.
import type { Clock, TimerHandle } from './clock.js';
import type { NewTimer, Store, StoreTx } from './store/store.js';
import type { TimerRecord } from './model.js';

export type TimerHandler = (tx: StoreTx, timer: TimerRecord) => Promise<void>;

const BATCH = 64;

export class Scheduler {
  private readonly handlers = new Map<string, TimerHandler>();
  private armed: { due: number; handle: TimerHandle } | undefined;
  private running: Promise<number> | undefined;
  private again = false;
  private stopped = true;
  /** Timers fired since start (the test-clock route reports the difference across one advance). */
  firedTotal = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: (message: string, error: unknown) => void = () => {},
  ) {}

  /** A timer kind and what firing it does (inside the unit that deletes the timer). */
  register(kind: string, handler: TimerHandler): void {
    if (this.handlers.has(kind)) throw new Error(`timer kind ${kind} registered twice`);
    this.handlers.set(kind, handler);
  }

  /** Stores a timer as part of the caller's unit; the scheduler re-arms once that unit commits. */
  async schedule(tx: StoreTx, timer: NewTimer): Promise<number> {
    const id = await tx.addTimer(timer);
    tx.onCommit(() => this.poke(timer.due_at));
    return id;
  }

  start(): void {
    this.stopped = false;
    void this.runDue();
  }

  stop(): void {
    this.stopped = true;
    this.armed?.handle.cancel();
    this.armed = undefined;
  }

  /** Wakes the loop if a timer is due before the one it waits for. */
  poke(dueAt: number): void {
    if (this.stopped) return;
    if (this.running) { this.again = true; return; }
    if (this.armed && this.armed.due <= dueAt) return;
    this.arm(dueAt);
  }

  /** Fires every timer due now (including ones that fall due while firing); returns how many. */
  runDue(): Promise<number> {
    if (this.running) {
      this.again = true;
      // The run in progress either reads the timers again itself, or its finally starts one more
      // run (again was set): wait for that one; calling runDue here again would never end.
      return this.running.then((first) => (this.running ? this.running.then((more) => first + more) : first));
    }
    // A store that cannot be reached (a database restarting) fails this run; the next poke or the
    // shared store's backstop runs it again. Never an unhandled rejection (it would end the process).
    this.running = this.fireLoop().catch((error: unknown) => { this.log('firing due timers failed', error); return 0; }).finally(() => {
      this.running = undefined;
      if (this.again) { this.again = false; void this.runDue(); } else void this.rearm();
    });
    return this.running;
  }

  private async fireLoop(): Promise<number> {
    let fired = 0;
    for (;;) {
      this.again = false;
      const claim = this.store.claimDueTimers?.bind(this.store);
      const due = claim ? await claim(this.clock.now(), BATCH) : await this.store.read((tx) => tx.dueTimers(this.clock.now(), BATCH));
      if (due.length === 0) return fired;
      // Units run in submission order, so firing order is the (due_at, id) order. A shared store
      // (PostgreSQL) runs units side by side: there, one intent's timers fire one after another.
      const results = claim ? await this.fireByIntent(due) : await Promise.all(due.map((t) => this.fire(t)));
      const count = results.filter(Boolean).length;
      fired += count;
      this.firedTotal += count;
      // ERR-007: a long run of due timers (one big test-clock advance) yields between batches, so
      // requests keep being served while it fires.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private async fireByIntent(due: TimerRecord[]): Promise<boolean[]> {
    const chains = new Map<string, TimerRecord[]>();
    for (const t of due) {
      const key = t.intent_id ?? `timer:${t.id}`;
      chains.set(key, [...(chains.get(key) ?? []), t]);
    }
    const results = await Promise.all([...chains.values()].map(async (chain) => {
      const out: boolean[] = [];
      for (const t of chain) out.push(await this.fire(t));
      return out;
    }));
    return results.flat();
  }

  private async fire(timer: TimerRecord): Promise<boolean> {
    const handler = this.handlers.get(timer.kind);
    try {
      return await this.store.write(async (tx) => {
        if (!(await tx.deleteTimer(timer.id))) return false;
        if (handler) await handler(tx, timer);
        else this.log(`no handler for timer kind ${timer.kind}; dropped`, undefined);
        return true;
      });
    } catch (error) {
      // A failing handler must not fire forever: drop the timer, keep the error visible.
      this.log(`timer ${timer.kind} #${timer.id} failed`, error);
      await this.store.write((tx) => tx.deleteTimer(timer.id)).catch(() => false);
      return false;
    }
  }

  private async rearm(): Promise<void> {
    if (this.stopped) return;
    const next = await this.store.read((tx) => tx.nextTimerDue()).catch(() => undefined);
    if (next !== undefined && !this.running) this.arm(next);
  }

  private arm(dueAt: number): void {
    if (this.stopped) return;
    this.armed?.handle.cancel();
    const handle = this.clock.setTimeout(() => {
      this.armed = undefined;
      void this.runDue();
    }, Math.max(0, dueAt - this.clock.now()));
    this.armed = { due: dueAt, handle };
  }
}
