// Faults in the durable-timer scheduler: a timer kind whose handler does nothing, and timers
// scheduled at the wrong times. The scheduler instance is the real one with two methods replaced.
import type { Scheduler, TimerHandler } from '../reference-server/scheduler.js';
import { LEASE_TIMER as LEASE } from '../reference-server/delivery/engine.js';
import { DEADLINE_TIMER as DEADLINE } from '../reference-server/timers/deadline.js';
import { REMINDER_TIMER as REMINDER } from '../reference-server/timers/reminders.js';
import { DELAY_TIMER as DELAY } from '../reference-server/delivery/internal.js';
import type { FaultSet } from './catalogue.js';

export const SCHEDULER_FAULTS = ['lease-never-expires', 'timed-out-never-fires', 'reminders-beyond-max', 'delay-read-as-ms'] as const;

export function faultyScheduler(scheduler: Scheduler, faults: FaultSet): Scheduler {
  if (!SCHEDULER_FAULTS.some((f) => faults.has(f))) return scheduler;
  const register = scheduler.register.bind(scheduler);
  const schedule = scheduler.schedule.bind(scheduler);
  const idle: TimerHandler = async () => {};
  scheduler.register = (kind, handler) => {
    if (kind === LEASE && faults.has('lease-never-expires')) return register(kind, idle);
    if (kind === DEADLINE && faults.has('timed-out-never-fires')) return register(kind, idle);
    return register(kind, handler);
  };
  scheduler.schedule = async (tx, timer) => {
    if (timer.kind === DELAY && faults.has('delay-read-as-ms')) {
      const seconds = Number(timer.data.seconds);
      return schedule(tx, { ...timer, due_at: timer.due_at - seconds * 1000 + seconds });
    }
    const id = await schedule(tx, timer);
    if (timer.kind === REMINDER && faults.has('reminders-beyond-max') && timer.intent_id) {
      // Off by one: the last reminder schedules one more after it.
      const intent = await tx.getIntent(timer.intent_id);
      const max = intent?.max_reminders ?? 1;
      const intervalMs = ((intent?.remind_interval_seconds ?? intent?.remind_after_seconds) ?? 0) * 1000;
      if (intent && timer.data.reminder === max) {
        await schedule(tx, { ...timer, due_at: timer.due_at + intervalMs, data: { reminder: max + 1 } });
      }
    }
    return id;
  };
  return scheduler;
}
