// AxpClient: the reference client. One instance speaks with one API key (an agent's or the
// admin's); `withKey` makes a sibling for another agent sharing the same connection pool.
import type { Dispatcher } from 'undici';
import type {
  AgentRegistrationRequest, AgentRegistrationResponse, Capabilities, Delivery, DeliveryPolicy, Event, EventListResponse,
  HealthResponse, Intent, IntentCreateRequest, IntentResponse, IntentWriteResponse, Reason, ResolveRequest, ResumeRequest,
} from '../schemas/types.js';
import { AxpError } from './errors.js';
import { InboxApi, keyOf, type WriteOptions } from './inbox.js';
import { agentPath, intentPath } from './paths.js';
import { listenDeliveries, observeEvents, pollOnce, type ListenOptions, type ObserveOptions, type PollOptions } from './streams.js';
import { Transport, type RetryPolicy, type TransportOptions } from './transport.js';

export interface AxpClientOptions {
  /** Server root, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** An agent key (`axp_…`) or the admin key. */
  apiKey?: string;
  dispatcher?: Dispatcher;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
  onRetry?: TransportOptions['onRetry'];
}

export interface WaitOptions extends ObserveOptions {
  /** Give up after this long (AxpError code wait_timeout); default: wait as long as it takes. */
  timeoutMs?: number;
  /** Each event as it arrives. */
  onEvent?: (event: Event) => void;
}

export class AxpClient {
  readonly inbox: InboxApi;
  private readonly transport: Transport;

  constructor(private readonly options: AxpClientOptions) {
    this.transport = new Transport(options);
    this.inbox = new InboxApi(this.transport);
  }

  /** A client for another key, same server and settings. */
  withKey(apiKey: string): AxpClient {
    return new AxpClient({ ...this.options, apiKey });
  }

  health(signal?: AbortSignal): Promise<HealthResponse> {
    return this.transport.json('GET', '/health', { signal });
  }

  capabilities(signal?: AbortSignal): Promise<Capabilities> {
    return this.transport.json('GET', '/v1/capabilities', { signal });
  }

  /** Admin: register or update an agent. api_key (and secret for http) are in the answer once. */
  registerAgent(address: string, delivery: DeliveryPolicy, extra: Omit<AgentRegistrationRequest, 'delivery'> = {}): Promise<AgentRegistrationResponse> {
    return this.transport.json('PUT', agentPath(address), { body: { ...extra, delivery } });
  }

  /** INT-001 / IDEM-001: sends with an Idempotency-Key (fresh unless given), so retries cannot duplicate. */
  sendIntent(intent: IntentCreateRequest, options?: WriteOptions): Promise<IntentResponse> {
    return this.transport.json('POST', '/v1/intents', { body: intent, idempotencyKey: keyOf(options), signal: options?.signal });
  }

  /** SSE-020: with waitSeconds the server holds the answer until the intent is terminal or the time is up. */
  getIntent(intentId: string, options: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<IntentResponse> {
    const waitSeconds = options.waitSeconds;
    return this.transport.json('GET', intentPath(intentId), { query: { wait_seconds: waitSeconds }, signal: options.signal, holdMs: (waitSeconds ?? 0) * 1000 });
  }

  /** EVT-005: events with seq > since. */
  async listEvents(intentId: string, since = 0, signal?: AbortSignal): Promise<Event[]> {
    const answer = await this.transport.json<EventListResponse>('GET', `${intentPath(intentId)}/events`, { query: { since }, signal });
    return answer.events;
  }

  /** Events as they happen, reconnecting with the cursor until a terminal event. */
  observe(intentId: string, options?: ObserveOptions): AsyncGenerator<Event> {
    return observeEvents(this.transport, intentId, options);
  }

  /** Observes until the intent is terminal and returns it as stored. */
  async waitFor(intentId: string, options: WaitOptions = {}): Promise<Intent> {
    const timer = new AbortController();
    const handle = options.timeoutMs === undefined ? undefined : setTimeout(() => timer.abort(), options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timer.signal]) : timer.signal;
    try {
      for await (const event of this.observe(intentId, { ...options, signal })) options.onEvent?.(event);
    } finally {
      clearTimeout(handle);
    }
    if (timer.signal.aborted) throw new AxpError({ status: 0, code: 'wait_timeout', message: `intent ${intentId} not terminal after ${options.timeoutMs} ms` });
    options.signal?.throwIfAborted();
    return (await this.getIntent(intentId)).intent;
  }

  /** Agent side: deliveries as they come, over the stream binding (default) or by long poll. */
  listen(address: string, options?: ListenOptions): AsyncGenerator<Delivery> {
    return listenDeliveries(this.transport, address, options);
  }

  /** One poll (POLL-001): what is ready now, or within waitSeconds. */
  poll(address: string, options?: PollOptions): Promise<Delivery[]> {
    return pollOnce(this.transport, address, options);
  }

  /** DLV-010: acknowledge a delivery; without deliveryId the intent's current one. */
  ack(intentId: string, deliveryId?: string, signal?: AbortSignal): Promise<IntentWriteResponse> {
    return this.transport.json('POST', intentPath(intentId, 'ack'), { body: deliveryId ? { delivery_id: deliveryId } : {}, signal });
  }

  /** RES-003: progress, wait, complete or fail. */
  resume(intentId: string, body: ResumeRequest, options?: WriteOptions): Promise<IntentWriteResponse> {
    return this.transport.json('POST', intentPath(intentId, 'resume'), { body, idempotencyKey: keyOf(options), signal: options?.signal });
  }

  /** RES-010: end the intent with a terminal status. */
  resolve(intentId: string, body: ResolveRequest, options?: WriteOptions): Promise<IntentWriteResponse> {
    return this.transport.json('POST', intentPath(intentId, 'resolve'), { body, idempotencyKey: keyOf(options), signal: options?.signal });
  }

  /** RES-020: sender or admin. */
  cancel(intentId: string, reason?: Reason, options?: WriteOptions): Promise<IntentWriteResponse> {
    return this.transport.json('POST', intentPath(intentId, 'cancel'), { body: reason ? { reason } : {}, idempotencyKey: keyOf(options), signal: options?.signal });
  }
}
