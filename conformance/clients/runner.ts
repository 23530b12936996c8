// One client conformance run: ask the program which roles it implements, then for each selected
// scenario boot a fresh scenario server and fault layer, run the program once with the scenario's
// context, judge from what the server saw and what the program printed, and report in the same
// RunResult shape as a server run, so every reporter, the baseline and the exit codes work unchanged.
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { CaseFailure, NotApplicable, type ConformanceCase } from '../case.js';
import { applyBaseline } from '../baseline.js';
import { UsageError } from '../errors.js';
import { resolveOptions, type RunOptions } from '../options.js';
import { createReporters } from '../reporters/index.js';
import { exitCodeFor, summarize, type CaseResult, type RunResult } from '../results.js';
import { levelOf, skipReason } from '../selection.js';
import { Transcript, type Redaction } from '../transcript.js';
import { kitInfo } from '../version.js';
import { validate } from '../../schemas/index.js';
import type { ClientCapabilitiesLine, ClientScenarioContext } from '../../schemas/types.js';
import { DriverProcess } from './driver.js';
import { FaultProxy, type Exchange } from './proxy.js';
import { CLIENT_ROLES, type ClientRole, type ClientScenario, type ScenarioRun } from './scenario.js';
import { clientScenarios } from './scenarios/index.js';
import { EmbeddedScenarioServer } from './server.js';

export interface ClientRunOptions extends Pick<RunOptions, 'only' | 'skip' | 'level' | 'seed' | 'timeoutScale' | 'baseline' | 'reporters' | 'outDir' | 'trace' | 'transcripts'> {
  /** The shell command that runs the driver program. */
  command: string;
  /** Run these scenarios instead of the kit's own (tests). */
  scenarios?: ClientScenario[];
}

const DEFAULT_SCENARIO_MS = 20_000;
const CAPABILITIES_MS = 20_000;

function makeRunId(): string {
  return `${Date.now().toString(36).slice(-4)}${randomBytes(3).toString('hex')}`;
}

/** mulberry32: a small seeded generator, so a seed replays the same inputs. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

function baseResult(s: ClientScenario): Omit<CaseResult, 'outcome'> {
  return { id: s.id, group: s.group, title: s.title, level: s.level, requirements: [...s.requirements], durationMs: 0, notes: [], transcript: [] };
}

/** selection.ts speaks of cases; a scenario has every field it reads (id, level). */
function asSelectable(s: ClientScenario): ConformanceCase {
  return { id: s.id, group: s.group, title: s.title, level: s.level, requirements: s.requirements, run: async () => undefined };
}

export interface Declared {
  roles: ClientRole[];
  webhookSchemes: Array<'standard-webhooks' | 'axme'>;
  receiverBindings: Array<'stream' | 'poll'>;
  sdk?: string;
  /** No capabilities line: every role counts as declared. */
  undeclared: boolean;
}

function isKind<T extends Error>(err: unknown, kind: new (...args: never[]) => T): err is T {
  return err instanceof kind || (err instanceof Error && err.name === kind.name);
}

/** Runs the program with AXP_CONFORMANCE_SCENARIO=capabilities and reads the roles it declares. */
async function askCapabilities(command: string, timeoutScale: number, runId: string, warnings: string[]): Promise<Declared> {
  const server = await EmbeddedScenarioServer.start(runId);
  try {
    const agent = await server.registerAgent('capabilities', { binding: 'poll' });
    const driver = new DriverProcess(command, {
      AXP_CONFORMANCE_SCENARIO: 'capabilities',
      AXP_BASE_URL: server.url,
      AXP_API_KEY: agent.key,
      AXP_SCENARIO_CONTEXT: JSON.stringify({ scenario: 'capabilities' }),
    });
    const exited = await driver.waitExit(Math.round(CAPABILITIES_MS * timeoutScale));
    if (!exited) await driver.stop();
    driver.reap();
    const exit = await driver.exited;
    if (exit.cannotStart) throw new UsageError(`the command cannot start: ${exit.cannotStart}`);
    const line = driver.of('capabilities')[0] as ClientCapabilitiesLine | undefined;
    if (!line) {
      const why = driver.lines.length === 0 ? 'it printed nothing' : `no valid {"type":"capabilities",...} line among its ${driver.lines.length} line(s)`;
      warnings.push(`the program declared no roles when run with AXP_CONFORMANCE_SCENARIO=capabilities (${why}): every scenario of every role is run`);
      return { roles: [...CLIENT_ROLES], webhookSchemes: ['standard-webhooks', 'axme'], receiverBindings: ['stream'], undeclared: true };
    }
    return {
      roles: [...line.roles],
      webhookSchemes: [...(line.webhook_schemes ?? ['standard-webhooks'])],
      receiverBindings: [...(line.receiver_bindings ?? ['stream'])],
      sdk: line.sdk,
      undeclared: false,
    };
  } finally {
    await server.close().catch(() => undefined);
  }
}

/** Resolves with probe's first value (checked now and on every change of the emitters), or undefined after timeoutMs. */
function until<T>(probe: () => T | undefined, emitters: Array<EventEmitter | undefined>, timeoutMs: number): Promise<T | undefined> {
  const sources = emitters.filter((e): e is EventEmitter => e !== undefined);
  return new Promise((resolve) => {
    const check = () => {
      const value = probe();
      if (value !== undefined) done(value);
    };
    const done = (value: T | undefined) => {
      clearTimeout(timer);
      for (const e of sources) e.off('change', check);
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    for (const e of sources) e.on('change', check);
    check();
  });
}

function describeExchange(e: Exchange): string {
  const key = e.headers['idempotency-key'] ? ` Idempotency-Key: ${e.headers['idempotency-key']}` : '';
  const cursor = e.headers['last-event-id'] !== undefined ? ` Last-Event-ID: ${e.headers['last-event-id']}` : '';
  return `${e.method} ${e.path}${e.query.size > 0 ? `?${e.query}` : ''}${key}${cursor}`;
}

function record(transcript: Transcript, proxy: FaultProxy, driver: DriverProcess | undefined): void {
  type Timed = { atMs: number; add: () => void };
  const items: Timed[] = [];
  const at = (atMs: number, entry: Parameters<Transcript['add']>[0]) => items.push({ atMs, add: () => transcript.add({ ...entry, atMs } as typeof entry) });
  for (const e of proxy.exchanges) {
    const headers = Object.fromEntries(Object.entries(e.headers).filter(([name]) => !['host', 'connection', 'content-length', 'keep-alive'].includes(name)));
    at(e.atMs, { kind: 'request', summary: `→ ${describeExchange(e)}`, method: e.method, url: `${proxy.url}${e.path}${e.query.size > 0 ? `?${e.query}` : ''}`, headers, ...(e.body ? { body: e.body } : {}) });
    for (const b of e.written) at(b.atMs ?? e.atMs, { kind: b.comment ? 'sse-comment' : 'sse-frame', summary: `  ${b.raw.trim().replace(/\n/g, ' | ')}` });
    const fault = e.fault ? ` [fault layer: ${e.fault}]` : '';
    if (e.status !== undefined && e.written.length === 0) at(e.answeredAtMs ?? e.atMs, { kind: 'response', summary: `← ${e.status} to #${e.n} ${e.method} ${e.path}${fault}`, status: e.status, ...(e.responseBody ? { body: e.responseBody } : {}) });
    else if (e.status === undefined && e.fault) at(e.answeredAtMs ?? e.atMs, { kind: 'note', summary: `✂ #${e.n} ${e.method} ${e.path}${fault}` });
    else if (e.fault) at(e.answeredAtMs ?? e.atMs, { kind: 'note', summary: `  #${e.n}${fault}` });
  }
  for (const l of driver?.lines ?? []) at(l.atMs, { kind: 'note', summary: `program: ${l.text}${l.invalid ? `   (invalid: ${l.invalid})` : ''}` });
  const exit = driver?.exit;
  if (exit) {
    at(exit.atMs, { kind: 'note', summary: `program ${exit.endedByKit ? 'ended by the kit' : 'exited'} (code ${exit.code ?? '-'}${exit.signal ? `, ${exit.signal}` : ''})` });
    // Its last stderr lines, next to its exit: why a program gave up is usually there.
    for (const line of driver.stderr.slice(-10)) at(exit.atMs, { kind: 'note', summary: `stderr: ${line}` });
  }
  // Stable sort: entries of one instant keep the order they were recorded in.
  items.sort((a, b) => a.atMs - b.atMs);
  for (const item of items) item.add();
}

async function runScenario(scenario: ClientScenario, command: string, declared: Declared, seed: number, timeoutScale: number, runId: string, adminRedactions: Redaction[]): Promise<CaseResult> {
  const t0 = performance.now();
  const redactions: Redaction[] = [...adminRedactions];
  const notes: string[] = [];
  let server: EmbeddedScenarioServer | undefined;
  let proxy: FaultProxy | undefined;
  let driver: DriverProcess | undefined;
  const result = baseResult(scenario);
  let outcome: CaseResult;
  let timer: NodeJS.Timeout | undefined;
  try {
    server = await EmbeddedScenarioServer.start(runId);
    redactions.push({ secret: server.adminKey, placeholder: '$AXP_ADMIN_KEY' });
    const upstream = server;
    const fault = new FaultProxy(upstream.url, t0);
    proxy = fault;
    await fault.listen();
    const random = seeded(seed ^ hash(scenario.id));
    const serverView = {
      url: upstream.url,
      registerAgent: async (label: string, delivery: Parameters<typeof upstream.registerAgent>[1]) => {
        const agent = await upstream.registerAgent(label, delivery);
        redactions.push({ secret: agent.key, placeholder: '$AXP_API_KEY' });
        return agent;
      },
      sendIntent: upstream.sendIntent.bind(upstream),
      poll: upstream.poll.bind(upstream),
      write: upstream.write.bind(upstream),
      intent: upstream.intent.bind(upstream),
      events: upstream.events.bind(upstream),
      sentBy: upstream.sentBy.bind(upstream),
      advanceClock: upstream.advanceClock.bind(upstream),
    };
    const run: ScenarioRun = {
      server: serverView,
      proxy: fault,
      random,
      timeoutScale,
      webhookSchemes: declared.webhookSchemes,
      receiverBindings: declared.receiverBindings,
      script: (script) => void (fault.script = script),
      start: (context, key) => {
        if (driver) throw new Error(`scenario ${scenario.id} started the program twice`);
        const full: ClientScenarioContext = { scenario: scenario.name, scenario_id: scenario.id, role: scenario.role, base_url: fault.url, ...context };
        const check = validate('client-scenario-context', full);
        if (!check.ok) throw new Error(`scenario ${scenario.id} built a context that breaks its schema: ${JSON.stringify(check.errors)}`);
        driver = new DriverProcess(command, {
          AXP_CONFORMANCE_SCENARIO: scenario.name,
          AXP_BASE_URL: fault.url,
          AXP_API_KEY: key,
          AXP_SCENARIO_CONTEXT: JSON.stringify(full),
        }, t0);
        return driver;
      },
      requests: (match) => fault.exchanges.filter((e) => !match || match(e)),
      seen: (probe, timeoutMs = 10_000) => until(probe, [fault, driver], Math.round(timeoutMs * timeoutScale)),
      note: (text) => notes.push(text),
    };
    const bound = Math.round((scenario.timeoutMs ?? DEFAULT_SCENARIO_MS) * timeoutScale);
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CaseFailure(`the scenario did not finish within its bound of ${bound} ms; the program was ended`)), bound);
    });
    try {
      await Promise.race([Promise.resolve().then(() => scenario.run(run)), overrun]);
      outcome = { ...result, outcome: 'passed' };
    } catch (err) {
      if (isKind(err, NotApplicable)) outcome = { ...result, outcome: 'not_applicable', reason: err.message };
      else if (isKind(err, CaseFailure)) outcome = { ...result, outcome: 'failed', failure: { message: err.message, expected: err.expected, actual: err.actual } };
      else {
        const e = err instanceof Error ? err : new Error(String(err));
        outcome = { ...result, outcome: 'errored', failure: { message: `${e.name}: ${e.message}`, stack: e.stack } };
      }
    }
    const d = driver as DriverProcess | undefined;
    if (d) {
      await d.stop();
      d.reap();
    }
    if (d && outcome.outcome !== 'not_applicable') {
      const invalid = d.lines.find((l) => l.invalid);
      if (d.exit?.cannotStart) outcome = { ...result, outcome: 'failed', failure: { message: `the program could not start: ${d.exit.cannotStart}` } };
      else if (invalid) outcome = { ...result, outcome: 'failed', failure: { message: `the program wrote a line that is not driver output (schemas/client-driver-output.schema.json): ${invalid.invalid}`, actual: invalid.text } };
      else if (outcome.outcome === 'failed' && d.lines.length === 0) outcome.failure = { ...outcome.failure!, message: `the program wrote nothing on stdout (it must print what the application saw as JSON lines). ${outcome.failure!.message}` };
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    outcome = { ...result, outcome: 'errored', failure: { message: `the scenario could not be set up: ${e.message}`, stack: e.stack } };
  } finally {
    clearTimeout(timer);
    const d = driver as DriverProcess | undefined;
    if (d) {
      await d.stop();
      d.reap();
    }
    await proxy?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  }
  if (outcome.outcome === 'failed' || outcome.outcome === 'errored') notes.push(`replay: npx axp-conformance client --command ${JSON.stringify(command)} --only ${scenario.id} --seed ${seed}`);
  const transcript = new Transcript(redactions);
  if (proxy) record(transcript, proxy, driver);
  return { ...outcome, durationMs: Math.round(performance.now() - t0), notes, transcript: transcript.entries };
}

export async function runClientConformance(input: ClientRunOptions): Promise<RunResult> {
  if (!input.command || input.command.trim() === '') throw new UsageError('--command is required: the shell command that runs your driver program');
  const options = await resolveOptions({ only: input.only, skip: input.skip, level: input.level, seed: input.seed, timeoutScale: input.timeoutScale, baseline: input.baseline, reporters: input.reporters, outDir: input.outDir, trace: input.trace, transcripts: input.transcripts });
  const startedAt = new Date();
  const runId = makeRunId();
  const warnings: string[] = [];
  const harnessErrors: string[] = [];
  const scenarios = input.scenarios ?? clientScenarios();
  // A selection that matches no scenario is a mistake in the command line, found before the program runs.
  if (!scenarios.some((s) => !skipReason(asSelectable(s), options))) {
    const parts = [...(options.only.length > 0 ? [`--only ${options.only.join(',')}`] : []), ...(options.skip.length > 0 ? [`--skip ${options.skip.join(',')}`] : []), `--level ${options.level}`];
    throw new UsageError(`${parts.join(' ')} selects none of the ${scenarios.length} client scenarios (axp-conformance client --list prints their IDs)`);
  }
  const reporters = createReporters(options.reporters, { outDir: options.outDir, trace: options.trace, transcripts: options.transcripts });

  const declared = await askCapabilities(input.command, options.timeoutScale, runId, warnings);
  const target = `client program: ${input.command}${declared.sdk ? ` (${declared.sdk})` : ''}`;
  const untested = CLIENT_ROLES.filter((r) => !declared.roles.includes(r));
  if (untested.length > 0) warnings.push(`roles not tested (the program does not declare them): ${untested.join(', ')}`);

  const results: CaseResult[] = new Array(scenarios.length);
  const planned: Array<{ index: number; s: ClientScenario }> = [];
  scenarios.forEach((s, index) => {
    const skipped = skipReason(asSelectable(s), options);
    if (skipped) results[index] = { ...baseResult(s), outcome: 'skipped', reason: skipped };
    else if (!declared.roles.includes(s.role)) results[index] = { ...baseResult(s), outcome: 'not_applicable', reason: `the program does not declare the ${s.role} role (AXP_CONFORMANCE_SCENARIO=capabilities)` };
    else planned.push({ index, s });
  });
  for (const r of reporters) r.onStart?.({ runId, target, embedded: false, seed: options.seed, toRun: planned.length, total: scenarios.length });
  for (const { index, s } of planned) {
    results[index] = await runScenario(s, input.command, declared, options.seed, options.timeoutScale, runId, []);
    for (const r of reporters) r.onCaseEnd?.(results[index]);
  }

  for (const r of results) if ((r.outcome === 'failed' || r.outcome === 'errored') && r.level !== 'MUST') r.warning = true;
  const unknown = applyBaseline(results, options.baseline);
  if (unknown.length > 0) warnings.push(`baseline names scenarios this kit does not have: ${unknown.join(', ')}`);
  const run: RunResult = {
    kit: kitInfo(),
    runId,
    seed: options.seed,
    target,
    // What was tested is the program: the reference server it talked to is the kit's own fixture.
    embedded: false,
    level: levelOf(options.level),
    timeoutScale: options.timeoutScale,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    capabilities: declared.undeclared ? [] : declared.roles.map((r) => `role.${r}`),
    harnessErrors,
    warnings,
    summary: summarize(results),
    exitCode: 0,
    cases: results,
  };
  run.exitCode = exitCodeFor(run);
  for (const r of reporters) {
    try {
      await r.onFinish?.(run);
    } catch (err) {
      harnessErrors.push(`reporter ${r.name} crashed: ${(err as Error).stack ?? String(err)}`);
      run.exitCode = 2;
    }
  }
  return run;
}
