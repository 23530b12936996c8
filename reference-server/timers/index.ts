// The intent timers, installed once by app.ts: deadlines (LC-020), reminders and escalation (INTL-006).
// (Leases and retries belong to the delivery engine; internal delays to delivery/internal.ts.)
import { installDeadlines } from './deadline.js';
import { installReminders } from './reminders.js';
import type { ServerContext } from '../context.js';

export { advanceTestClock } from './test-clock.js';

export function installIntentTimers(ctx: ServerContext): void {
  installDeadlines(ctx);
  installReminders(ctx);
}
