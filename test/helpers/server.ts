// One start-up for every server test: a real server on 127.0.0.1 port 0 with either store, plus a
// small HTTP client that reads SSE responses whole (as the public clients do).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import type { FastifyInstance } from 'fastify';
import { buildServer, type BuildServerOptions } from '../../reference-server/index.js';

export type StoreKind = 'memory' | 'sqlite' | 'postgres';
export const STORE_KINDS: StoreKind[] = ['memory', 'sqlite'];

export const ADMIN_KEY = 'test-admin-key-0123456789';

export interface Answer<T = Record<string, any>> { status: number; headers: Headers; body: T }
export interface SseFrame { id?: string; event?: string; data: any }
export interface SseAnswer { status: number; headers: Headers; frames: SseFrame[]; comments: string[]; text: string }

export interface RequestOptions { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> }

export class TestServer {
  constructor(readonly app: FastifyInstance, readonly url: string, readonly dir: string | undefined, readonly storeSpec: string) {}

  async request<T = Record<string, any>>(method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    if (key !== null) headers['x-api-key'] = key;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.url + path, { method, headers, body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Reads one bounded SSE response to its end, then parses it. */
  async sse(path: string, options: { key?: string; headers?: Record<string, string> } = {}): Promise<SseAnswer> {
    const res = await fetch(this.url + path, { headers: { 'x-api-key': options.key ?? ADMIN_KEY, accept: 'text/event-stream', ...options.headers } });
    const text = await res.text();
    const frames: SseFrame[] = [];
    const comments: string[] = [];
    const parser = createParser({
      onEvent: (e) => frames.push({ id: e.id, event: e.event, data: JSON.parse(e.data) }),
      onComment: (c) => comments.push(c.trim()),
    });
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) parser.feed(text);
    return { status: res.status, headers: res.headers, frames, comments, text };
  }

  async registerAgent(address: string, delivery: Record<string, unknown> = { binding: 'stream' }): Promise<string> {
    const res = await this.request('PUT', `/v1/agents/${address.replace('agent://', '')}`, { body: { delivery } });
    if (res.status !== 200) throw new Error(`register ${address}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.api_key as string;
  }

  async send(key: string, to: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Promise<Answer> {
    return this.request('POST', '/v1/intents', { key, headers, body: { intent_type: 'test.work.v1', to_agent: to, payload: { n: 1 }, ...extra } });
  }

  /**
   * Observes an intent until an event matches (bounded SSE responses, reconnecting with the
   * cursor: it waits on the event itself, never on a fixed delay).
   */
  async waitForEvent(intentId: string, match: (e: any) => boolean, options: { key?: string; timeoutMs?: number } = {}): Promise<any[]> {
    const seen: any[] = [];
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    let since = 0;
    while (Date.now() < deadline) {
      const res = await this.sse(`/v1/intents/${intentId}/events/stream?since=${since}&wait_seconds=2`, { key: options.key });
      const fresh = res.frames.filter((f) => f.event !== 'stream.timeout').length;
      for (const f of res.frames) {
        if (f.event === 'stream.timeout') continue;
        seen.push(f.data);
        since = f.data.seq;
        if (match(f.data)) return seen;
      }
      const last = res.frames[res.frames.length - 1];
      // A terminal intent the client has fully seen has nothing more to say (a redelivered one does).
      if (last?.data?.reason === 'terminal' && fresh === 0) break;
    }
    throw new Error(`event not seen on ${intentId}; saw ${seen.map((e) => e.event_type).join(', ')}`);
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  /** Closes and removes the SQLite file (if any). */
  async dispose(): Promise<void> {
    await this.close().catch(() => undefined);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function tempDbFile(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'axp-test-'));
  return { dir, file: join(dir, 'axp.db') };
}

/** postgres: `pgUrl` names the database (test/postgres-helpers.ts makes one per test file). */
export async function startServer(kind: StoreKind, options: BuildServerOptions & { file?: string; dir?: string; pgUrl?: string } = {}): Promise<TestServer> {
  let dir = options.dir;
  let file = options.file;
  if (kind === 'sqlite' && !file) ({ dir, file } = tempDbFile());
  if (kind === 'postgres' && !options.pgUrl) throw new Error('startServer(postgres) needs pgUrl');
  const storeSpec = kind === 'sqlite' ? `sqlite:${file}` : kind === 'postgres' ? (options.pgUrl as string) : 'memory';
  const { file: _f, dir: _d, pgUrl: _p, ...buildOptions } = options;
  const app = await buildServer({ store: storeSpec, adminKey: ADMIN_KEY, keepaliveSeconds: 1, pressure: { maxEventLoopDelayMs: 0 }, ...buildOptions });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return new TestServer(app, url, dir, storeSpec);
}

/** The usual start-up of a test file: a server of `kind` and a poll agent to send from. */
export async function startWithSender(kind: StoreKind, options: Parameters<typeof startServer>[1] = {}): Promise<{ server: TestServer; senderKey: string }> {
  const server = await startServer(kind, options);
  const senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
  return { server, senderKey };
}

/** An address as URL paths carry it: without `agent://`, slashes kept. */
export function addressPath(address: string): string {
  return address.replace('agent://', '');
}

let counter = 0;
/** A fresh agent address per test, so tests sharing a server never see each other's deliveries. */
export function uniqueAddress(prefix = 'agent'): string {
  counter += 1;
  return `agent://test/${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}
