// CLK-002, CLK-005, CLK-006: one advance of the test clock. The clock moves from due time to due
// time and fires what is due at each, so every timer runs at its own time: the timestamps it
// writes and the timers it schedules (a retry at next_attempt_at, the next reminder) are exactly
// those of real time, and a timer scheduled within the advance also fires within it.
import type { TestClock } from '../clock.js';
import type { Scheduler } from '../scheduler.js';
import type { Store } from '../store/store.js';

export async function advanceTestClock(clock: TestClock, scheduler: Scheduler, store: Store, advanceMs: number): Promise<{ now: number; fired: number }> {
  const target = clock.now() + Math.max(0, advanceMs);
  const before = scheduler.firedTotal;
  for (;;) {
    // CLK-005: an advance of 0 (or a timer already due) fires what is due without moving.
    await scheduler.runDue();
    const next = await store.read((tx) => tx.nextTimerDue());
    // A timer still due after runDue could not be fired (store failing): stop rather than spin.
    if (next === undefined || next > target || next <= clock.now()) break;
    clock.advance(next - clock.now());
  }
  clock.advance(target - clock.now());
  await scheduler.runDue();
  return { now: clock.now(), fired: scheduler.firedTotal - before };
}
