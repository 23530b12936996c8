// The torture clients' one way to talk to the server: a request that, when the server is gone
// (killed mid-request), waits for it to come back and tries again with the same Idempotency-Key,
// until it gets a real answer. That is what a well-behaved AXP client does across a crash.
import type { Reachable } from './server-process.js';

export interface Answer { status: number; body: any; headers: Headers }

export interface CallOptions {
  key: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Per-try bound (ms). */
  timeoutMs?: number;
  /** Stop retrying when this signal aborts (the run is over); the last error is thrown. */
  signal?: AbortSignal;
}

export class Client {
  /** Requests that failed at the transport level (server killed) and were tried again. */
  retries = 0;

  constructor(private readonly server: Reachable) {}

  /** One try; throws on a transport failure. */
  async once(method: string, path: string, options: CallOptions): Promise<Answer> {
    const headers: Record<string, string> = { 'x-api-key': options.key, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 15_000)];
    if (options.signal) signals.push(options.signal);
    const res = await fetch(this.server.url + path, { method, headers, body, signal: AbortSignal.any(signals) });
    const text = await res.text();
    let parsed: unknown;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** Tries until the server answers with something other than 503 (kill -9 in between is fine). */
  async call(method: string, path: string, options: CallOptions): Promise<Answer> {
    for (;;) {
      try {
        const answer = await this.once(method, path, options);
        if (answer.status !== 503) return answer;
      } catch (error) {
        if (options.signal?.aborted) throw error;
      }
      this.retries += 1;
      await this.server.up();
      // A short pause so a restarting server is not hammered by every client at the same instant.
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      if (options.signal?.aborted) throw new Error('aborted');
    }
  }
}
