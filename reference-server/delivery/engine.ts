// DLV-*: one lease / attempt / retry model for every binding. Bindings only know the engine; the
// engine knows bindings only through the BindingAdapter interface.
//
//   issue()  → a pending delivery row (create, retry timer, redeliver, late registration)
//   claim()  → pending → leased: agent seq, lease, intent.delivered, a `lease` timer
//   ack / resume / resolve → acked;  http 2xx → acked()
//   lease timer or http failure → attemptFailed(): intent.delivery_attempt, then a `retry` timer,
//   or when attempts are exhausted intent.delivery_failed + a dead letter.
import { isoAt, type Clock } from '../clock.js';
import { timeOrderedId } from '../ids.js';
import { Problem } from '../errors.js';
import { isTerminal, transition } from '../lifecycle.js';
import { honourRetryAfter } from '../wire/backoff.js';
import type { IntentTransitions } from '../transitions.js';
import { specRetry, type RetryPolicy } from '../policies.js';
import type { Notifier } from '../notifier.js';
import type { Store, StoreTx, WriteOptions } from '../store/store.js';
import type { Scheduler } from '../scheduler.js';
import {
  HTTP_POLICY_DEFAULTS, POLICY_DEFAULTS,
  type AgentRecord, type Binding, type Delivery, type DeliveryPolicy, type DeliveryRecord, type Intent,
} from '../model.js';

export interface BindingAdapter {
  binding: Binding;
  /** pull: the agent fetches (stream, poll); push: the server hands deliveries over (http, inbox, internal). */
  mode: 'pull' | 'push';
  /** push: called after a commit that left deliveries pending for this agent; claim them. */
  onReady?(agent: AgentRecord): void;
  /** push: true while this process still awaits the receiver's answer to that delivery. */
  awaitingAnswer?(deliveryId: string): boolean;
  /** At registration: throw a Problem to refuse a delivery policy this binding cannot serve. */
  checkPolicy?(policy: DeliveryPolicy, address: string): Promise<void>;
  /** Intent types the server handles itself through this binding (capabilities, INTL-001). */
  readonly handledIntentTypes?: readonly string[];
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

export interface ClaimOptions {
  limit: number;
  /** Lease length; default the agent's lease_seconds; null = no lease (inbox, internal). */
  leaseMs?: number | null;
  /** http: the lease timer waits this much past lease_expires_at, so a push answering at its timeout is judged by its answer. */
  leaseGraceMs?: number;
  /** Append intent.delivered when handing out (default true; http appends it on 2xx instead). */
  markDelivered?: boolean;
  /** Runs in the claiming unit for each delivery (inbox: human_task_assigned; internal: wait + timer). */
  inTx?: (tx: StoreTx, intent: Intent, delivery: DeliveryRecord) => Promise<void>;
  /**
   * At most this many leased deliveries for the agent once the claim is done, counted in the store
   * (HTTP-030: http max_concurrency holds across every process on a shared database).
   */
  maxLeased?: number;
}

export interface AttemptFailure {
  error: string;
  statusCode?: number;
  /** From a Retry-After answer (DLV-015). */
  retryAfterMs?: number;
  /** Stop retrying now (410 Gone, HTTP-016). */
  final?: boolean;
}

export interface IssueOptions {
  agent?: string;
  attempt?: number;
  escalatedFrom?: string;
  /** The intent was created in this unit: it has no open delivery to close. */
  firstDelivery?: boolean;
  /** The receiving agent's record, when this unit has read it already. */
  receiver?: AgentRecord;
}

export const LEASE_TIMER = 'lease';
export const RETRY_TIMER = 'retry';
/** How long a lease that fell due under a push still in flight waits before it looks again. */
const IN_FLIGHT_RECHECK_MS = 5000;

export function effectivePolicy(delivery: Partial<DeliveryPolicy> & { binding: Binding }): DeliveryPolicy {
  const policy: DeliveryPolicy = { ...POLICY_DEFAULTS, ...delivery };
  if (policy.binding === 'http') Object.assign(policy, { ...HTTP_POLICY_DEFAULTS, ...delivery });
  return policy;
}

export function toWireDelivery(intent: Intent, row: DeliveryRecord, fallbackLease: string): Delivery {
  const delivery: Delivery = {
    intent_id: intent.intent_id,
    intent_type: intent.intent_type,
    from_agent: intent.from_agent,
    to_agent: intent.to_agent,
    correlation_id: intent.correlation_id,
    payload: intent.payload,
    status: intent.status,
    deadline_at: intent.deadline_at ?? null,
    reply_to: intent.reply_to ?? null,
    human_task: intent.human_task ?? null,
    seq: row.agent_seq ?? 0,
    delivery_id: row.delivery_id,
    attempt: row.attempt,
    max_delivery_attempts: intent.max_delivery_attempts,
    lease_expires_at: row.lease_expires_at ?? fallbackLease,
  };
  if (intent.metadata) delivery.metadata = intent.metadata;
  if (row.escalated_from) delivery.escalated_from = row.escalated_from;
  return delivery;
}

/**
 * How a claim of one agent's deliveries is submitted: one affinity per agent (its claims keep
 * their order and never race for its agent seq), and the agent row it reads first.
 */
export const claimUnit = (address: string): WriteOptions => ({ affinity: address, reads: { agents: [address] } });

export class DeliveryEngine {
  private readonly adapters = new Map<Binding, BindingAdapter>();
  /** INTL-002: intents the platform handles itself go to its internal agent, whatever to_agent says. */
  private readonly routers: ((intent: Intent) => string | undefined)[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly notifier: Notifier,
    private readonly transitions: IntentTransitions,
    private readonly retry: RetryPolicy = specRetry,
  ) {
    // LC-009: an intent that ends has no open delivery.
    transitions.onTerminal((tx, intent) => this.closeIntent(tx, intent));
    scheduler.register(LEASE_TIMER, async (tx, timer) => {
      const delivery = await tx.getDelivery(String(timer.data.delivery_id));
      if (delivery?.state !== 'leased') return;
      // A push in flight reports its own outcome (its timeout runs on real time, CLK-007); a test-clock
      // advance can pass its lease first (AGT-024). The lease only stands in for a process that died.
      const agent = await tx.getAgent(delivery.agent);
      if (agent && this.adapters.get(agent.delivery.binding)?.awaitingAnswer?.(delivery.delivery_id)) {
        await this.scheduler.schedule(tx, { due_at: this.clock.now() + IN_FLIGHT_RECHECK_MS, kind: LEASE_TIMER, intent_id: delivery.intent_id, data: timer.data });
        return;
      }
      await this.failAttemptInTx(tx, delivery, { error: 'lease_expired' });
    });
    scheduler.register(RETRY_TIMER, async (tx, timer) => {
      const intent = timer.intent_id ? await tx.getIntent(timer.intent_id) : undefined;
      if (!intent || isTerminal(intent.status) || (await tx.openDelivery(intent.intent_id))) return;
      const escalatedFrom = typeof timer.data.escalated_from === 'string' ? timer.data.escalated_from : undefined;
      await this.issue(tx, intent, { agent: String(timer.data.agent), attempt: Number(timer.data.attempt), escalatedFrom });
    });
  }

  /** A router names the agent a new intent is issued to instead of to_agent (undefined: no opinion). */
  routeIntents(router: (intent: Intent) => string | undefined): void {
    this.routers.push(router);
  }

  registerBinding(adapter: BindingAdapter): void {
    this.adapters.set(adapter.binding, adapter);
  }

  bindings(): Binding[] {
    return [...this.adapters.keys()];
  }

  /** Every binding's registration check of a delivery policy (a Problem refuses it). */
  async checkPolicy(policy: DeliveryPolicy, address: string): Promise<void> {
    for (const adapter of this.adapters.values()) await adapter.checkPolicy?.(policy, address);
  }

  /** The intent types the server handles itself (supported_intent_types). */
  supportedIntentTypes(): string[] {
    return [...new Set([...this.adapters.values()].flatMap((a) => a.handledIntentTypes ?? []))];
  }

  adapterFor(binding: Binding): BindingAdapter | undefined {
    return this.adapters.get(binding);
  }

  async start(): Promise<void> {
    for (const adapter of this.adapters.values()) await adapter.start?.();
    // Push bindings pick up what was pending before a restart.
    const agents = await this.store.read((tx) => tx.listAgents());
    for (const agent of agents) this.wakeAgent(agent);
  }

  async stop(): Promise<void> {
    for (const adapter of this.adapters.values()) await adapter.stop?.();
  }

  /** A new pending delivery for the intent (closing any open one). Wakes the agent after commit. */
  async issue(tx: StoreTx, intent: Intent, options: IssueOptions = {}): Promise<DeliveryRecord> {
    const open = options.firstDelivery ? undefined : await tx.openDelivery(intent.intent_id);
    if (open) await this.close(tx, open, 'canceled');
    const row: DeliveryRecord = {
      delivery_id: timeOrderedId(),
      intent_id: intent.intent_id,
      agent: options.agent ?? this.routers.map((route) => route(intent)).find((a) => a !== undefined) ?? intent.to_agent,
      attempt: options.attempt ?? 1,
      state: 'pending',
      agent_seq: null,
      lease_expires_at: null,
      created_at: isoAt(this.clock.now()),
    };
    if (options.escalatedFrom) row.escalated_from = options.escalatedFrom;
    await tx.insertDelivery(row);
    // The agent is read in this unit, not in a unit of its own after the commit (one unit less per create).
    const agent = options.receiver?.address === row.agent ? options.receiver : await tx.getAgent(row.agent);
    // Pull bindings claim in a unit that joins this one's commit where the store groups commits.
    tx.beforeCommit(() => this.notifier.emit(`agent:${row.agent}`));
    if (agent) tx.onCommit(() => this.wakeAgent(agent));
    return row;
  }

  /** After an agent registers or changes binding: deliver what waits for it (AGT-030). */
  async wake(address: string): Promise<void> {
    this.notifier.emit(`agent:${address}`);
    const agent = await this.store.read((tx) => tx.getAgent(address)).catch(() => undefined);
    if (agent) this.wakeAgent(agent);
  }

  private wakeAgent(agent: AgentRecord): void {
    const adapter = this.adapters.get(agent.delivery.binding);
    if (adapter?.mode === 'push') adapter.onReady?.(agent);
  }

  /** Hands out up to `limit` pending deliveries of one agent, in one unit of work. */
  claim(address: string, options: ClaimOptions): Promise<Delivery[]> {
    return this.store.write((tx) => this.claimInTx(tx, address, options), claimUnit(address));
  }

  async claimInTx(tx: StoreTx, address: string, options: ClaimOptions): Promise<Delivery[]> {
    const stored = await tx.getAgent(address);
    if (!stored) return [];
    // Records read from a store are not to be changed in place (the memory store's are frozen).
    const agent = { ...stored };
    const limit = options.maxLeased === undefined ? options.limit
      : Math.min(options.limit, options.maxLeased - (await tx.leasedDeliveries(address, 0)).length);
    if (limit <= 0) return [];
    const rows = await tx.pendingDeliveries(address, limit);
    const now = this.clock.now();
    const out: Delivery[] = [];
    for (const pending of rows) {
      let intent = await tx.getIntent(pending.intent_id);
      if (!intent || isTerminal(intent.status)) {
        await this.close(tx, pending, 'canceled');
        continue;
      }
      const leaseMs = options.leaseMs === undefined ? agent.delivery.lease_seconds * 1000 : options.leaseMs;
      agent.last_delivery_seq += 1;
      const row: DeliveryRecord = {
        ...pending, state: 'leased', agent_seq: agent.last_delivery_seq,
        lease_expires_at: leaseMs === null ? null : isoAt(now + leaseMs),
      };
      await tx.updateDelivery(row);
      const patch = { delivery_attempt: row.attempt };
      if ((options.markDelivered ?? true) && (intent.status === 'SUBMITTED' || intent.status === 'DELIVERED')) {
        // EVT-010: delivered names the delivery, its attempt and the binding it went out on.
        const details = { delivery_id: row.delivery_id, attempt: row.attempt, agent: row.agent, binding: agent.delivery.binding };
        intent = (await this.transitions.apply(tx, intent, 'deliver', { actor: 'system', details, patch })).intent;
      } else {
        intent = { ...intent, ...patch };
        await tx.updateIntent(intent);
      }
      if (leaseMs !== null) {
        await this.scheduler.schedule(tx, { due_at: now + leaseMs + (options.leaseGraceMs ?? 0), kind: LEASE_TIMER, intent_id: intent.intent_id, data: { delivery_id: row.delivery_id } });
      }
      await options.inTx?.(tx, intent, row);
      out.push(toWireDelivery(intent, row, isoAt(now)));
    }
    if (out.length > 0) await tx.putAgent(agent);
    return out;
  }

  /** STR-004: leased, un-acked deliveries of live intents with agent seq > since (for a reconnect). */
  async resendable(address: string, since: number): Promise<Delivery[]> {
    return this.store.read(async (tx) => {
      const out: Delivery[] = [];
      for (const row of await tx.leasedDeliveries(address, since)) {
        const intent = await tx.getIntent(row.intent_id);
        if (intent && !isTerminal(intent.status)) out.push(toWireDelivery(intent, row, isoAt(this.clock.now())));
      }
      return out;
    });
  }

  /**
   * DLV-011, DLV-017: the current delivery is the latest one issued (handed to the receiver), open
   * or not: one whose lease expired (or whose push failed) stays current until a newer one is
   * issued; a pending retry row is not issued yet (DLV-006), so it is never current.
   */
  async currentDelivery(tx: StoreTx, intent: Intent): Promise<DeliveryRecord | undefined> {
    const open = await tx.openDelivery(intent.intent_id);
    if (open?.state === 'leased') return open;
    if (intent.delivery_attempt === 0) return undefined;
    const events = await tx.listEvents(intent.intent_id, 0);
    for (let i = events.length - 1; i >= 0; i -= 1) {
      const event = events[i];
      if (event.event_type === 'intent.submitted') return undefined; // a new delivery round (DLV-022)
      if (event.event_type !== 'intent.delivery_attempt' && event.event_type !== 'intent.delivered') continue;
      const named = (event.details as { delivery_id?: unknown } | undefined)?.delivery_id;
      if (typeof named !== 'string') continue;
      return tx.getDelivery(named);
    }
    return undefined;
  }

  /**
   * DLV-010..DLV-012, DLV-017: acknowledges the intent's current delivery. With a delivery_id that
   * is not the current delivery → 409 stale_delivery.
   */
  async ackInTx(tx: StoreTx, intent: Intent, deliveryId: string | undefined, actor: string) {
    const current = await this.currentDelivery(tx, intent);
    if (deliveryId !== undefined && current?.delivery_id !== deliveryId) {
      if (isTerminal(intent.status)) throw new Problem('intent_terminal');
      throw new Problem('stale_delivery', `delivery ${deliveryId} is not the intent's current delivery`);
    }
    const applied = await this.transitions.apply(tx, intent, 'ack', { actor, details: current ? { delivery_id: current.delivery_id, attempt: current.attempt } : undefined });
    await this.settleOpen(tx, intent);
    if (current?.state === 'failed') await tx.updateDelivery({ ...current, state: 'acked' });
    return applied;
  }

  /**
   * DLV-018: resume and resolve also acknowledge an open delivery (no extra event); with an ack
   * they cancel a scheduled redelivery and an un-issued retry (DLV-017).
   */
  async settleOpen(tx: StoreTx, intent: Intent): Promise<void> {
    const open = await tx.openDelivery(intent.intent_id);
    if (open) await this.close(tx, open, open.state === 'leased' ? 'acked' : 'canceled');
    await tx.cancelTimers(intent.intent_id, RETRY_TIMER);
  }

  /** RES-013: a delivery_id in a resume or resolve body must name a delivery of this intent. */
  async assertDeliveryOf(tx: StoreTx, intent: Intent, deliveryId: string | undefined): Promise<void> {
    if (deliveryId === undefined) return;
    const row = await tx.getDelivery(deliveryId);
    if (row?.intent_id === intent.intent_id) return;
    if (isTerminal(intent.status)) throw new Problem('intent_terminal');
    throw new Problem('stale_delivery', `delivery ${deliveryId} is not a delivery of this intent`);
  }

  /**
   * HTTP-020, LC-013: a 2xx from the receiver = delivered + acknowledged; a closed delivery adds
   * nothing. A push whose lease timer fired first (a test-clock advance outran the real request)
   * is still the current delivery until a newer one is issued, so its 2xx counts (DLV-017, AGT-024).
   */
  async acked(deliveryId: string, actor = 'system'): Promise<void> {
    await this.store.write(async (tx) => {
      const row = await tx.getDelivery(deliveryId);
      if (!row || (row.state !== 'leased' && row.state !== 'failed')) return;
      let intent = await tx.getIntent(row.intent_id);
      if (!intent || isTerminal(intent.status)) return;
      if (row.state === 'failed' && (await this.currentDelivery(tx, intent))?.delivery_id !== row.delivery_id) return;
      const agent = await tx.getAgent(row.agent);
      const details = { delivery_id: row.delivery_id, attempt: row.attempt };
      const deliveredDetails = agent ? { ...details, binding: agent.delivery.binding } : details;
      // An intent already DELIVERED by an attempt on another binding gets this attempt's delivered too (AGT-024).
      if (intent.status === 'SUBMITTED' || intent.status === 'DELIVERED') {
        intent = (await this.transitions.apply(tx, intent, 'deliver', { actor, details: deliveredDetails })).intent;
      }
      if (intent.status === 'DELIVERED') await this.transitions.apply(tx, intent, 'ack', { actor, details });
      if (row.state === 'leased') await this.close(tx, row, 'acked');
      else await tx.updateDelivery({ ...row, state: 'acked' });
      await this.settleOpen(tx, intent);
    });
  }

  /** A binding reports a failed attempt (http non-2xx, timeout, refused). */
  async attemptFailed(deliveryId: string, failure: AttemptFailure): Promise<void> {
    await this.store.write(async (tx) => {
      const row = await tx.getDelivery(deliveryId);
      if (row?.state === 'leased') await this.failAttemptInTx(tx, row, failure);
    });
  }

  /** DLV-011..DLV-020: one failed attempt; retry with backoff, or dead-letter when exhausted. */
  async failAttemptInTx(tx: StoreTx, row: DeliveryRecord, failure: AttemptFailure): Promise<void> {
    const intent = await tx.getIntent(row.intent_id);
    if (!intent || isTerminal(intent.status)) return this.close(tx, row, 'canceled');
    await this.close(tx, row, 'failed');
    const agent = await tx.getAgent(row.agent);
    const policy = agent?.delivery ?? effectivePolicy({ binding: 'stream' });
    const exhausted = failure.final === true || row.attempt >= intent.max_delivery_attempts;
    const delay = exhausted ? undefined
      : failure.retryAfterMs !== undefined ? honourRetryAfter(policy, row.attempt, failure.retryAfterMs)
        : this.retry.delayMs(policy, row.attempt);
    const nextAt = delay === undefined ? null : this.clock.now() + delay;
    const details: Record<string, unknown> = { attempt: row.attempt, error: failure.error, next_attempt_at: nextAt === null ? null : isoAt(nextAt), delivery_id: row.delivery_id };
    if (failure.statusCode !== undefined) details.status_code = failure.statusCode;
    // INTL-014: an escalation delivery appends only what the state table allows and never fails the intent.
    const escalation = row.escalated_from !== undefined;
    const attempted = escalation && !transition(intent.status, 'attempt_failed').ok
      ? { intent } : await this.transitions.apply(tx, intent, 'attempt_failed', { actor: 'system', details });
    if (nextAt !== null) {
      const data: Record<string, unknown> = { attempt: row.attempt + 1, agent: row.agent };
      if (row.escalated_from) data.escalated_from = row.escalated_from;
      await this.scheduler.schedule(tx, { due_at: nextAt, kind: RETRY_TIMER, intent_id: intent.intent_id, data });
      return;
    }
    if (escalation) return;
    const failedAt = isoAt(this.clock.now());
    await this.transitions.apply(tx, attempted.intent, 'delivery_failed', {
      actor: 'system',
      details: { attempts: row.attempt, last_error: failure.error },
      patch: { error: { code: 'delivery_failed', message: `delivery failed after ${row.attempt} attempt(s): ${failure.error}` } },
    });
    await tx.putDeadLetter({
      intent_id: intent.intent_id, to_agent: row.agent, intent_type: intent.intent_type, binding: policy.binding,
      attempts: row.attempt, last_error: failure.error, last_status_code: failure.statusCode ?? null,
      failed_at: failedAt, redelivered_at: null,
    });
  }

  /** DLV-022: an admin reopens a dead-lettered intent; attempts are counted afresh. */
  async redeliverInTx(tx: StoreTx, intent: Intent, actor: string) {
    const letter = await tx.getDeadLetter(intent.intent_id);
    if (intent.status === 'FAILED' && (!letter || letter.redelivered_at !== null)) {
      throw new Problem('illegal_transition', 'only a dead-lettered intent can be redelivered');
    }
    const applied = await this.transitions.apply(tx, intent, 'redeliver', {
      actor, details: { redelivery: true }, clear: ['error'], patch: { delivery_attempt: 0, pending_with: intent.to_agent },
    });
    if (letter) await tx.putDeadLetter({ ...letter, redelivered_at: isoAt(this.clock.now()) });
    await this.issue(tx, applied.intent, { agent: letter?.to_agent ?? intent.to_agent });
    return applied;
  }

  /** LC-009: the open delivery of an intent that became terminal is canceled. */
  private async closeIntent(tx: StoreTx, intent: Intent): Promise<void> {
    const open = await tx.openDelivery(intent.intent_id);
    if (open) await this.close(tx, open, 'canceled');
  }

  private async close(tx: StoreTx, row: DeliveryRecord, state: 'acked' | 'failed' | 'canceled'): Promise<void> {
    await tx.updateDelivery({ ...row, state });
    if (row.state === 'leased') await tx.cancelTimers(row.intent_id, LEASE_TIMER);
  }
}
