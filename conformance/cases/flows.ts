// The set-ups most cases open with: a sender, a worker, an intent between them and its first
// delivery, registered and issued in that order. Each step asserts exactly what the step it stands
// for asserted inline (through support.ts), so a case still fails where it failed before.
import type { CaseContext, RegisteredAgent } from '../case.js';
import { agent, pollFor, send, writeOk, type Wire } from './support.js';

export interface Flow {
  /**
   * How the worker is registered: overrides of its short poll policy (default none), or a function
   * that registers it on another binding.
   */
  worker?: Record<string, unknown> | ((ctx: CaseContext) => Promise<RegisteredAgent>);
  /** Extra fields of the create body. */
  intent?: Record<string, unknown>;
}

export interface Pair { sender: RegisteredAgent; worker: RegisteredAgent }
export interface Sent extends Pair { i: Wire }
export interface Polled extends Sent { d: Wire }

/** A poll sender, then the worker. */
export async function pair(ctx: CaseContext, flow: Flow = {}): Promise<Pair> {
  const sender = await agent(ctx, 'sender', 'poll');
  const worker = typeof flow.worker === 'function' ? await flow.worker(ctx) : await agent(ctx, 'worker', 'poll', flow.worker);
  return { sender, worker };
}

/** {@link pair}, then an intent from the sender to the worker. */
export async function sentIntent(ctx: CaseContext, flow: Flow = {}): Promise<Sent> {
  const { sender, worker } = await pair(ctx, flow);
  const i = await send(ctx, sender, worker.address, flow.intent);
  return { sender, worker, i };
}

/** {@link sentIntent}, then its first delivery, polled by the worker. */
export async function polledIntent(ctx: CaseContext, flow: Flow = {}): Promise<Polled> {
  const sent = await sentIntent(ctx, flow);
  const d = await pollFor(ctx, sent.worker, sent.i.intent_id);
  return { ...sent, d };
}

/** An ack that must succeed, appending intent.acknowledged (DLV-010); `body` undefined sends none. */
export async function ackOk(ctx: CaseContext, id: string, key: string | undefined, body: unknown): Promise<Wire> {
  return writeOk(ctx, id, 'ack', key, body, 'intent.acknowledged', 'ACKNOWLEDGED');
}
