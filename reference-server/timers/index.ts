// Issue 4's protocol timers, installed once by app.ts: deadlines, reminders and escalation.
// (Leases and retries belong to the delivery engine; internal delays to delivery/internal.ts.)
import { installDeadlines } from './deadline.js';
import { installReminders } from './reminders.js';
import type { ServerContext } from '../context.js';

export { advanceTestClock } from './test-clock.js';

export function installIntentTimers(ctx: ServerContext): void {
  installDeadlines(ctx);
  installReminders(ctx);
}
