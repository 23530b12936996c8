// SSE-003..SSE-010: the bounded SSE response every SSE route uses. Frames are written the moment
// they happen; `: keepalive` comments keep proxies awake; the response ends after wait_seconds,
// after a terminal event, on shutdown, or when a slow consumer lets the buffer pass the high-water
// mark, always with the final `stream.timeout` frame carrying the cursor to resume from.
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import { formatComment, formatFrame, formatStreamTimeout, type SseFrame } from './wire/sse-format.js';

export type EndReason = 'wait_elapsed' | 'terminal' | 'shutdown' | 'slow_consumer';

export interface SseOptions {
  waitSeconds: number;
  keepaliveMs: number;
  highWaterMark: number;
  /** The cursor a client resumes from if nothing is written (the request's since). */
  since: number;
}

export class SseSession {
  private readonly raw: ServerResponse;
  private cursor: number;
  private ended = false;
  private finished = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cleanups: (() => void)[] = [];
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => { this.resolveDone = resolve; });

  constructor(reply: FastifyReply, private readonly registry: SseRegistry, private readonly options: SseOptions) {
    this.cursor = options.since;
    reply.hijack();
    this.raw = reply.raw;
    const headers: Record<string, string> = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    };
    const trace = reply.request.headers['x-trace-id'];
    if (typeof trace === 'string') headers['x-trace-id'] = trace;
    this.raw.writeHead(200, headers);
    this.raw.flushHeaders();
    this.raw.on('close', () => this.finish());
    registry.add(this);
    if (options.waitSeconds > 0) this.timers.push(setTimeout(() => this.end('wait_elapsed'), options.waitSeconds * 1000));
    const keepalive = setInterval(() => this.comment('keepalive'), options.keepaliveMs);
    this.timers.push(keepalive);
  }

  get closed(): boolean {
    return this.ended;
  }

  get nextSeq(): number {
    return this.cursor;
  }

  /** Something to undo when the response ends (unsubscribe, …). */
  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup(); else this.cleanups.push(cleanup);
  }

  /** Writes one frame; `seq` (its id) becomes the cursor. False once the response has ended. */
  write(frame: SseFrame & { id: number }): boolean {
    return this.writeText(frame.id, formatFrame(frame));
  }

  /** Writes already formatted frames (one or more) whose last id is `lastId`; same rules as write(). */
  writeText(lastId: number, text: string): boolean {
    if (this.ended) return false;
    this.raw.write(text);
    this.cursor = lastId;
    if (this.raw.writableLength > this.options.highWaterMark) this.end('slow_consumer');
    return !this.ended;
  }

  /** Runs fn with the socket corked: the frames it writes leave in one write. */
  batch<T>(fn: () => T): T {
    this.raw.cork();
    try {
      return fn();
    } finally {
      this.raw.uncork();
    }
  }

  comment(text: string): void {
    if (!this.ended) this.raw.write(formatComment(text));
  }

  /** SSE-008: the final frame, without an id, then the end of the response. */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.raw.end(formatStreamTimeout(this.cursor, reason));
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ended = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.registry.remove(this);
    this.resolveDone();
  }
}

/** Every open SSE response, so shutdown can end them with their final frame. */
export class SseRegistry {
  private readonly open = new Set<SseSession>();
  add(session: SseSession): void { this.open.add(session); }
  remove(session: SseSession): void { this.open.delete(session); }
  get size(): number { return this.open.size; }
  closeAll(): void {
    for (const session of [...this.open]) session.end('shutdown');
  }
}
