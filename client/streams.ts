// The two long-lived reads of the protocol: observe (events of one intent, SSE-001) and listen
// (deliveries to one agent, STR-001 / POLL-001). Every SSE response is bounded by wait_seconds,
// so both reconnect with their cursor, as EventSource would; a lost connection or a 429/5xx is
// retried a bounded number of times in a row, since a cursor read is safe to repeat.
import type { Delivery, DeliveryListResponse, Event, EventListResponse, IntentResponse, StreamTimeoutFrame } from '../schemas/types.js';
import { AxpError } from './errors.js';
import { agentPath, intentPath, isTerminal } from './paths.js';
import { sseMessages } from './sse.js';
import { sleep, type Transport } from './transport.js';

export interface ObserveOptions {
  /** Start after this event seq (exclusive); 0 replays the whole history. */
  since?: number;
  /** How long each SSE response may stay open (0..60, default 15). */
  waitSeconds?: number;
  signal?: AbortSignal;
  /** Consecutive failed connections tolerated before the error is thrown (default 5). */
  maxReconnects?: number;
}

export interface ListenOptions extends ObserveOptions {
  binding?: 'stream' | 'poll';
  /** poll: deliveries per answer (1..500). */
  limit?: number;
}

export interface PollOptions {
  waitSeconds?: number;
  limit?: number;
  signal?: AbortSignal;
}

function timeoutCursor(data: unknown): number | undefined {
  const next = (data as Partial<StreamTimeoutFrame> | undefined)?.next_seq;
  return typeof next === 'number' ? next : undefined;
}

const MAX_PAUSE_MS = 10_000;

async function retryPause(error: unknown, failures: number, options: ObserveOptions): Promise<void> {
  const retryable = error instanceof AxpError && error.retryable;
  if (!retryable || failures > (options.maxReconnects ?? 5)) throw error;
  const afterMs = error instanceof AxpError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
  // CLI-005: never reconnect before Retry-After; one longer than the longest pause ends the read.
  if (afterMs > MAX_PAUSE_MS) throw error;
  // An abort during the pause just ends the caller's loop.
  await sleep(Math.ceil(Math.max(afterMs, Math.min(MAX_PAUSE_MS, 200 * 2 ** (failures - 1)))), options.signal).catch(() => undefined);
}

export async function* observeEvents(transport: Transport, intentId: string, options: ObserveOptions = {}): AsyncGenerator<Event> {
  let since = options.since ?? 0;
  let failures = 0;
  const waitSeconds = options.waitSeconds ?? 15;
  while (!options.signal?.aborted) {
    let sawEvent = false;
    try {
      const response = await transport.open(`${intentPath(intentId)}/events/stream`, { query: { since, wait_seconds: waitSeconds }, signal: options.signal, holdMs: waitSeconds * 1000 });
      for await (const message of sseMessages(response, options.signal)) {
        if (message.event === 'stream.timeout') {
          since = Math.max(since, timeoutCursor(message.data) ?? since);
          continue;
        }
        const event = message.data as Event;
        if (typeof event.seq !== 'number' || event.seq <= since) continue;
        since = event.seq;
        sawEvent = true;
        failures = 0;
        yield event;
        if (isTerminal(event.status)) return;
      }
      if (!sawEvent) {
        // An idle window: the intent may have ended before we connected (SSE streams of a terminal
        // intent end at once). Read the status first, then the backlog, so no event slips between.
        const { intent } = await transport.json<IntentResponse>('GET', intentPath(intentId), { signal: options.signal });
        const { events } = await transport.json<EventListResponse>('GET', `${intentPath(intentId)}/events`, { query: { since }, signal: options.signal });
        for (const event of events) {
          if (event.seq <= since) continue;
          since = event.seq;
          yield event;
          if (isTerminal(event.status)) return;
        }
        if (isTerminal(intent.status)) return;
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      await retryPause(error, ++failures, options);
    }
  }
}

export async function pollOnce(transport: Transport, address: string, options: PollOptions = {}): Promise<Delivery[]> {
  const waitSeconds = options.waitSeconds ?? 0;
  const answer = await transport.json<DeliveryListResponse>('GET', `${agentPath(address)}/intents`, {
    query: { wait_seconds: waitSeconds, limit: options.limit },
    signal: options.signal,
    holdMs: waitSeconds * 1000,
  });
  return answer.deliveries;
}

export async function* listenDeliveries(transport: Transport, address: string, options: ListenOptions = {}): AsyncGenerator<Delivery> {
  let since = options.since ?? 0;
  let failures = 0;
  while (!options.signal?.aborted) {
    try {
      if (options.binding === 'poll') {
        const deliveries = await pollOnce(transport, address, { waitSeconds: options.waitSeconds ?? 15, limit: options.limit, signal: options.signal });
        failures = 0;
        for (const delivery of deliveries) yield delivery;
        continue;
      }
      const query = { since, wait_seconds: options.waitSeconds ?? 15 };
      const response = await transport.open(`${agentPath(address)}/intents/stream`, { query, signal: options.signal, holdMs: query.wait_seconds * 1000 });
      failures = 0;
      for await (const message of sseMessages(response, options.signal)) {
        if (message.event === 'stream.timeout') {
          since = Math.max(since, timeoutCursor(message.data) ?? since);
          continue;
        }
        const delivery = message.data as Delivery;
        if (typeof delivery.seq !== 'number' || delivery.seq <= since) continue;
        since = delivery.seq;
        yield delivery;
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      await retryPause(error, ++failures, options);
    }
  }
}
