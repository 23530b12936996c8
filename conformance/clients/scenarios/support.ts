// What the client scenarios share: failing with evidence, the set-up of a sender and a receiver,
// reading the program's cursor from a request, and bounded waits on the program.
import { CaseFailure } from '../../case.js';
import type { DriverProcess } from '../driver.js';
import type { Exchange } from '../proxy.js';
import type { RegisteredAgent, ScenarioRun } from '../scenario.js';

export function fail(message: string, expected?: unknown, actual?: unknown): never {
  throw new CaseFailure(message, expected, actual);
}

/** IDEM-005: 8 to 128 visible ASCII characters. */
export const VALID_KEY = /^[\x21-\x7e]{8,128}$/;

export const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT']);

export interface Parties {
  sender: RegisteredAgent;
  receiver: RegisteredAgent;
}

/** A sender and a poll receiver the kit drives itself. */
export async function parties(s: ScenarioRun): Promise<Parties> {
  const sender = await s.server.registerAgent('sender', { binding: 'poll' });
  const receiver = await s.server.registerAgent('worker', { binding: 'poll', lease_seconds: 60 });
  return { sender, receiver };
}

export function intentBody(s: ScenarioRun, to: string): { intent_type: string; to_agent: string; payload: Record<string, unknown> } {
  const order = Math.floor(s.random() * 1e9).toString(36);
  return { intent_type: 'client.kit.order.v1', to_agent: to, payload: { order_id: `ord_${order}`, amount_cents: 100 + Math.floor(s.random() * 9900), note: 'café ✓' } };
}

export function problem(status: number, code: string, detail: string): Record<string, unknown> {
  return { type: `https://axp.dev/problems/${code}`, title: detail, status, detail, code };
}

export const isCreate = (e: Exchange) => e.method === 'POST' && e.path === '/v1/intents';

/** The cursor a request resumes from: a non-empty Last-Event-ID wins over since (SSE-005); 0 when neither. */
export function cursorOf(e: Exchange): number {
  const header = e.headers['last-event-id'];
  if (header !== undefined && header.trim() !== '') return Number(header.trim());
  const since = e.query.get('since');
  return since === null || since === '' ? 0 : Number(since);
}

/** Waits (bounded, scaled) for the program to exit by itself; fails when it does not. */
export async function finished(s: ScenarioRun, driver: DriverProcess, what: string, timeoutMs = 15_000): Promise<void> {
  if (!(await driver.waitExit(Math.round(timeoutMs * s.timeoutScale)))) {
    await driver.stop();
    fail(`the program did not finish ${what} within ${Math.round(timeoutMs * s.timeoutScale)} ms`);
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
