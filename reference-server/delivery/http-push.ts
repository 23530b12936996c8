// HTTP-001..HTTP-032: the http binding. The server POSTs each delivery to the agent's url, signed
// afresh per attempt, through one undici Agent. Every agent has its own lane with at most
// `max_concurrency` pushes in flight, so a hanging receiver only ever fills its own lane (HTTP-031).
//
// Durability: a push is claimed (leased for timeout_ms, its timer a margin later) in one write unit before the
// request leaves, and its outcome is written by engine.acked / engine.attemptFailed. A process
// that dies in between leaves a leased delivery whose lease timer brings it back as a failed
// attempt after a restart (DLV-027), so no attempt is ever lost or counted twice.
import { Agent, request, type Dispatcher } from 'undici';
import { parseRetryAfter } from '../wire/backoff.js';
import { signPush } from '../wire/signature.js';
import { CALLBACK_REFUSED_CODE, assertCallbackAllowed, guardedLookup, literalHostRefused } from '../security/ssrf.js';
import { signingSecrets } from './secrets.js';
import { HTTP_POLICY_DEFAULTS, type AgentRecord, type Delivery, type DeliveryPolicy } from '../model.js';
import type { AttemptFailure, BindingAdapter } from './engine.js';
import type { ServerContext } from '../context.js';

/** How long past timeout_ms the lease timer waits, so an attempt is judged by its own outcome (timeout included). */
export const PUSH_LEASE_MARGIN_MS = 2000;
export const USER_AGENT = 'axp-reference-server (axp/1)';

const TIMED_OUT = Symbol('timeout');

interface Lane { inFlight: number; claiming: boolean; again: boolean }

export type Outcome = { ok: true } | { ok: false; failure: AttemptFailure };

export interface HttpPushOptions {
  log?: (message: string, error?: unknown) => void;
  /** undici interceptors every push passes through (an egress proxy, tracing). */
  interceptors?: Dispatcher.DispatcherComposeInterceptor[];
}

export class HttpPushAdapter implements BindingAdapter {
  readonly binding = 'http' as const;
  readonly mode = 'push' as const;
  private readonly dispatcher: Dispatcher;
  private readonly lanes = new Map<string, Lane>();
  private readonly inFlight = new Set<AbortController>();
  /** Delivery ids whose push awaits its answer (the engine's lease timer defers to them). */
  private readonly pushing = new Set<string>();
  private readonly log: (message: string, error?: unknown) => void;
  private stopped = false;

  constructor(private readonly ctx: ServerContext, options: HttpPushOptions = {}) {
    this.log = options.log ?? (() => {});
    // SEC-021: without allowPrivateCallbacks every connection resolves through the guard, so the
    // address checked is the address connected to. undici never follows redirects by itself (SEC-022).
    const connect = ctx.settings.allowPrivateCallbacks ? {} : { lookup: guardedLookup };
    const agent = new Agent({ connect, keepAliveTimeout: 4000 });
    this.dispatcher = options.interceptors?.length ? agent.compose(...options.interceptors) : agent;
  }

  start(): void {
    this.stopped = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Aborted pushes are not reported: their leases bring them back after the restart.
    for (const controller of this.inFlight) controller.abort();
    await this.dispatcher.destroy().catch(() => {});
  }

  onReady(agent: AgentRecord): void {
    void this.pump(agent.address);
  }

  /** SEC-020, SEC-023, HTTP-032: a callback URL is checked at registration too, not only per push. */
  async checkPolicy(policy: DeliveryPolicy): Promise<void> {
    if (policy.binding === 'http' && policy.url !== undefined) await assertCallbackAllowed(policy.url, this.ctx.settings.allowPrivateCallbacks);
  }

  awaitingAnswer(deliveryId: string): boolean {
    return this.pushing.has(deliveryId);
  }

  private lane(address: string): Lane {
    let lane = this.lanes.get(address);
    if (!lane) {
      lane = { inFlight: 0, claiming: false, again: false };
      this.lanes.set(address, lane);
    }
    return lane;
  }

  /** Claims as many pending deliveries as the lane has free slots and sends them. */
  private async pump(address: string): Promise<void> {
    const lane = this.lane(address);
    if (lane.claiming) { lane.again = true; return; }
    lane.claiming = true;
    try {
      do {
        lane.again = false;
        if (this.stopped) return;
        const agent = await this.ctx.store.read((tx) => tx.getAgent(address));
        if (!agent || agent.delivery.binding !== 'http' || !agent.delivery.url) return;
        const free = (agent.delivery.max_concurrency ?? HTTP_POLICY_DEFAULTS.max_concurrency) - lane.inFlight;
        if (free <= 0) return; // HTTP-030: a finishing push pumps again
        const timeoutMs = agent.delivery.timeout_ms ?? HTTP_POLICY_DEFAULTS.timeout_ms;
        // DLV-005: the lease the receiver sees is timeout_ms; the lease timer waits a margin longer.
        // HTTP-030: on a shared database the other processes' pushes count too (the backstop re-pumps).
        const maxLeased = this.ctx.store.kind === 'postgres' ? agent.delivery.max_concurrency ?? HTTP_POLICY_DEFAULTS.max_concurrency : undefined;
        const deliveries = await this.ctx.engine.claim(address, { limit: free, leaseMs: timeoutMs, leaseGraceMs: PUSH_LEASE_MARGIN_MS, markDelivered: false, maxLeased });
        for (const delivery of deliveries) this.launch(lane, agent, delivery);
        if (deliveries.length === free) lane.again = true;
      } while (lane.again);
    } catch (error) {
      if (!this.stopped) this.log(`http push: claiming for ${address} failed`, error);
    } finally {
      lane.claiming = false;
    }
  }

  private launch(lane: Lane, agent: AgentRecord, delivery: Delivery): void {
    lane.inFlight += 1;
    this.pushing.add(delivery.delivery_id);
    void this.attempt(agent, delivery)
      .catch((error: unknown) => { if (!this.stopped) this.log(`http push: recording attempt of ${delivery.intent_id} failed`, error); })
      .finally(() => {
        this.pushing.delete(delivery.delivery_id);
        lane.inFlight -= 1;
        void this.pump(agent.address);
      });
  }

  private async attempt(agent: AgentRecord, delivery: Delivery): Promise<void> {
    const outcome = await this.send(agent, delivery);
    if (outcome === undefined) return;
    if (outcome.ok) await this.ctx.engine.acked(delivery.delivery_id);
    else await this.ctx.engine.attemptFailed(delivery.delivery_id, outcome.failure);
  }

  /** One POST; undefined when the server is stopping (the lease will bring the attempt back). */
  private async send(agent: AgentRecord, delivery: Delivery): Promise<Outcome | undefined> {
    const url = new URL(agent.delivery.url as string);
    // SEC-021: an address literal is connected to without any lookup, so it is checked here.
    if (!this.ctx.settings.allowPrivateCallbacks && literalHostRefused(url)) {
      return { ok: false, failure: { error: 'callback_url_refused', final: true } };
    }
    const body = JSON.stringify(delivery);
    // HTTP-003: webhook-timestamp is the wall-clock send time even under the test clock, because
    // receivers compare it with their own clock to refuse replays (HTTP-013); I/O stays real (CLK-007).
    const timestamp = Math.floor(Date.now() / 1000);
    const secrets = signingSecrets(agent.secrets, this.ctx.clock.now());
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      ...signPush(secrets, delivery.intent_id, timestamp, body),
    };
    const timeoutMs = agent.delivery.timeout_ms ?? HTTP_POLICY_DEFAULTS.timeout_ms;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMED_OUT), timeoutMs);
    this.inFlight.add(controller);
    try {
      const response = await request(url, {
        method: 'POST', headers, body, dispatcher: this.dispatcher, signal: controller.signal,
        headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
      });
      // HTTP-020: the answer's body is ignored; drain it so the connection can be reused.
      response.body.dump().catch(() => {});
      return classifyStatus(response.statusCode, response.headers['retry-after']);
    } catch (error) {
      if (this.stopped) return undefined;
      return { ok: false, failure: classifyError(error, controller.signal.reason === TIMED_OUT) };
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }
}

/** HTTP-020..HTTP-023, HTTP-026 (Retry-After on any failed answer; an unparseable one is ignored). */
export function classifyStatus(status: number, retryAfter: string | string[] | undefined): Outcome {
  if (status >= 200 && status < 300) return { ok: true };
  const failure: AttemptFailure = { error: 'http_status', statusCode: status };
  if (status === 410) failure.final = true;
  else {
    const value = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
    const ms = parseRetryAfter(value, Date.now());
    if (ms !== undefined) failure.retryAfterMs = ms;
  }
  return { ok: false, failure };
}

function errorCode(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  // undici wraps socket errors; the errno code may sit on a cause.
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('UND_ERR_ABORT')) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return '';
}

/** HTTP-024, HTTP-025, SEC-021: transport failures by kind. */
export function classifyError(error: unknown, timedOut: boolean): AttemptFailure {
  if (timedOut) return { error: 'timeout' };
  const code = errorCode(error);
  if (code === CALLBACK_REFUSED_CODE) return { error: 'callback_url_refused', final: true };
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return { error: 'timeout' };
  if (code === 'ECONNREFUSED') return { error: 'connection_refused' };
  if (code === 'ENOTFOUND' || code.startsWith('EAI_')) return { error: 'dns_failure' };
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH)/.test(code)) return { error: 'tls_failure' };
  return { error: 'connection_reset' };
}
