// The set-ups most cases open with: a sender, a worker, an intent between them and its first
// delivery, registered and issued in that order. Each step asserts exactly what the step it stands
// for asserted inline (through support.ts), so a case still fails where it failed before.
import type { CaseContext, RegisteredAgent } from '../case.js';
import { agent, fit, pollFor, send, writeOk, type Wire } from './support.js';

export interface Flow {
  /**
   * How the worker is registered: overrides of its short poll policy (default none), or a function
   * that registers it on another binding.
   */
  worker?: Record<string, unknown> | ((ctx: CaseContext) => Promise<RegisteredAgent>);
  /** Also a poll agent `stranger`, registered right after the worker (a third party for 403/404 checks). */
  stranger?: true;
  /** Extra fields of the create body. */
  intent?: Record<string, unknown>;
  /**
   * The default worker holds its deliveries for a minute (lease_seconds 60, fitted): for cases not
   * about leases, so that in real time on a slow machine no lease expires while the case works.
   */
  longLease?: true;
}

export interface Pair { sender: RegisteredAgent; worker: RegisteredAgent }
export interface Sent extends Pair { i: Wire }
export interface Polled extends Sent { d: Wire }
/** `T`, with the stranger when the flow asked for one. */
export type WithStranger<F extends Flow, T> = F extends { stranger: true } ? T & { stranger: RegisteredAgent } : T;

/** A poll sender, then the worker (then the stranger). */
export async function pair<F extends Flow>(ctx: CaseContext, flow: F = {} as F): Promise<WithStranger<F, Pair>> {
  const sender = await agent(ctx, 'sender', 'poll');
  const worker = typeof flow.worker === 'function'
    ? await flow.worker(ctx)
    : await agent(ctx, 'worker', 'poll', flow.longLease ? { lease_seconds: fit(ctx, 'lease_seconds', 60), ...flow.worker } : flow.worker);
  const stranger = flow.stranger ? await agent(ctx, 'stranger', 'poll') : undefined;
  return { sender, worker, ...(stranger ? { stranger } : {}) } as WithStranger<F, Pair>;
}

/** {@link pair}, then an intent from the sender to the worker. */
export async function sentIntent<F extends Flow>(ctx: CaseContext, flow: F = {} as F): Promise<WithStranger<F, Sent>> {
  const parties: Pair = await pair(ctx, flow);
  const i = await send(ctx, parties.sender, parties.worker.address, flow.intent);
  return { ...parties, i } as WithStranger<F, Sent>;
}

/** {@link sentIntent}, then its first delivery, polled by the worker. */
export async function polledIntent<F extends Flow>(ctx: CaseContext, flow: F = {} as F): Promise<WithStranger<F, Polled>> {
  const sent: Sent = await sentIntent(ctx, flow);
  const d = await pollFor(ctx, sent.worker, sent.i.intent_id);
  return { ...sent, d } as WithStranger<F, Polled>;
}

/** An ack that must succeed, appending intent.acknowledged (DLV-010); `body` undefined sends none. */
export async function ackOk(ctx: CaseContext, id: string, key: string | undefined, body: unknown): Promise<Wire> {
  return writeOk(ctx, id, 'ack', key, body, 'intent.acknowledged', 'ACKNOWLEDGED');
}
