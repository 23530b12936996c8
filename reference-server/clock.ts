// One clock behind every protocol timer (leases, retries, deadlines, reminders): real time, or the
// test clock of the test-clock extension (CLK-001), which only moves when told to.
// HTTP-level waits (wait_seconds, keepalive) always use real time.

export interface TimerHandle { cancel(): void }

export interface Clock {
  readonly kind: 'real' | 'test';
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls fn once the clock has moved `ms` past now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/**
 * One unit stamps many fields with the same instant: the last conversions are reused (profiled).
 * Two of them, because a claim alternates between now and now + the lease.
 */
const isoCache = { ms: [Number.NaN, Number.NaN], iso: ['', ''], next: 0 };
export function isoAt(ms: number): string {
  if (ms === isoCache.ms[0]) return isoCache.iso[0];
  if (ms === isoCache.ms[1]) return isoCache.iso[1];
  const slot = isoCache.next;
  isoCache.next = 1 - slot;
  isoCache.ms[slot] = ms;
  return (isoCache.iso[slot] = new Date(ms).toISOString());
}

export class RealClock implements Clock {
  readonly kind = 'real' as const;
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    // Node caps timers at 2^31-1 ms; a longer wait re-arms itself.
    const MAX = 2_147_483_647;
    let handle: NodeJS.Timeout;
    const due = Date.now() + Math.max(0, ms);
    const arm = (): void => {
      const left = due - Date.now();
      handle = setTimeout(left > MAX ? arm : fn, Math.min(Math.max(0, left), MAX));
      handle.unref?.();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  }
}

interface Pending { due: number; order: number; fn: () => void; cancelled: boolean }

export class TestClock implements Clock {
  readonly kind = 'test' as const;
  private current: number;
  private order = 0;
  private pending: Pending[] = [];

  constructor(start: number = Date.now()) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const entry: Pending = { due: this.current + Math.max(0, ms), order: this.order++, fn, cancelled: false };
    this.pending.push(entry);
    return { cancel: () => { entry.cancelled = true; } };
  }
  /**
   * Several processes on one database: another process moved the shared test clock (and fired what fell due there); follow
   * it without firing anything here.
   */
  syncTo(ms: number): void {
    if (ms > this.current) this.current = ms;
  }
  /** Moves the clock forward, firing callbacks that fall due, in order; returns the new now. */
  advance(ms: number): number {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      const next = this.pending.filter((p) => p.due <= target).sort((a, b) => a.due - b.due || a.order - b.order)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.due);
      next.cancelled = true;
      next.fn();
    }
    this.current = target;
    return this.current;
  }
}
