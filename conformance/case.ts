// What a conformance case is, and everything a case may use while it runs. The runner
// (runner.ts) builds the CaseContext; cases (cases/*.ts) only see this file's types.
import type { SchemaName } from '../schemas/index.js';
import type { PropertySettings } from './properties/harness.js';

export type Level = 'MUST' | 'SHOULD' | 'MAY';
export type Binding = 'stream' | 'poll' | 'http' | 'inbox' | 'internal';
export type CaseOutcome = 'passed' | 'failed' | 'blocked' | 'not_applicable' | 'skipped' | 'errored';

/** A role names an agent the case needs; the pool registers it (or takes it from --agents). */
export interface AgentNeed {
  role: string;
  /** Delivery policy to register with (binding and short timings); url is filled in for http when a receiver is given. */
  delivery: { binding: Binding; [setting: string]: unknown };
}

export interface ConformanceCase {
  /** Stable `<GROUP>-<NNN>`, e.g. `IDEM-003`. */
  id: string;
  group: string;
  title: string;
  level: Level;
  /** Requirement IDs from spec/requirements.json this case proves. */
  requirements: string[];
  /** Capabilities the target must advertise (else not applicable), e.g. `binding.http`, `ext.test-clock`. */
  needsCapabilities?: string[];
  /** The case registers agents or uses admin routes. */
  needsAdmin?: boolean;
  /** Bound for the whole case in ms before --timeout-scale (default 30000); past it the case fails. */
  timeoutMs?: number;
  /**
   * The case runs alone: no other case of the run overlaps it. For cases that change what every
   * other case on the target sees, above all the test clock (CLK-*): advancing it moves the leases,
   * retries and deadlines of every case running at the same moment. A case that advances the clock
   * without this flag while others run is stopped before the advance and run again alone.
   */
  exclusive?: boolean;
  /**
   * IDs of cases earlier in the plan whose outcome this case builds on: when one of them did not
   * pass, this case is not run and is reported blocked, naming them.
   */
  dependsOn?: string[];
  /** The kit runs it after every other case of the run (the response-conformance cases). */
  runsLast?: boolean;
  /**
   * Per requirement the case cites, the forms it exercises of a value the spec allows in more than
   * one form (header and scheme spellings, Retry-After forms, roles, routes); `--coverage` lists them.
   */
  forms?: Record<string, string[]>;
  /** Per requirement the case cites, the bounds it probes (at, inside and past an advertised limit). */
  bounds?: Record<string, string[]>;
  run(ctx: CaseContext): Promise<void>;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  /** API key to send as x-api-key (undefined: none). */
  key?: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** JSON body (serialized) or a raw string / Buffer sent as is. */
  json?: unknown;
  raw?: string | Buffer;
  /** When set, a 2xx body must validate against this schema, and an error body against `problem`. */
  expectSchema?: SchemaName;
  /**
   * Schema checks run on every answer: 2xx against expectSchema (or the route's response schema
   * from schemas/routes.ts when not given), errors against `problem` with an
   * application/problem+json content type. false turns them off for a deliberate off-spec probe.
   */
  validate?: boolean;
  /** Bound for this request in ms before scaling (default 10000, plus wait_seconds when the query has it). */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  body: any;
  durationMs: number;
}

export interface SseFrameSeen {
  id?: string;
  event?: string;
  data: string;
  /** data parsed as JSON when it is JSON. */
  json?: any;
  atMs: number;
}

export interface SseResult {
  status: number;
  headers: Record<string, string>;
  frames: SseFrameSeen[];
  comments: string[];
  /** The response ended (server closed it) rather than being cut by the kit. */
  ended: boolean;
  /** The response text ended in the middle of a frame. */
  cutMidFrame: boolean;
  /** The parsed body of a non-2xx answer (a problem document), when it was JSON. */
  body?: any;
}

export interface SseOpen {
  key?: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** Validate each frame's data against this schema (stream.timeout frames against stream-timeout). */
  frameSchema?: SchemaName;
  /** Stop reading (cut the connection) once this returns true for a frame. */
  until?: (frame: SseFrameSeen, all: SseFrameSeen[]) => boolean;
  /** Upper bound for the whole read in ms (scaled); the case fails if the server does not end by then. */
  timeoutMs?: number;
}

export interface RegisteredAgent {
  role: string;
  address: string;
  /** Address without `agent://`, as it appears in URL paths. */
  path: string;
  key: string;
  secret?: string;
  delivery: Record<string, unknown>;
}

export interface ReceiverHit {
  atMs: number;
  method: string;
  /** Request path and query as received. */
  path: string;
  headers: Record<string, string>;
  body: string;
  json?: any;
  /** What the script answered. */
  answered: { status: number; headers?: Record<string, string>; hung?: boolean; reset?: boolean };
  /** Earlier hung hits whose connection was still open when this one arrived (pushes in flight at once). */
  hungOpen?: number;
}

/**
 * A scripted answer; `times` (default 1) answers that many hits before the next step; the last
 * step repeats for ever. hang: never answer (the server's timeout_ms must fire); reset: destroy
 * the connection without an answer.
 */
export type ReceiverStep =
  | { status: number; headers?: Record<string, string>; body?: string; times?: number }
  | { hang: true; times?: number }
  | { reset: true; times?: number };

export interface Receiver {
  url: string;
  hits: ReceiverHit[];
  /** Resolves when at least n hits arrived; fails the case after the (scaled) bound. */
  waitForHits(n: number, timeoutMs: number): Promise<ReceiverHit[]>;
  /** Replaces the script; the step counter starts again. */
  setScript(script: ReceiverStep[]): void;
  close(): Promise<void>;
}

export interface CaseContext {
  runId: string;
  seed: number;
  /** Multiply every wait bound by this (--timeout-scale). */
  timeoutScale: number;
  /** The run's property settings (--runs, --deep, --replay) for the PROP-* cases. */
  properties: PropertySettings;
  baseUrl: string;
  capabilities: any;
  adminKey?: string;
  /** Aborted when the case ends or passes its bound; every request and SSE read of ctx honours it. */
  signal: AbortSignal;
  request(req: HttpRequest): Promise<HttpResponse>;
  sse(path: string, options?: SseOpen): Promise<SseResult>;
  /** An agent for this case, registered fresh (unique address per run) or taken from --agents. */
  agent(need: AgentNeed, receiver?: Receiver): Promise<RegisteredAgent>;
  /** A kit-hosted http receiver on --receiver-host answering with the scripted steps. */
  receiver(script: ReceiverStep[]): Promise<Receiver>;
  /** Polls `probe` until it returns a value (not undefined) or the scaled bound passes; then fails with `what`. */
  eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  /**
   * Waits on the server's own long poll (`GET /v1/intents/{id}?wait_seconds`) until the intent is
   * terminal; returns the last answer's body ({ok, intent_id, status, intent, ...}). Fails after the bound.
   */
  waitForTerminal(intentId: string, key: string | undefined, timeoutMs?: number): Promise<any>;
  /**
   * Observes `GET /v1/intents/{id}/events/stream` (reconnecting with since = the last seq) until an
   * event matches; returns that event. Fails after the bound.
   */
  waitForEvent(intentId: string, key: string | undefined, match: (event: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Advances the target's test clock when advertised; returns false when it is not. */
  advanceClock(ms: number): Promise<boolean>;
  /** A run-unique suffix for addresses and keys. */
  unique(label: string): string;
  note(text: string): void;
  /**
   * Runs a step the case needs but is not about (registering agents, creating the intent it then
   * observes, reading an id from an answer). When the step fails (a CaseFailure, or a TypeError from
   * a field the answer lacks), the case is blocked, not failed: `what` names the step, `blockedBy`
   * the requirement or case IDs (default: the requirements of the route the step last called, from
   * schemas/routes.ts). NotApplicable and Blocked pass through unchanged.
   */
  setup<T>(what: string, step: () => Promise<T> | T, blockedBy?: string[]): Promise<T>;
  /** A precondition the case cannot go on without: when `condition` is falsy the case is blocked with `what`. */
  precondition(condition: unknown, what: string, blockedBy?: string[]): void;
  /** A value the case needs but does not test (e.g. `ctx.need(res.body?.intent?.intent_id, 'intent_id of the created intent')`): null or undefined blocks the case. */
  need<T>(value: T | null | undefined, what: string, blockedBy?: string[]): T;
  /**
   * Registers a credential the case made up or received outside the kit's own registrations (a
   * rotated key, a secret in a fixture), so no report shows it; agent keys and webhook secrets in
   * answers the kit reads are found without this.
   */
  secret(value: string, placeholder?: string): void;
  /** Adds requirement IDs to this case's result (the response-conformance cases cite the owners of a broken shape). */
  cite(...requirementIds: string[]): void;
  /** Root causes of the shape violations recorded so far in this run (ledger.ts), in order of first sight. */
  rootCauses(kinds?: ReadonlyArray<SchemaViolationSeen['kind']>): RootCause[];
}

/** One root cause of shape violations: the same route, schema, place and keyword, however many answers showed it. */
export interface RootCause {
  route: string;
  schema: string;
  /** Pointer with array indices as `*`. */
  pointer: string;
  keyword: string;
  message: string;
  kind: SchemaViolationSeen['kind'];
  owners: string[];
  /** How many answers showed it. */
  count: number;
  /** The cases that observed it, in order of first sight. */
  cases: string[];
  /** The first request that showed it. */
  firstRequest: string;
}

/**
 * Requirement IDs the answers of one schema violation are charged to: kept in the run's ledger by the
 * client (every 2xx body and SSE frame against its route's schema, every error answer against
 * `problem`) and reported by the response-conformance cases, never by the case that read the answer.
 */
export interface SchemaViolationSeen {
  /** Route template from schemas/routes.ts (`PUT /v1/agents/{address}`), or method and path when no route matches. */
  route: string;
  /** The concrete request, e.g. `PUT /v1/agents/conf-x/agt-001 → 200`. */
  request: string;
  /** Schema checked against, or `content-type` for a wrong media type. */
  schema: string;
  /** JSON pointer into the body (SSE: into the frame's data), `/` for the whole body. */
  pointer: string;
  /** Failing JSON Schema keyword (`required`, `type`, ...), `content-type` or `json`. */
  keyword: string;
  message: string;
  /** The case that observed it. */
  caseId: string;
  /** Requirements owning the shape: the route's definition in schemas/routes.ts (ERR-001 for error answers). */
  owners: string[];
  /** 2xx body, SSE frame or error answer. */
  kind: 'response' | 'sse-frame' | 'error';
}

/**
 * instanceof, or the same class name: cases loaded through another module instance of case.ts
 * (a CommonJS copy, a bundled kit) throw look-alike classes that must classify the same.
 */
export function isKind<T extends Error>(err: unknown, kind: new (...args: never[]) => T): err is T {
  return err instanceof kind || (err instanceof Error && err.name === kind.name);
}

/** Thrown by a case to fail with evidence. */
export class CaseFailure extends Error {
  constructor(message: string, readonly expected?: unknown, readonly actual?: unknown) {
    super(message);
    this.name = 'CaseFailure';
  }
}

/**
 * Thrown when a case's precondition cannot be established (registration refused, an answer lacks a
 * field the case needs but does not test, a case it depends on failed): the case is reported
 * blocked with the reason, naming in `blockedBy` the requirement or case IDs that kept it from
 * running. Blocked is not failed; the failure is reported once, by the case that owns it.
 */
export class Blocked extends Error {
  readonly blockedBy: string[];
  constructor(reason: string, blockedBy: string[] = []) {
    super(reason);
    this.name = 'Blocked';
    this.blockedBy = [...blockedBy];
  }
}

/** Blocks the case unless `condition` holds (for code outside a CaseContext, e.g. support helpers). */
export function blockedUnless(condition: unknown, what: string, blockedBy: string[] = []): asserts condition {
  if (!condition) throw new Blocked(what, blockedBy);
}

/** Thrown by a case that finds the target cannot run it (with the reason). */
export class NotApplicable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotApplicable';
  }
}
