// One HTTP seam for the whole client (undici). Retries happen here and only for requests that
// carry an Idempotency-Key: the server replays the first answer for a repeated key (IDEM-002), so
// sending again after a 429, a 5xx or a lost connection cannot act twice. Anything else fails at once.
import { request, type Dispatcher } from 'undici';
import { AxpError, isProblem } from './errors.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RetryPolicy {
  /** Sends in total, first one included (default 4). */
  maxAttempts: number;
  /** Delay before the first retry; doubles per retry, ±20 % jitter (default 250 ms). */
  initialDelayMs: number;
  /** Upper bound of any backoff delay (default 10 s); a Retry-After longer than this ends the retries (CLI-005). */
  maxDelayMs: number;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey?: string;
  dispatcher?: Dispatcher;
  retry?: Partial<RetryPolicy>;
  /** Per-request bound, added to any wait_seconds the request asks the server for (default 30 s). */
  requestTimeoutMs?: number;
  /** Called before each retry: for logs and demos. */
  onRetry?: (info: { method: string; path: string; attempt: number; delayMs: number; error: AxpError }) => void;
}

export interface SendOptions {
  query?: Query;
  body?: unknown;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Extra milliseconds the server may legitimately hold the request (long polls). */
  holdMs?: number;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']);

export class Transport {
  readonly baseUrl: string;
  private readonly retry: RetryPolicy;

  constructor(readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.retry = { maxAttempts: 4, initialDelayMs: 250, maxDelayMs: 10_000, ...options.retry };
  }

  url(path: string, query?: Query): string {
    const url = new URL(path.replace(/^\//, ''), this.baseUrl);
    for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    return url.toString();
  }

  headers(extra?: Record<string, string>, json = false): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (json) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers['x-api-key'] = this.options.apiKey;
    return { ...headers, ...extra };
  }

  /** Sends one JSON request and returns the parsed 200 body; retries only with an Idempotency-Key. */
  async json<T>(method: Dispatcher.HttpMethod, path: string, options: SendOptions = {}): Promise<T> {
    const attempts = options.idempotencyKey ? this.retry.maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, options);
      } catch (error) {
        if (!(error instanceof AxpError) || !error.retryable || attempt >= attempts || options.signal?.aborted) throw error;
        // CLI-005: never before Retry-After; when it asks for more than we wait, give the error back instead.
        if (error.retryAfterSeconds !== undefined && error.retryAfterSeconds * 1000 > this.retry.maxDelayMs) throw error;
        const delayMs = this.retryDelay(attempt, error.retryAfterSeconds);
        this.options.onRetry?.({ method, path, attempt, delayMs, error });
        await sleep(delayMs, options.signal);
      }
    }
  }

  /** Opens a streaming GET (SSE); the caller reads and closes the body. `holdMs`: how long the server may keep it open. */
  async open(path: string, options: SendOptions): Promise<Dispatcher.ResponseData> {
    const response = await this.send('GET', path, { ...options, headers: { accept: 'text/event-stream', ...options.headers } });
    if (response.statusCode !== 200) throw await problemOf(response);
    return response;
  }

  private async once<T>(method: Dispatcher.HttpMethod, path: string, options: SendOptions): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.statusCode < 200 || response.statusCode > 299) throw await problemOf(response);
    const text = await readText(response, options.signal);
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new AxpError({ status: response.statusCode, code: 'unexpected_response', message: `${method} ${path}: answer is not JSON`, cause });
    }
  }

  private async send(method: Dispatcher.HttpMethod, path: string, options: SendOptions): Promise<Dispatcher.ResponseData> {
    const hasBody = options.body !== undefined;
    const extra = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey, ...options.headers } : options.headers;
    const timeout = AbortSignal.timeout((this.options.requestTimeoutMs ?? 30_000) + (options.holdMs ?? 0));
    // The bound covers the whole exchange, an SSE body included (it ends by itself after wait_seconds).
    const signals = [options.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    try {
      return await request(this.url(path, options.query), {
        method,
        headers: this.headers(extra, hasBody),
        body: hasBody ? JSON.stringify(options.body) : undefined,
        signal: AbortSignal.any(signals),
        dispatcher: this.options.dispatcher,
      });
    } catch (cause) {
      if (options.signal?.aborted) throw cause;
      if (timeout.aborted) throw new AxpError({ status: 0, code: 'timeout', message: `${method} ${path}: no answer in time`, cause });
      const code = (cause as { code?: string }).code;
      if (code && NETWORK_CODES.has(code)) throw new AxpError({ status: 0, code: 'network_error', message: `${method} ${path}: ${code}`, cause });
      throw cause;
    }
  }

  private retryDelay(attempt: number, retryAfterSeconds: number | undefined): number {
    const backoff = this.retry.initialDelayMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
    const capped = Math.min(backoff, this.retry.maxDelayMs);
    // Rounded up: a Retry-After of 1 s must not become 999.6 ms.
    return Math.ceil(retryAfterSeconds !== undefined ? Math.max(retryAfterSeconds * 1000, capped) : capped);
  }
}

async function readText(response: Dispatcher.ResponseData, signal?: AbortSignal): Promise<string> {
  try {
    return await response.body.text();
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new AxpError({ status: response.statusCode, code: 'network_error', message: 'connection lost while reading the answer', cause });
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

async function problemOf(response: Dispatcher.ResponseData): Promise<AxpError> {
  const text = await response.body.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const retryAfterSeconds = parseRetryAfter(response.headers['retry-after']);
  if (isProblem(body)) {
    const message = `${body.status} ${body.code}${body.detail ? `: ${body.detail}` : ''}`;
    return new AxpError({ status: response.statusCode, code: body.code, message, problem: body, retryAfterSeconds });
  }
  return new AxpError({ status: response.statusCode, code: 'unexpected_response', message: `HTTP ${response.statusCode} without a problem document`, retryAfterSeconds });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
