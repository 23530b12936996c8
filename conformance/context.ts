// Builds the CaseContext one case runs with: its client, transcript, agents, receivers and waits.
// Every wait has an explicit bound scaled by --timeout-scale; none is a bare sleep.
import { setTimeout as delay } from 'node:timers/promises';
import { Blocked, CaseFailure, NotApplicable, isKind, type CaseContext, type ConformanceCase, type Receiver, type ReceiverStep } from './case.js';
import { REGISTRATION_REQUIREMENTS, type AgentPool } from './agents.js';
import type { CaseClient } from './client.js';
import { startReceiver } from './receiver.js';
import type { Transcript } from './transcript.js';
import { isTerminalStatus } from './model/lifecycle.js';
import type { ViolationLedger } from './ledger.js';
import type { SecretSet } from './redaction.js';
import type { PropertySettings } from './properties/harness.js';


/** What every case of one run shares. */
export interface RunScope {
  runId: string;
  seed: number;
  timeoutScale: number;
  baseUrl: string;
  capabilities: unknown;
  capabilityList: string[];
  adminKey?: string;
  receiverHost: string;
  pool: AgentPool;
  /** Run-wide counter behind ctx.unique(). */
  nextUnique: () => number;
  /** Every response-shape violation any case's client saw. */
  ledger: ViolationLedger;
  /** Every credential the run knows; reports show placeholders instead. */
  secrets: SecretSet;
  properties: PropertySettings;
}

export interface CaseScope {
  case: ConformanceCase;
  client: CaseClient;
  transcript: Transcript;
  signal: AbortSignal;
  notes: string[];
  receivers: Receiver[];
  /** Requirement IDs the case added to its result with ctx.cite(). */
  cited: string[];
}

const DEFAULT_EVENTUALLY_MS = 5_000;
const DEFAULT_WAIT_MS = 30_000;

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

export function createCaseContext(run: RunScope, scope: CaseScope): CaseContext {
  const { client, transcript, signal } = scope;
  const scaled = (ms: number) => Math.round(ms * run.timeoutScale);

  const ctx: CaseContext = {
    runId: run.runId,
    seed: run.seed,
    timeoutScale: run.timeoutScale,
    properties: run.properties,
    // A target given as several URLs of one deployment: cases building their own URLs use the first.
    baseUrl: run.baseUrl.split(',')[0],
    capabilities: run.capabilities,
    adminKey: run.adminKey,
    signal,
    request: (req) => client.request(req),
    sse: (path, options) => client.sse(path, options),
    agent(need, receiver) {
      const register = run.pool.forCase(scope.case.id, client);
      return ctx.setup(`registering an agent for role ${need.role} (binding ${need.delivery.binding})`, () => register(need, receiver), REGISTRATION_REQUIREMENTS);
    },

    async receiver(script: ReceiverStep[]): Promise<Receiver> {
      const receiver = await startReceiver({
        host: run.receiverHost,
        script,
        pathToken: `${slug(scope.case.id)}-${run.runId}-${run.nextUnique()}`,
        clock: () => transcript.elapsedMs(),
        timeoutScale: run.timeoutScale,
        onHit: (hit) =>
          transcript.add({
            kind: 'receiver-hit',
            summary: `receiver ← ${hit.method} ${hit.path} answered ${hit.answered.hung ? 'nothing (hang)' : hit.answered.reset ? 'with a reset' : hit.answered.status}`,
            method: hit.method,
            headers: hit.headers,
            body: hit.body,
            status: hit.answered.status,
          }),
      });
      scope.receivers.push(receiver);
      transcript.note(`receiver listening at ${receiver.url}`);
      return receiver;
    },

    async eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = DEFAULT_EVENTUALLY_MS): Promise<T> {
      const bound = scaled(timeoutMs);
      const deadline = performance.now() + bound;
      let interval = 10;
      for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (performance.now() >= deadline) throw new CaseFailure(`${what}: not seen within ${bound} ms`);
        await delay(Math.min(interval, Math.max(1, deadline - performance.now())), undefined, { signal });
        interval = Math.min(interval * 2, 200);
      }
    },

    async waitForTerminal(intentId, key, timeoutMs = DEFAULT_WAIT_MS) {
      const bound = scaled(timeoutMs);
      const deadline = performance.now() + bound;
      for (;;) {
        const remaining = deadline - performance.now();
        const waitSeconds = Math.max(1, Math.min(60, Math.floor(remaining / 1000)));
        const res = await client.request({
          method: 'GET',
          path: `/v1/intents/${intentId}`,
          key,
          query: { wait_seconds: waitSeconds },
          expectSchema: 'intent-response',
        });
        if (res.status !== 200) throw new CaseFailure(`waiting for intent ${intentId}: GET answered ${res.status}`, 200, res.status);
        const status = String(res.body?.status ?? res.body?.intent?.status ?? '');
        if (isTerminalStatus(status)) return res.body;
        if (performance.now() >= deadline) throw new CaseFailure(`intent ${intentId} not terminal within ${bound} ms`, 'a terminal status', status);
      }
    },

    async waitForEvent(intentId, key, match, timeoutMs = DEFAULT_WAIT_MS) {
      const bound = scaled(timeoutMs);
      const deadline = performance.now() + bound;
      let since = 0;
      for (;;) {
        const remaining = deadline - performance.now();
        const waitSeconds = Math.max(1, Math.min(60, Math.floor(remaining / 1000)));
        let found: unknown;
        const res = await client.sse(`/v1/intents/${intentId}/events/stream`, {
          key,
          query: { since, wait_seconds: waitSeconds },
          frameSchema: 'event',
          timeoutMs: (waitSeconds + 5) * 1000,
          until: (frame) => {
            if (frame.json !== undefined && frame.event !== 'stream.timeout' && match(frame.json)) found = frame.json;
            return found !== undefined;
          },
        });
        if (found !== undefined) return found;
        if (res.status !== 200) throw new CaseFailure(`observing intent ${intentId} answered ${res.status}`, 200, res.status);
        const events = res.frames.filter((f) => f.event !== 'stream.timeout' && f.json);
        const last = events.at(-1);
        if (last) since = Number(last.json.seq ?? last.id ?? since);
        if (last && isTerminalStatus(String(last.json.status ?? ''))) {
          throw new CaseFailure(`intent ${intentId} ended (${String(last.json.status)}) without the awaited event`, 'a matching event', last.json.event_type);
        }
        if (performance.now() >= deadline) throw new CaseFailure(`no matching event on intent ${intentId} within ${bound} ms`);
      }
    },

    async advanceClock(ms: number): Promise<boolean> {
      if (!run.capabilityList.includes('ext.test-clock') || !run.adminKey) return false;
      const res = await client.request({ method: 'POST', path: '/v1/_test/clock', key: run.adminKey, json: { advance_ms: ms }, expectSchema: 'test-clock-response' });
      if (res.status !== 200) throw new CaseFailure(`advancing the test clock by ${ms} ms answered ${res.status}`, 200, res.status);
      return true;
    },

    unique(label: string): string {
      return `${slug(label)}-${run.runId}-${run.nextUnique()}`;
    },

    note(text: string): void {
      scope.notes.push(text);
      transcript.note(text);
    },

    async setup<T>(what: string, step: () => Promise<T> | T, blockedBy?: string[]): Promise<T> {
      try {
        return await step();
      } catch (err) {
        // A case that ended or overran is not blocked; NotApplicable and Blocked already say why.
        if (signal.aborted || isKind(err, NotApplicable) || isKind(err, Blocked)) throw err;
        if (isKind(err, CaseFailure) || err instanceof TypeError) {
          throw new Blocked(`${what}: ${err.message}`, blockedBy ?? client.lastRouteRequirements());
        }
        throw err;
      }
    },

    precondition(condition: unknown, what: string, blockedBy: string[] = []): void {
      if (!condition) throw new Blocked(what, blockedBy.length > 0 ? blockedBy : client.lastRouteRequirements());
    },

    need<T>(value: T | null | undefined, what: string, blockedBy: string[] = []): T {
      if (value === null || value === undefined) throw new Blocked(`${what}: missing`, blockedBy.length > 0 ? blockedBy : client.lastRouteRequirements());
      return value;
    },

    secret(value: string, placeholder = '$AXP_SECRET'): void {
      run.secrets.add(value, placeholder);
    },

    cite(...requirementIds: string[]): void {
      for (const id of requirementIds) if (!scope.cited.includes(id)) scope.cited.push(id);
    },

    rootCauses(kinds = ['response', 'sse-frame', 'error']) {
      return run.ledger.rootCauses(kinds);
    },
  };
  return ctx;
}
