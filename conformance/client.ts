// All of a case's HTTP: one undici dispatcher for the run, every exchange recorded in the case's
// transcript, every answer checked against schemas/ (2xx against the route's schema, errors against
// `problem` as application/problem+json), SSE read through wire/sse.ts with each frame validated.
// A shape violation goes to the run's ledger (ledger.ts), charged to the requirements owning the
// shape, and never fails the case that read the answer: a case fails on what it is about.
import { request as undiciRequest, type Dispatcher } from 'undici';
import { validatorFor, toViolations, type SchemaName } from '../schemas/index.js';
import { CaseFailure, type HttpRequest, type HttpResponse, type SchemaViolationSeen, type SseFrameSeen, type SseOpen, type SseResult } from './case.js';
import type { ViolationLedger } from './ledger.js';
import { placeholder, type SecretSet } from './redaction.js';
import { frameSchemaFor, responseSchemaFor, routeFor } from './route-schemas.js';
import type { Transcript } from './transcript.js';
import { createSseReader } from './wire/sse.js';

export interface ClientOptions {
  /** One base URL, or several of one deployment comma-separated: requests go round-robin. */
  baseUrl: string;
  dispatcher: Dispatcher;
  transcript: Transcript;
  /** The case's signal: aborted when the case ends or passes its bound. */
  signal: AbortSignal;
  timeoutScale: number;
  /** The case whose requests these are (named in ledger entries). */
  caseId?: string;
  /** Where shape violations go; without one (discovery) they are not recorded. */
  ledger?: ViolationLedger;
  /** Credentials found in answers (api_key, secret) are added here. */
  secrets?: SecretSet;
  /** The run's round-robin position over a multi-URL target, shared by every case of one run. */
  spread?: UrlSpread;
  /**
   * Called before a request is sent; throwing stops it (the runner stops a case that would advance
   * the shared test clock while other cases run).
   */
  beforeRequest?: (req: HttpRequest) => void;
}

/** One run's position in the round robin over a multi-URL target. */
export interface UrlSpread {
  next(): number;
}

export function createSpread(): UrlSpread {
  let n = 0;
  return { next: () => n++ };
}

/** The shape of every success answer (TERM-016) and of every error answer (ERR-001). */
export const SUCCESS_SHAPE_REQUIREMENT = 'TERM-016';
export const ERROR_SHAPE_REQUIREMENT = 'ERR-001';

const SECRET_FIELDS = new Set(['api_key', 'secret']);

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

export class CaseClient {
  private readonly baseUrls: string[];
  private readonly spread: UrlSpread;
  private lastRoute: { method: string; path: string } | undefined;

  constructor(private readonly options: ClientOptions) {
    this.baseUrls = options.baseUrl.split(',').map((u) => u.trim()).filter(Boolean);
    this.spread = options.spread ?? createSpread();
  }

  private nextBaseUrl(): string {
    return this.baseUrls[this.spread.next() % this.baseUrls.length];
  }

  /** Requirements defining the route of the last request sent (schemas/routes.ts), for blocked cases. */
  lastRouteRequirements(): string[] {
    if (!this.lastRoute) return [];
    return [...(routeFor(this.lastRoute.method, this.lastRoute.path)?.spec ?? [])];
  }

  /** Adds every api_key and secret string field of an answer to the run's secrets, named after the agent. */
  private harvestSecrets(path: string, body: unknown): void {
    const secrets = this.options.secrets;
    if (!secrets || body === null || typeof body !== 'object') return;
    const label = this.agentLabel(path);
    const visit = (value: unknown, depth: number): void => {
      if (value === null || typeof value !== 'object' || depth > 6) return;
      for (const [key, item] of Object.entries(value)) {
        if (typeof item === 'string' && SECRET_FIELDS.has(key)) secrets.add(item, placeholder(key === 'secret' ? 'AXP_WEBHOOK_SECRET' : 'AXP_AGENT_KEY', label));
        else visit(item, depth + 1);
      }
    };
    visit(body, 0);
  }

  /** `/v1/agents/conf-x/agt-001-sender-1` in case AGT-001 → `sender-1`. */
  private agentLabel(path: string): string | undefined {
    const match = /^\/v1\/agents\/(.+?)(\/intents(\/stream)?)?$/.exec(path.split('?')[0]);
    const last = match?.[1].split('/').at(-1);
    if (!last) return undefined;
    const prefix = this.options.caseId ? `${this.options.caseId.toLowerCase()}-` : '';
    return prefix && last.startsWith(prefix) ? last.slice(prefix.length) : last;
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
    this.options.beforeRequest?.(req);
    this.lastRoute = { method: req.method, path: req.path };
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
    const parsed = parseJson(text);
    this.harvestSecrets(req.path, parsed);
    transcript.add({ kind: 'response', summary: `${req.method} ${req.path} → ${status} (${durationMs} ms)`, status, headers: resHeaders, body: text });
    const response: HttpResponse = { status, headers: resHeaders, text, body: parsed, durationMs };
    if (req.validate !== false) this.checkAnswer(req.method, req.path, response, req.expectSchema);
    return response;
  }

  /** Records in the ledger how the answer breaks its schema or the error format. */
  private checkAnswer(method: string, path: string, res: HttpResponse, expectSchema: SchemaName | undefined): void {
    const request = `${method} ${path} → ${res.status}`;
    const route = routeFor(method, path);
    const routeName = route ? `${route.method} ${route.path}` : `${method} ${path.split('?')[0]}`;
    if (res.status >= 400) {
      const owners = [ERROR_SHAPE_REQUIREMENT];
      const type = res.headers['content-type'] ?? '';
      if (!type.toLowerCase().startsWith('application/problem+json')) {
        this.violation({ route: routeName, request, schema: 'problem', pointer: '/', keyword: 'content-type', message: `an error answer must be application/problem+json, got ${type || '(no content-type)'}`, owners, kind: 'error' });
      }
      this.checkSchema({ route: routeName, request, owners, kind: 'error' }, 'problem', res.body);
      return;
    }
    if (res.status < 200 || res.status >= 300) return;
    const schema = expectSchema ?? responseSchemaFor(method, path);
    if (schema) this.checkSchema({ route: routeName, request, owners: [SUCCESS_SHAPE_REQUIREMENT, ...(route?.spec ?? [])], kind: 'response' }, schema, res.body);
  }

  private checkSchema(where: Pick<SchemaViolationSeen, 'route' | 'request' | 'owners' | 'kind'>, schema: SchemaName, body: unknown): void {
    if (body === undefined) {
      this.violation({ ...where, schema, pointer: '/', keyword: 'json', message: 'the body is not JSON' });
      return;
    }
    const validate = validatorFor(schema);
    if (validate(body)) return;
    for (const v of toViolations(validate.errors)) this.violation({ ...where, schema, pointer: v.pointer || '/', keyword: v.keyword, message: v.message });
  }

  private violation(v: Omit<SchemaViolationSeen, 'caseId'>): void {
    this.options.transcript.add({ kind: 'note', summary: `shape: ${v.request}: ${v.pointer} ${v.message} (schema ${v.schema}; charged to ${v.owners.join(', ')}, not to this case)` });
    this.options.ledger?.record({ ...v, caseId: this.options.caseId ?? '(discovery)' });
  }

  private fail(message: string, expected: unknown, actual: unknown): never {
    this.options.transcript.add({ kind: 'error', summary: message });
    throw new CaseFailure(message, expected, actual);
  }

  async sse(path: string, open: SseOpen = {}): Promise<SseResult> {
    this.options.beforeRequest?.({ method: 'GET', path, key: open.key, headers: open.headers });
    this.lastRoute = { method: 'GET', path };
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
    const route = routeFor('GET', path);
    const routeName = route ? `${route.method} ${route.path}` : `GET ${path}`;
    const owners = [SUCCESS_SHAPE_REQUIREMENT, ...(route?.spec ?? [])];

    const reader = createSseReader({
      onFrame: (frame) => {
        if (cut.signal.aborted) return; // frames after the cut were never read by the kit
        const seen: SseFrameSeen = { data: frame.data, json: parseJson(frame.data), atMs: transcript.elapsedMs() };
        if (frame.id !== undefined) seen.id = frame.id;
        if (frame.event !== undefined) seen.event = frame.event;
        result.frames.push(seen);
        transcript.add({ kind: 'sse-frame', summary: `${seen.id !== undefined ? `id: ${seen.id}  ` : ''}event: ${seen.event ?? 'message'}  data: ${frame.data}` });
        const schema: SchemaName | undefined = seen.event === 'stream.timeout' ? 'stream-timeout' : frameSchema;
        if (schema) this.checkFrame(routeName, owners, label, schema, seen);
        if (open.until?.(seen, result.frames)) cut.abort();
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
        this.harvestSecrets(path, response.body);
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
    return result;
  }

  private checkFrame(route: string, owners: string[], label: string, schema: SchemaName, frame: SseFrameSeen): void {
    const where = { route, request: `${label}: frame ${frame.id ?? ''} (${frame.event ?? 'message'})`, owners, kind: 'sse-frame' as const };
    if (frame.json === undefined) {
      this.violation({ ...where, schema, pointer: '/', keyword: 'json', message: 'frame data is not JSON' });
      return;
    }
    const validate = validatorFor(schema);
    if (validate(frame.json)) return;
    for (const v of toViolations(validate.errors)) this.violation({ ...where, schema, pointer: v.pointer || '/', keyword: v.keyword, message: v.message });
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
