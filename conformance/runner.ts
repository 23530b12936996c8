// One conformance run: pick the cases, learn what the target advertises, run each applicable case
// with its own context and bound, classify the outcome, apply the baseline and reach a verdict.
import { randomBytes } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { CaseFailure, NotApplicable, type ConformanceCase } from './case.js';
import { checkAdminKey } from './admin-check.js';
import { AgentPool } from './agents.js';
import { applyBaseline } from './baseline.js';
import { CaseClient, describeNetworkError } from './client.js';
import { UsageError } from './errors.js';
import { createCaseContext, type CaseScope, type RunScope } from './context.js';
import { startEmbedded, type EmbeddedServer } from './embedded.js';
import { resolveOptions, type ResolvedOptions, type RunOptions } from './options.js';
import { registeredCases, registryProblems } from './registry.js';
import { createReporters } from './reporters/index.js';
import type { Reporter } from './reporters/reporter.js';
import { exitCodeFor, summarize, type CaseResult, type RunResult } from './results.js';
import { levelOf, skipReason } from './selection.js';
import { Transcript, type Redaction } from './transcript.js';
import { kitInfo } from './version.js';

const DEFAULT_CASE_MS = 30_000;

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

async function discover(url: string, dispatcher: Dispatcher, scale: number, redactions: Redaction[], warnings: string[]): Promise<Target> {
  const client = new CaseClient({ baseUrl: url, dispatcher, transcript: new Transcript(redactions), signal: new AbortController().signal, timeoutScale: scale });
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

/** Undefined when the case can run here, else why it is not applicable. */
function notApplicableReason(c: ConformanceCase, target: Target, adminKey: string | undefined): string | undefined {
  const missing = (c.needsCapabilities ?? []).filter((cap) => !target.capabilityList.includes(cap));
  if (missing.length > 0) return `target does not advertise ${missing.join(', ')}`;
  if (c.needsAdmin && !adminKey) return 'needs the admin key: give --admin-key or set AXP_ADMIN_KEY';
  return undefined;
}

/**
 * instanceof, or the same class name: cases loaded through another module instance of case.ts
 * (a CommonJS copy, a bundled kit) throw look-alike classes that must classify the same.
 */
function isKind<T extends Error>(err: unknown, kind: new (...args: never[]) => T): err is T {
  return err instanceof kind || (err instanceof Error && err.name === kind.name);
}

async function runCase(c: ConformanceCase, run: RunScope, dispatcher: Dispatcher, redactions: Redaction[]): Promise<CaseResult> {
  const transcript = new Transcript(redactions);
  const controller = new AbortController();
  const notes: string[] = [];
  const scope: CaseScope = {
    case: c,
    client: new CaseClient({ baseUrl: run.baseUrl, dispatcher, transcript, signal: controller.signal, timeoutScale: run.timeoutScale }),
    transcript,
    signal: controller.signal,
    notes,
    receivers: [],
  };
  const ctx = createCaseContext(run, scope);
  const bound = Math.round((c.timeoutMs ?? DEFAULT_CASE_MS) * run.timeoutScale);
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseFailure(`the case did not finish within its bound of ${bound} ms`)), bound);
  });
  const result = baseResult(c);
  let outcome: CaseResult;
  try {
    await Promise.race([Promise.resolve().then(() => c.run(ctx)), overrun]);
    outcome = { ...result, outcome: 'passed' };
  } catch (err) {
    if (isKind(err, NotApplicable)) outcome = { ...result, outcome: 'not_applicable', reason: err.message };
    else if (isKind(err, CaseFailure)) outcome = { ...result, outcome: 'failed', failure: { message: err.message, expected: err.expected, actual: err.actual } };
    else {
      const e = err instanceof Error ? err : new Error(String(err));
      transcript.add({ kind: 'error', summary: `unexpected ${e.name}: ${e.message}` });
      outcome = { ...result, outcome: 'errored', failure: { message: `${e.name}: ${e.message}`, stack: e.stack } };
    }
  } finally {
    clearTimeout(timer);
    controller.abort(new Error(`case ${c.id} ended`));
    await Promise.all(scope.receivers.map((r) => r.close().catch(() => undefined)));
  }
  return { ...outcome, durationMs: transcript.elapsedMs(), notes, transcript: transcript.entries };
}

/** Runs the planned cases, `concurrency` at a time, keeping results in plan order. */
async function runAll(
  planned: Array<{ index: number; c: ConformanceCase }>,
  results: CaseResult[],
  concurrency: number,
  execute: (c: ConformanceCase) => Promise<CaseResult>,
  reporters: Reporter[],
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < planned.length) {
      const { index, c } = planned[next++];
      results[index] = await execute(c);
      for (const r of reporters) r.onCaseEnd?.(results[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, planned.length) }, worker));
}

export async function runConformance(input: RunOptions = {}): Promise<RunResult> {
  const options: ResolvedOptions = await resolveOptions(input);
  const startedAt = new Date();
  const runId = makeRunId();
  const harnessErrors: string[] = [];
  const warnings: string[] = [];
  const cases = options.cases ?? registeredCases();
  if (!options.cases) harnessErrors.push(...registryProblems(cases).map((p) => `case registry: ${p}`));
  // A selection that matches no case is a mistake in the command line, found before a server boots.
  if (!cases.some((c) => !skipReason(c, options))) throw new UsageError(selectsNothing(cases.length, options));
  const reporters = createReporters(options.reporters, { outDir: options.outDir, trace: options.trace, transcripts: options.transcripts });

  let embedded: EmbeddedServer | undefined;
  let adminKey = options.adminKey;
  let targetUrl = options.target ?? '(embedded reference server)';
  if (!options.target && harnessErrors.length === 0) {
    try {
      embedded = await startEmbedded({ adminKey, ...options.embedded });
      targetUrl = embedded.url;
      adminKey = embedded.adminKey;
    } catch (err) {
      harnessErrors.push(`cannot start the embedded reference server: ${(err as Error).stack ?? String(err)}`);
    }
  }
  const redactions: Redaction[] = adminKey ? [{ secret: adminKey, placeholder: '$AXP_ADMIN_KEY' }] : [];
  const dispatcher = new Agent({ keepAliveTimeout: 2_000, connect: { timeout: Math.round(5_000 * options.timeoutScale) } });
  const results: CaseResult[] = new Array(cases.length);
  let target: Target = { url: targetUrl, capabilities: {}, capabilityList: [] };
  let adminCheck: Awaited<ReturnType<typeof checkAdminKey>>;

  try {
    if (harnessErrors.length === 0) target = await discover(targetUrl, dispatcher, options.timeoutScale, redactions, warnings);
    if (adminKey && harnessErrors.length === 0 && !target.unreachable) {
      adminCheck = await checkAdminKey(targetUrl, adminKey, runId, target.capabilities, dispatcher, options.timeoutScale, redactions);
      // A refused key is no key: the cases that need one are not applicable, and the run says why once.
      if (adminCheck?.state === 'refused') adminKey = undefined;
    }
    const planned: Array<{ index: number; c: ConformanceCase }> = [];
    cases.forEach((c, index) => {
      const skipped = skipReason(c, options);
      const na = notApplicableReason(c, target, adminKey);
      if (harnessErrors.length > 0) results[index] = { ...baseResult(c), outcome: 'skipped', reason: 'not run: the harness broke' };
      else if (skipped) results[index] = { ...baseResult(c), outcome: 'skipped', reason: skipped };
      else if (target.unreachable) results[index] = { ...baseResult(c), outcome: 'skipped', reason: target.unreachable };
      else if (na) results[index] = { ...baseResult(c), outcome: 'not_applicable', reason: na };
      else planned.push({ index, c });
    });
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
    };
    await runAll(planned, results, options.concurrency, (c) => runCase(c, scope, dispatcher, redactions), reporters);
  } finally {
    await dispatcher.close().catch(() => undefined);
    await embedded?.close().catch((err: Error) => harnessErrors.push(`closing the embedded server: ${err.message}`));
  }

  for (const r of results) if ((r.outcome === 'failed' || r.outcome === 'errored') && r.level !== 'MUST') r.warning = true;
  const unknown = applyBaseline(results, options.baseline);
  if (unknown.length > 0) warnings.push(`baseline names cases this kit does not have: ${unknown.join(', ')}`);

  const run: RunResult = {
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
  };
  if (run.unreachable === undefined) delete run.unreachable;
  if (adminCheck) run.adminKey = adminCheck.state;
  else if (!adminKey && !target.unreachable && harnessErrors.length === 0) run.adminKey = 'missing';
  if (adminCheck?.refusal) run.adminKeyRefusal = adminCheck.refusal;
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
