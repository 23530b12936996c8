// URL paths of the API (schemas/routes.ts). An agent address appears without `agent://`, its
// slashes kept (TERM-003): agent://acme/prod/payments → /v1/agents/acme/prod/payments.
import type { Status } from '../schemas/types.js';

export function agentPath(address: string): string {
  const bare = address.replace(/^agent:\/\//, '');
  return `/v1/agents/${bare.split('/').map(encodeURIComponent).join('/')}`;
}

export function intentPath(intentId: string, action?: string): string {
  return `/v1/intents/${encodeURIComponent(intentId)}${action ? `/${action}` : ''}`;
}

export function threadPath(threadId: string, action?: string): string {
  return `/v1/inbox/${encodeURIComponent(threadId)}${action ? `/${action}` : ''}`;
}

const TERMINAL: ReadonlySet<Status> = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT']);

/** LC-004: terminal statuses are final. */
export function isTerminal(status: Status): boolean {
  return TERMINAL.has(status);
}
