// All of a case's HTTP: one undici dispatcher for the run, every exchange recorded in the case's
// transcript, every answer checked against schemas/ (2xx against the route's schema, errors against
// `problem` as application/problem+json), SSE read through wire/sse.ts with each frame validated.
import { request as undiciRequest, type Dispatcher } from 'undici';
import { validatorFor, toViolations, type SchemaName } from '../schemas/index.js';
import { CaseFailure, type HttpRequest, type HttpResponse, type SseFrameSeen, type SseOpen, type SseResult } from './case.js';
import { frameSchemaFor, responseSchemaFor } from './route-schemas.js';
import type { Transcript } from './transcript.js';
import { createSseReader } from './wire/sse.js';

export interface ClientOptions {
  /** One base URL, or several of one deployment comma-separated (issue 11): requests go round-robin. */
  baseUrl: string;
  dispatcher: Dispatcher;
  transcript: Transcript;
  /** The case's signal: aborted when the case ends or passes its bound. */
  signal: AbortSignal;
  timeoutScale: number;
}

const DEFAULT_REQUEST_MS = 10_000;
const DEFAULT_WAIT_SECONDS = 15;

type Query = Record<string, string | number | boolean | undefined>;

export function buildUrl(baseUrl: string, path: string, query?: Query): string {
  const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
  return url.toString();
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function waitSecondsOf(query: Query | undefined): number | undefined {
  const raw = query?.wait_seconds;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Run-wide, so the calls of every case spread over all the URLs of a multi-URL target. */
let spread = 0;

export class CaseClient {
  private readonly baseUrls: string[];

  constructor(private readonly options: ClientOptions) {
    this.baseUrls = options.baseUrl.split(',').map((u) => u.trim()).filter(Boolean);
  }

  private nextBaseUrl(): string {
    return this.baseUrls[spread++ % this.baseUrls.length];
  }

  private scaled(ms: number): number {
    return Math.round(ms * this.options.timeoutScale);
  }

  private requestHeaders(key: string | undefined, extra: Record<string, string> | undefined, hasJson: boolean): Record<string, string> {
    const headers: Record<string, string> = {};
    if (hasJson) headers['content-type'] = 'application/json';
    if (key !== undefined) headers['x-api-key'] = key;
    return { ...headers, ...extra };
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const url = buildUrl(this.nextBaseUrl(), req.path, req.query);
    const hasJson = req.json !== undefined && req.raw === undefined;
    const headers = this.requestHeaders(req.key, req.headers, hasJson);
    headers.accept ??= 'application/json, application/problem+json';
    const body = req.raw !== undefined ? req.raw : hasJson ? JSON.stringify(req.json) : undefined;
    const bodyText = body === undefined ? undefined : typeof body === 'string' ? body : body.toString('utf8');
    const { transcript } = this.options;
    transcript.add({ kind: 'request', summary: `${req.method} ${req.path}${queryText(req.query)}`, method: req.method, url, headers, body: bodyText });

    const bound = this.scaled((req.timeoutMs ?? DEFAULT_REQUEST_MS) + (waitSecondsOf(req.query) ?? 0) * 1000);
    const timeout = AbortSignal.timeout(bound);
    const started = performance.now();
    let status: number;
    let resHeaders: Record<string, string>;
    let text: string;
    try {
      const res = await undiciRequest(url, {
        method: req.method,
        headers,
        body,
        dispatcher: this.options.dispatcher,
        signal: AbortSignal.any([this.options.signal, timeout]),
      });
      status = res.statusCode;
      resHeaders = flatHeaders(res.headers);
      text = await res.body.text();
    } catch (err) {
      if (this.options.signal.aborted) throw this.options.signal.reason;
      let why = timeout.aborted ? `no complete answer within ${bound} ms` : describeNetworkError(err);
      if (body !== undefined && /^(EPIPE|ECONNRESET)\b/.test(why)) why += ' (the connection was reset while the request was sent: a server that answers before reading the whole body must read it to its end before closing, RFC 9112 §9.6, or the client loses the answer)';
      transcript.add({ kind: 'error', summary: `${req.method} ${req.path}: ${why}` });
      throw new CaseFailure(`${req.method} ${req.path}: ${why}`);
    }
    const durationMs = Math.round(performance.now() - started);
    transcript.add({ kind: 'response', summary: `${req.method} ${req.path} → ${status} (${durationMs} ms)`, status, headers: resHeaders, body: text });
    const response: HttpResponse = { status, headers: resHeaders, text, body: parseJson(text), durationMs };
    if (req.validate !== false) this.checkAnswer(req.method, req.path, response, req.expectSchema);
    return response;
  }

  /** Throws a CaseFailure when the answer breaks its schema or the error format. */
  private checkAnswer(method: string, path: string, res: HttpResponse, expectSchema: SchemaName | undefined): void {
    const where = `${method} ${path} → ${res.status}`;
    if (res.status >= 400) {
      const type = res.headers['content-type'] ?? '';
      if (!type.toLowerCase().startsWith('application/problem+json')) {
        this.fail(`${where}: an error must be application/problem+json`, 'application/problem+json', type || '(no content-type)');
      }
      this.checkSchema(where, 'problem', res.body, res.text);
      return;
    }
    if (res.status < 200 || res.status >= 300) return;
    const schema = expectSchema ?? responseSchemaFor(method, path);
    if (schema) this.checkSchema(where, schema, res.body, res.text);
  }

  private checkSchema(where: string, schema: SchemaName, body: unknown, text: string): void {
    if (body === undefined) this.fail(`${where}: the body is not JSON (schema ${schema} expected)`, schema, text.slice(0, 200));
    const validate = validatorFor(schema);
    if (!validate(body)) {
      const violations = toViolations(validate.errors).map((v) => `${v.pointer || '/'} ${v.message}`);
      this.fail(`${where}: the body does not match schema ${schema}`, schema, violations);
    }
  }

  private fail(message: string, expected: unknown, actual: unknown): never {
    this.options.transcript.add({ kind: 'error', summary: message });
    throw new CaseFailure(message, expected, actual);
  }

  async sse(path: string, open: SseOpen = {}): Promise<SseResult> {
    const url = buildUrl(this.nextBaseUrl(), path, open.query);
    const headers = this.requestHeaders(open.key, open.headers, false);
    headers.accept ??= 'text/event-stream';
    const { transcript } = this.options;
    const label = `GET ${path}${queryText(open.query)}`;
    transcript.add({ kind: 'request', summary: `${label} (SSE)`, method: 'GET', url, headers });

    const bound = this.scaled(open.timeoutMs ?? ((waitSecondsOf(open.query) ?? DEFAULT_WAIT_SECONDS) + 5) * 1000);
    const timeout = AbortSignal.timeout(bound);
    const cut = new AbortController();
    const result: SseResult = { status: 0, headers: {}, frames: [], comments: [], ended: false, cutMidFrame: false };
    const frameSchema = open.frameSchema ?? frameSchemaFor(path);
    let violation: CaseFailure | undefined;

    const reader = createSseReader({
      onFrame: (frame) => {
        if (cut.signal.aborted) return; // frames after the cut were never read by the kit
        const seen: SseFrameSeen = { data: frame.data, json: parseJson(frame.data), atMs: transcript.elapsedMs() };
        if (frame.id !== undefined) seen.id = frame.id;
        if (frame.event !== undefined) seen.event = frame.event;
        result.frames.push(seen);
        transcript.add({ kind: 'sse-frame', summary: `${seen.id !== undefined ? `id: ${seen.id}  ` : ''}event: ${seen.event ?? 'message'}  data: ${frame.data}` });
        const schema: SchemaName | undefined = seen.event === 'stream.timeout' ? 'stream-timeout' : frameSchema;
        if (schema && !violation) violation = this.frameViolation(label, schema, seen);
        if (violation || open.until?.(seen, result.frames)) cut.abort();
      },
      onComment: (comment) => {
        if (cut.signal.aborted) return;
        result.comments.push(comment);
        transcript.add({ kind: 'sse-comment', summary: `: ${comment}` });
      },
    });

    try {
      const res = await undiciRequest(url, {
        method: 'GET',
        headers,
        dispatcher: this.options.dispatcher,
        signal: AbortSignal.any([this.options.signal, timeout, cut.signal]),
      });
      result.status = res.statusCode;
      result.headers = flatHeaders(res.headers);
      transcript.add({ kind: 'response', summary: `${label} → ${res.statusCode}`, status: res.statusCode, headers: result.headers });
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const text = await res.body.text();
        const response: HttpResponse = { status: res.statusCode, headers: result.headers, text, body: parseJson(text), durationMs: 0 };
        transcript.add({ kind: 'sse-end', summary: `error answer`, body: text });
        result.body = response.body;
        result.ended = true;
        this.checkAnswer('GET', path, response, undefined);
        return result;
      }
      const type = result.headers['content-type'] ?? '';
      if (!type.toLowerCase().startsWith('text/event-stream')) {
        res.body.destroy();
        this.fail(`${label}: an SSE answer must be text/event-stream`, 'text/event-stream', type || '(no content-type)');
      }
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        reader.feed(decoder.decode(chunk as Buffer, { stream: true }));
        if (cut.signal.aborted) break;
      }
      if (cut.signal.aborted) {
        res.body.destroy();
        throw cut.signal.reason;
      }
      reader.feed(decoder.decode());
      result.cutMidFrame = reader.end().cutMidFrame;
      result.ended = true;
      transcript.add({ kind: 'sse-end', summary: `server ended the stream after ${result.frames.length} frame(s)${result.cutMidFrame ? ', in the middle of a frame' : ''}` });
    } catch (err) {
      if (err instanceof CaseFailure) throw err;
      if (this.options.signal.aborted) throw this.options.signal.reason;
      if (cut.signal.aborted) {
        transcript.add({ kind: 'sse-end', summary: `kit cut the stream after ${result.frames.length} frame(s)` });
      } else if (timeout.aborted) {
        this.fail(`${label}: the stream did not end within ${bound} ms (${result.frames.length} frame(s) read)`, 'the server ends the response', 'still open');
      } else {
        const why = describeNetworkError(err);
        transcript.add({ kind: 'error', summary: `${label}: ${why}` });
        throw new CaseFailure(`${label}: ${why}`);
      }
    }
    if (violation) throw violation;
    return result;
  }

  private frameViolation(label: string, schema: SchemaName, frame: SseFrameSeen): CaseFailure | undefined {
    const where = `${label}: frame ${frame.id ?? ''} (${frame.event ?? 'message'})`;
    if (frame.json === undefined) return new CaseFailure(`${where}: data is not JSON (schema ${schema} expected)`, schema, frame.data);
    const validate = validatorFor(schema);
    if (validate(frame.json)) return undefined;
    const violations = toViolations(validate.errors).map((v) => `${v.pointer || '/'} ${v.message}`);
    this.options.transcript.add({ kind: 'error', summary: `${where}: does not match schema ${schema}` });
    return new CaseFailure(`${where}: data does not match schema ${schema}`, schema, violations);
  }
}

function queryText(query: Query | undefined): string {
  const entries = Object.entries(query ?? {}).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? '' : `?${entries.map(([k, v]) => `${k}=${String(v)}`).join('&')}`;
}

export function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
