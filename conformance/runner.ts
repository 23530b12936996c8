// One conformance run: pick the cases, learn what the target advertises, run the applicable cases
// (several at once, exclusive ones alone, the response-conformance cases last) each with its own
// context and bound, classify the outcome, redact credentials, apply the baseline, reach a verdict.
import { randomBytes } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { Blocked, CaseFailure, NotApplicable, isKind, type ConformanceCase, type HttpRequest } from './case.js';
import { checkAdminKey } from './admin-check.js';
import { AgentPool } from './agents.js';
import { applyBaseline } from './baseline.js';
import { CaseClient, createSpread, describeNetworkError, type UrlSpread } from './client.js';
import { UsageError } from './errors.js';
import { createCaseContext, type CaseScope, type RunScope } from './context.js';
import { startEmbedded, type EmbeddedServer } from './embedded.js';
import { ViolationLedger } from './ledger.js';
import { resolveOptions, type ResolvedOptions, type RunOptions } from './options.js';
import { SecretSet, placeholder } from './redaction.js';
import { registeredCases, registryProblems, requirementById } from './registry.js';
import { createReporters } from './reporters/index.js';
import type { Reporter } from './reporters/reporter.js';
import { exitCodeFor, summarize, type CaseResult, type RunResult } from './results.js';
import { levelOf, skipReason } from './selection.js';
import { StrayGuard } from './strays.js';
import { Transcript } from './transcript.js';
import { kitInfo } from './version.js';

const DEFAULT_CASE_MS = 30_000;
const TEST_CLOCK_PATH = '/v1/_test/clock';

function makeRunId(): string {
  return `${Date.now().toString(36).slice(-4)}${randomBytes(3).toString('hex')}`;
}

function baseResult(c: ConformanceCase): Omit<CaseResult, 'outcome'> {
  return { id: c.id, group: c.group, title: c.title, level: c.level, requirements: [...c.requirements], durationMs: 0, notes: [], transcript: [] };
}

interface Target {
  url: string;
  capabilities: unknown;
  capabilityList: string[];
  unreachable?: string;
}

async function discover(url: string, dispatcher: Dispatcher, scale: number, spread: UrlSpread, warnings: string[]): Promise<Target> {
  const client = new CaseClient({ baseUrl: url, dispatcher, transcript: new Transcript(), signal: new AbortController().signal, timeoutScale: scale, spread });
  try {
    const res = await client.request({ method: 'GET', path: '/v1/capabilities', validate: false });
    const list: unknown = res.body?.capabilities;
    if (res.status !== 200 || !Array.isArray(list)) {
      warnings.push(`GET /v1/capabilities answered ${res.status} without a capabilities list: every optional binding and extension counts as not advertised`);
      return { url, capabilities: res.body ?? {}, capabilityList: [] };
    }
    return { url, capabilities: res.body, capabilityList: list.filter((s): s is string => typeof s === 'string') };
  } catch (err) {
    const why = err instanceof CaseFailure ? err.message : describeNetworkError(err);
    return { url, capabilities: {}, capabilityList: [], unreachable: `target ${url} unreachable: ${why}` };
  }
}

function selectsNothing(total: number, options: ResolvedOptions): string {
  const parts = [...(options.only.length > 0 ? [`--only ${options.only.join(',')}`] : []), ...(options.skip.length > 0 ? [`--skip ${options.skip.join(',')}`] : []), `--level ${options.level}`];
  return `${parts.join(' ')} selects none of the ${total} cases (--list prints their IDs)`;
}

/** The server setting that makes a capability advertised, for not-applicable reasons. */
const SETTING_FOR: Record<string, string> = {
  'ext.test-clock': 'start the target with its test clock enabled (CLK-001; reference server: --test-clock) and give --admin-key',
};

/** Undefined when the case can run here, else why it is not applicable. */
function notApplicableReason(c: ConformanceCase, target: Target, adminKey: string | undefined): string | undefined {
  const missing = (c.needsCapabilities ?? []).filter((cap) => !target.capabilityList.includes(cap));
  if (missing.length > 0) return `target does not advertise ${missing.join(', ')}${missing.map((cap) => SETTING_FOR[cap]).filter(Boolean).map((hint) => `; to run it, ${hint}`).join('')}`;
  if (c.needsAdmin && !adminKey) return 'needs the admin key: give --admin-key or set AXP_ADMIN_KEY';
  return undefined;
}

/** Stops a case that would move the shared test clock while other cases run; it runs again alone. */
class RunAlone extends Error {
  constructor() {
    super('the case advances the test clock while other cases run: it runs again alone');
    this.name = 'RunAlone';
  }
}

function advancesClock(req: HttpRequest): boolean {
  if (req.method !== 'POST' || req.path.split('?')[0] !== TEST_CLOCK_PATH) return false;
  const body = req.json as { advance_ms?: unknown } | undefined;
  return !(typeof body?.advance_ms === 'number' && body.advance_ms <= 0);
}

interface CaseRun {
  result: CaseResult;
  /** The case was stopped before it advanced the test clock next to other cases: run it again alone. */
  runAlone?: boolean;
}

interface RunDeps {
  run: RunScope;
  dispatcher: Dispatcher;
  spread: UrlSpread;
  guard: StrayGuard;
}

async function runCase(c: ConformanceCase, deps: RunDeps, alone: boolean, othersRunning: () => boolean): Promise<CaseRun> {
  const { run, dispatcher, guard } = deps;
  const transcript = new Transcript();
  const controller = new AbortController();
  const notes: string[] = [];
  let runAlone = false;
  const beforeRequest = (req: HttpRequest) => {
    if (!alone && advancesClock(req) && othersRunning()) {
      runAlone = true;
      controller.abort(new RunAlone());
      throw new RunAlone();
    }
  };
  const scope: CaseScope = {
    case: c,
    client: new CaseClient({
      baseUrl: run.baseUrl, dispatcher, transcript, signal: controller.signal, timeoutScale: run.timeoutScale,
      caseId: c.id, ledger: run.ledger, secrets: run.secrets, spread: deps.spread, beforeRequest,
    }),
    transcript,
    signal: controller.signal,
    notes,
    receivers: [],
    cited: [],
  };
  const ctx = createCaseContext(run, scope);
  const bound = Math.round((c.timeoutMs ?? DEFAULT_CASE_MS) * run.timeoutScale);
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseFailure(`the case did not finish within its bound of ${bound} ms`)), bound);
  });
  const result = baseResult(c);
  const tag = guard.begin(c.id);
  let outcome: CaseResult;
  try {
    await Promise.race([tag.run(() => c.run(ctx)), overrun]);
    outcome = { ...result, outcome: 'passed' };
  } catch (err) {
    if (runAlone) outcome = { ...result, outcome: 'skipped', reason: 'stopped to run alone' };
    else if (isKind(err, NotApplicable)) outcome = { ...result, outcome: 'not_applicable', reason: err.message };
    else if (isKind(err, Blocked)) outcome = { ...result, outcome: 'blocked', reason: err.message, blockedBy: [...err.blockedBy] };
    else if (isKind(err, CaseFailure)) outcome = { ...result, outcome: 'failed', failure: { message: err.message, expected: err.expected, actual: err.actual } };
    else {
      const e = err instanceof Error ? err : new Error(String(err));
      transcript.add({ kind: 'error', summary: `unexpected ${e.name}: ${e.message}` });
      outcome = { ...result, outcome: 'errored', failure: { message: `${e.name}: ${e.message}`, stack: e.stack } };
    }
  } finally {
    clearTimeout(timer);
    controller.abort(tag.ended());
    await Promise.all(scope.receivers.map((r) => r.close().catch(() => undefined)));
  }
  // Promises the case left behind reject on the abort above; give Node a turn to report them.
  await new Promise((resolve) => setImmediate(resolve));
  const final: CaseResult = { ...outcome, durationMs: transcript.elapsedMs(), notes, transcript: transcript.entries };
  if (scope.cited.length > 0) final.requirements = [...new Set([...final.requirements, ...scope.cited])];
  tag.end(final);
  return { result: final, runAlone };
}

interface Planned {
  index: number;
  c: ConformanceCase;
}

/**
 * Runs the planned cases, `concurrency` at a time, in plan order of starting: an exclusive case
 * starts when nothing else runs and nothing starts beside it; a case stopped because it advanced
 * the test clock beside others runs again alone after the rest; runsLast cases run at the end.
 * A case whose dependsOn did not pass is blocked without running. Results stay in plan order.
 */
async function schedule(
  planned: Planned[],
  results: CaseResult[],
  concurrency: number,
  execute: (c: ConformanceCase, alone: boolean, othersRunning: () => boolean) => Promise<CaseRun>,
  finish: (index: number, result: CaseResult) => void,
): Promise<void> {
  const running = new Set<Promise<void>>();
  /** A started case's final result, or 'again' when it was stopped to run alone later. */
  const byId = new Map<string, Promise<CaseResult | 'again'>>();
  const again: Planned[] = [];
  const othersRunning = () => running.size > 1;

  const runOne = async ({ index, c }: Planned, alone: boolean): Promise<CaseResult | 'again'> => {
    const failed: string[] = [];
    for (const id of c.dependsOn ?? []) {
      const dep = await byId.get(id);
      if (dep === 'again') {
        again.push({ index, c });
        return 'again';
      }
      if (dep && dep.outcome !== 'passed') failed.push(id);
    }
    if (failed.length > 0) {
      const blocked: CaseResult = { ...baseResult(c), outcome: 'blocked', reason: `depends on ${failed.join(', ')}, which did not pass`, blockedBy: failed };
      finish(index, blocked);
      return blocked;
    }
    const { result, runAlone } = await execute(c, alone, othersRunning);
    if (runAlone) {
      again.push({ index, c });
      return 'again';
    }
    finish(index, result);
    return result;
  };

  const start = (p: Planned, alone: boolean): Promise<void> => {
    const outcome = runOne(p, alone).catch((err: unknown) => {
      // runCase classifies every throw of the case; reaching here is a bug of the runner itself.
      const result: CaseResult = { ...baseResult(p.c), outcome: 'errored', failure: { message: `runner: ${String(err)}`, stack: (err as Error)?.stack } };
      finish(p.index, result);
      return result;
    });
    byId.set(p.c.id, outcome);
    const task = outcome.then(() => undefined);
    running.add(task);
    void task.finally(() => running.delete(task));
    return task;
  };
  const drainTo = async (limit: number) => {
    while (running.size > limit) await Promise.race(running);
  };

  for (const p of planned.filter((x) => !x.c.runsLast)) {
    if (p.c.exclusive || concurrency === 1) {
      await drainTo(0);
      await start(p, true);
    } else {
      await drainTo(concurrency - 1);
      void start(p, false);
    }
  }
  await drainTo(0);
  // Stopped before moving the test clock beside other cases (and their dependents), in plan order.
  for (const p of again.sort((a, b) => a.index - b.index)) await start(p, true);
  for (const p of planned.filter((x) => x.c.runsLast)) await start(p, true);
  for (const p of planned) if (!results[p.index]) finish(p.index, { ...baseResult(p.c), outcome: 'errored', failure: { message: 'runner: the case never finished' } });
}

/**
 * Cases of the run: the registry's (the response-conformance cases included), or the caller's own
 * list as given; a caller's list that wants the shape ledger reported includes `shapeCases`.
 */
function casesOf(options: ResolvedOptions): ConformanceCase[] {
  return options.cases ?? registeredCases();
}

/** The secrets a run knows before it starts: the admin key, and every key and secret of --agents. */
function initialSecrets(options: ResolvedOptions, adminKey: string | undefined): SecretSet {
  const secrets = new SecretSet();
  secrets.add(adminKey, '$AXP_ADMIN_KEY');
  for (const a of options.agents?.agents ?? []) {
    secrets.add(a.api_key, placeholder('AXP_AGENT_KEY', a.role));
    secrets.add(a.secret, placeholder('AXP_WEBHOOK_SECRET', a.role));
  }
  return secrets;
}

export async function runConformance(input: RunOptions = {}): Promise<RunResult> {
  const options: ResolvedOptions = await resolveOptions(input);
  const startedAt = new Date();
  const runId = makeRunId();
  const harnessErrors: string[] = [];
  const warnings: string[] = [];
  const cases = casesOf(options);
  if (!options.cases) harnessErrors.push(...registryProblems(cases).map((p) => `case registry: ${p}`));
  // A selection that matches no case is a mistake in the command line, found before a server boots
  // (the response-conformance cases only report on the others).
  const own = cases.filter((c) => !c.runsLast);
  if (!own.some((c) => !skipReason(c, options))) throw new UsageError(selectsNothing(own.length, options));
  const reporters = createReporters(options.reporters, { outDir: options.outDir, trace: options.trace, transcripts: options.transcripts });
  const guard = new StrayGuard((text) => harnessErrors.push(text));
  guard.install();

  let embedded: EmbeddedServer | undefined;
  let adminKey = options.adminKey;
  let targetUrl = options.target ?? '(embedded reference server)';
  const results: CaseResult[] = new Array(cases.length);
  let target: Target = { url: targetUrl, capabilities: {}, capabilityList: [] };
  let secrets = new SecretSet();
  let adminCheck: Awaited<ReturnType<typeof checkAdminKey>>;
  const ledger = new ViolationLedger();
  const ledgerSize = () => ledger.size;
  const redact = <T>(value: T): T => (options.showSecrets ? value : secrets.redactValue(value));

  try {
    if (!options.target && harnessErrors.length === 0) {
      try {
        embedded = await startEmbedded({ adminKey, ...options.embedded });
        targetUrl = embedded.url;
        adminKey = embedded.adminKey;
      } catch (err) {
        harnessErrors.push(`cannot start the embedded reference server: ${(err as Error).stack ?? String(err)}`);
      }
    }
    secrets = initialSecrets(options, adminKey);
    const dispatcher = new Agent({ keepAliveTimeout: 2_000, connect: { timeout: Math.round(5_000 * options.timeoutScale) } });
    const spread = createSpread();
    try {
      if (harnessErrors.length === 0) target = await discover(targetUrl, dispatcher, options.timeoutScale, spread, warnings);
      if (adminKey && harnessErrors.length === 0 && !target.unreachable) {
        adminCheck = await checkAdminKey(targetUrl, adminKey, runId, target.capabilities, dispatcher, options.timeoutScale);
        // A refused key is no key: the cases that need one are not applicable, and the run says why once.
        if (adminCheck?.state === 'refused') adminKey = undefined;
      }
      const planned: Planned[] = [];
      const ledgerOnlyByOnly: Planned[] = [];
      cases.forEach((c, index) => {
        const skipped = skipReason(c, options);
        const na = notApplicableReason(c, target, adminKey);
        if (harnessErrors.length > 0) results[index] = { ...baseResult(c), outcome: 'skipped', reason: 'not run: the harness broke' };
        else if (target.unreachable) results[index] = { ...baseResult(c), outcome: 'skipped', reason: target.unreachable };
        // The response-conformance cases report what the selected cases read: --only keeps them.
        else if (skipped && c.runsLast && skipReason(c, { ...options, only: [] }) === undefined) {
          results[index] = { ...baseResult(c), outcome: 'skipped', reason: skipped };
          ledgerOnlyByOnly.push({ index, c });
        } else if (skipped) results[index] = { ...baseResult(c), outcome: 'skipped', reason: skipped };
        else if (na) results[index] = { ...baseResult(c), outcome: 'not_applicable', reason: na };
        else planned.push({ index, c });
      });
      if (planned.some((p) => !p.c.runsLast)) {
        for (const p of ledgerOnlyByOnly) {
          delete (results as Array<CaseResult | undefined>)[p.index];
          planned.push(p);
        }
        planned.sort((a, b) => a.index - b.index);
      } else {
        // The response-conformance cases report on what other cases read: with none, nothing to report.
        for (const p of planned.splice(0)) results[p.index] = { ...baseResult(p.c), outcome: 'skipped', reason: 'no other case ran' };
      }
      for (const r of reporters) r.onStart?.({ runId, target: targetUrl, embedded: !!embedded, seed: options.seed, toRun: planned.length, total: cases.length });

      const scope: RunScope = {
        runId,
        seed: options.seed,
        timeoutScale: options.timeoutScale,
        baseUrl: targetUrl,
        capabilities: target.capabilities,
        capabilityList: target.capabilityList,
        adminKey,
        receiverHost: options.receiverHost,
        pool: new AgentPool({ runId, adminKey, file: options.agents }),
        nextUnique: (() => {
          let n = 0;
          return () => ++n;
        })(),
        ledger,
        secrets,
        properties: options.properties,
      };
      const deps: RunDeps = { run: scope, dispatcher, spread, guard };
      await schedule(
        planned,
        results,
        options.concurrency,
        (c, alone, othersRunning) => runCase(c, deps, alone, othersRunning),
        (index, result) => {
          results[index] = result;
          const listeners = reporters.filter((r) => r.onCaseEnd);
          if (listeners.length === 0) return;
          const shown = redact(result);
          for (const r of listeners) {
            try {
              r.onCaseEnd?.(shown);
            } catch (err) {
              harnessErrors.push(`reporter ${r.name} crashed: ${(err as Error).stack ?? String(err)}`);
            }
          }
        },
      );
      for (const id of new Set(results.flatMap((r) => r?.requirements ?? []))) {
        if (!requirementById(id)) harnessErrors.push(`a case cited ${id}, which is not in spec/requirements.json`);
      }
    } finally {
      await dispatcher.close().catch(() => undefined);
    }
  } catch (err) {
    harnessErrors.push(`harness error: ${(err as Error)?.stack ?? String(err)}`);
  } finally {
    await embedded?.close().catch((err: Error) => harnessErrors.push(`closing the embedded server: ${err.message}`));
    guard.uninstall();
  }

  if (ledgerSize() > 0 && !cases.some((c) => c.runsLast && results[cases.indexOf(c)]?.outcome !== 'skipped')) {
    warnings.push(`${ledgerSize()} response-shape violation(s) were recorded but no response-conformance case ran to report them (add shapeCases to the cases)`);
  }
  for (const [index, c] of cases.entries()) results[index] ??= { ...baseResult(c), outcome: 'skipped', reason: 'not run: the harness broke' };
  for (const r of results) if ((r.outcome === 'failed' || r.outcome === 'errored') && r.level !== 'MUST') r.warning = true;
  const unknown = applyBaseline(results, options.baseline);
  if (unknown.length > 0) warnings.push(`baseline names cases this kit does not have: ${unknown.join(', ')}`);

  const run: RunResult = redact({
    kit: kitInfo(),
    runId,
    seed: options.seed,
    target: targetUrl,
    embedded: !!embedded,
    level: levelOf(options.level),
    timeoutScale: options.timeoutScale,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    capabilities: target.capabilityList,
    unreachable: target.unreachable,
    harnessErrors,
    warnings,
    summary: summarize(results),
    exitCode: 0,
    cases: results,
  });
  if (run.unreachable === undefined) delete run.unreachable;
  if (adminCheck) run.adminKey = adminCheck.state;
  else if (!adminKey && !target.unreachable && harnessErrors.length === 0) run.adminKey = 'missing';
  if (adminCheck?.refusal) run.adminKeyRefusal = adminCheck.refusal;
  run.exitCode = exitCodeFor(run);
  for (const r of reporters) {
    try {
      await r.onFinish?.(run);
    } catch (err) {
      run.harnessErrors.push(`reporter ${r.name} crashed: ${(err as Error).stack ?? String(err)}`);
      run.exitCode = 2;
    }
  }
  return run;
}
