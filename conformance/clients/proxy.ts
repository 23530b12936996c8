// The scripted fault layer: an HTTP proxy in front of the scenario's reference server. Every
// request the program under test sends passes through it and is recorded (method, path, headers,
// body, times, answer); a scenario's script decides per request whether to answer itself (503, 429,
// 422 ...), to reset the connection before or after the server processed the request, to hold it,
// or to pass it on, rewriting an SSE answer frame by frame (cut after K events, cut mid-frame,
// duplicate a frame, end early with stream.timeout, keep a response open after the server ended it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { request as undiciRequest } from 'undici';

export interface SseBlock {
  /** The block's text as the server wrote it, its terminating empty line included. */
  raw: string;
  id?: string;
  event?: string;
  data?: string;
  json?: any;
  /** A comment-only block (`: keepalive`). */
  comment: boolean;
  /** When the fault layer wrote it to the program (ms since the scenario started). */
  atMs?: number;
}

/** What to do with one SSE block: write text (the block or anything else), then maybe cut or end. */
export interface SseStep {
  write?: string;
  /** Destroy the connection (no final frame, no chunk terminator). */
  cut?: boolean;
  /** End the response cleanly here, dropping whatever the server writes after. */
  end?: boolean;
}

export interface Exchange {
  n: number;
  atMs: number;
  /** Wall-clock time the request arrived (Date.now()), for HTTP-date comparisons. */
  wallMs: number;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
  json?: any;
  /** The answer the program got (undefined while pending, or when the connection was reset first). */
  status?: number;
  answeredAtMs?: number;
  responseBody?: string;
  responseHeaders?: Record<string, string>;
  /** SSE blocks written to the program. */
  written: SseBlock[];
  /** What the fault layer did instead of (or after) passing it on. */
  fault?: string;
  /** The exchange is over (answered, reset or closed by the program). */
  closed: boolean;
}

export type Action =
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: unknown; fault: string }
  /** Destroy the connection without passing the request on. */
  | { kind: 'reset-before'; fault: string }
  | {
      kind: 'forward';
      /** Pass it on only once this settles. */
      hold?: Promise<unknown>;
      /** After the server answered in full: destroy the connection instead of answering. */
      resetAfter?: boolean;
      /** Rewrites an SSE answer block by block. */
      sse?: (block: SseBlock, written: SseBlock[]) => SseStep[];
      /** When the server ends the SSE answer: keep the connection open with keepalive comments. */
      keepOpen?: boolean;
      fault?: string;
    };

export type Script = (exchange: Exchange, all: Exchange[]) => Action | undefined;

function flat(headers: IncomingMessage['headers'] | Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

export function parseBlock(raw: string): SseBlock {
  const block: SseBlock = { raw, comment: true };
  const data: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    block.comment = false;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') block.id = value;
    else if (field === 'event') block.event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length > 0) {
    block.data = data.join('\n');
    try {
      block.json = JSON.parse(block.data);
    } catch {
      // not JSON: kept as text
    }
  }
  return block;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'proxy-connection', 'te', 'trailer']);

export class FaultProxy extends EventEmitter {
  readonly exchanges: Exchange[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly keepalives = new Set<NodeJS.Timeout>();
  private readonly upstreamAborts = new Set<AbortController>();
  script: Script = () => undefined;
  url = '';

  /** t0: the scenario's start (performance.now()), so every time it records is on the scenario's clock. */
  constructor(private readonly upstream: string, private readonly started = performance.now()) {
    super();
    this.setMaxListeners(100);
  }

  nowMs(): number {
    return Math.round(performance.now() - this.started);
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const t of this.keepalives) clearInterval(t);
    for (const a of this.upstreamAborts) a.abort();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private changed(): void {
    this.emit('change');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://proxy');
    const exchange: Exchange = {
      n: this.exchanges.length + 1,
      atMs: this.nowMs(),
      wallMs: Date.now(),
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: flat(req.headers),
      body,
      written: [],
      closed: false,
    };
    try {
      exchange.json = body.length > 0 ? JSON.parse(body) : undefined;
    } catch {
      // a body that is not JSON stays text
    }
    this.exchanges.push(exchange);
    const finish = () => {
      if (exchange.closed) return;
      exchange.closed = true;
      this.changed();
    };
    res.on('close', finish);
    this.changed();
    const action = this.script(exchange, this.exchanges) ?? { kind: 'forward' as const };
    try {
      await this.act(action, exchange, req, res);
    } catch {
      if (!res.destroyed) res.destroy();
    } finally {
      if (res.writableEnded || res.destroyed) finish();
    }
  }

  private async act(action: Action, exchange: Exchange, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (action.kind === 'respond') {
      exchange.fault = action.fault;
      const text = action.body === undefined ? '' : typeof action.body === 'string' ? action.body : JSON.stringify(action.body);
      const headers: Record<string, string> = { ...(action.body !== undefined && typeof action.body !== 'string' ? { 'content-type': 'application/problem+json' } : {}), ...action.headers };
      exchange.status = action.status;
      exchange.responseHeaders = headers;
      exchange.responseBody = text;
      exchange.answeredAtMs = this.nowMs();
      res.writeHead(action.status, headers).end(text);
      return;
    }
    if (action.kind === 'reset-before') {
      exchange.fault = action.fault;
      req.socket.destroy();
      return;
    }
    if (action.fault) exchange.fault = action.fault;
    if (action.hold) await action.hold.catch(() => undefined);
    if (res.destroyed) return;
    const abort = new AbortController();
    this.upstreamAborts.add(abort);
    res.on('close', () => abort.abort());
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(exchange.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
    const upstream = await undiciRequest(new URL(`${exchange.path}${exchange.query.size > 0 ? `?${exchange.query}` : ''}`, this.upstream), {
      method: exchange.method as 'GET',
      headers,
      body: exchange.body.length > 0 ? exchange.body : undefined,
      signal: abort.signal,
    });
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(flat(upstream.headers))) if (!HOP_BY_HOP.has(name)) responseHeaders[name] = value;
    exchange.status = upstream.statusCode;
    exchange.responseHeaders = responseHeaders;
    const isSse = (responseHeaders['content-type'] ?? '').startsWith('text/event-stream');
    if (!isSse) {
      const text = await upstream.body.text();
      exchange.responseBody = text;
      if (action.resetAfter) {
        exchange.fault = exchange.fault ?? 'connection reset after the server processed the request';
        exchange.status = undefined;
        req.socket.destroy();
        this.upstreamAborts.delete(abort);
        return;
      }
      exchange.answeredAtMs = this.nowMs();
      res.writeHead(upstream.statusCode, responseHeaders).end(text);
      this.upstreamAborts.delete(abort);
      return;
    }
    exchange.answeredAtMs = this.nowMs();
    res.writeHead(upstream.statusCode, responseHeaders);
    res.flushHeaders();
    this.changed();
    let pending = '';
    let stopped = false;
    const rewrite = action.sse ?? ((block: SseBlock) => [{ write: block.raw }]);
    const apply = (steps: SseStep[], block: SseBlock): boolean => {
      for (const step of steps) {
        if (step.write !== undefined) {
          res.write(step.write);
          exchange.written.push({ ...(step.write === block.raw ? block : parseBlock(step.write)), atMs: this.nowMs() });
        }
        if (step.cut) {
          // Close the connection after what was written reaches the program, without the chunked
          // terminator: to the program the response ends in the middle.
          const socket = res.socket;
          if (socket) {
            socket.end();
            setTimeout(() => socket.destroy(), 1_000).unref();
          } else res.destroy();
          return true;
        }
        if (step.end) {
          res.end();
          return true;
        }
      }
      return false;
    };
    try {
      for await (const chunk of upstream.body) {
        pending += (chunk as Buffer).toString('utf8');
        let at: number;
        while (!stopped && (at = pending.indexOf('\n\n')) >= 0) {
          const raw = pending.slice(0, at + 2);
          pending = pending.slice(at + 2);
          const block = parseBlock(raw);
          stopped = apply(rewrite(block, exchange.written), block);
          this.changed();
        }
        if (stopped) break;
      }
    } catch {
      // the program went away, or the scenario ended
    } finally {
      this.upstreamAborts.delete(abort);
      if (stopped) abort.abort();
    }
    if (stopped || res.destroyed) return;
    if (action.keepOpen) {
      const timer = setInterval(() => {
        if (res.destroyed) clearInterval(timer);
        else res.write(': keepalive\n\n');
      }, 500);
      this.keepalives.add(timer);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.end();
  }

  /** Resolves with the first value `probe` gives (checked now and on every change), or undefined after timeoutMs. */
  until<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const check = () => {
        const value = probe();
        if (value !== undefined) {
          done(value);
          return true;
        }
        return false;
      };
      const done = (value: T | undefined) => {
        clearTimeout(timer);
        this.off('change', check);
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      if (!check()) this.on('change', check);
    });
  }
}
