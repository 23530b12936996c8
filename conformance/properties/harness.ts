// Runs one fast-check property inside a conformance case: seed from --seed (or a replay file),
// run count from --runs / --deep, a time budget, and on failure a CaseFailure carrying the seed,
// the path, the shrunk counterexample, its transcript and the JSON to replay it (--replay FILE).
import fc from 'fast-check';
import { CaseFailure, type CaseContext } from '../case.js';
import { UsageError } from '../errors.js';

export interface ReplayFile {
  case: string;
  seed: number;
  path: string;
  /** fc.commands' own replay hint, for stateful cases. */
  replayPath?: string;
}

export interface PropertySettings {
  /** --runs N: the run count of every property case. */
  runs?: number;
  /** --deep: the cases' deep run counts and budgets. */
  deep: boolean;
  /** Time budget per case in ms (default: each case's own). */
  budgetMs?: number;
  replay?: ReplayFile;
}

export function parseReplayFile(text: string, source = 'replay file'): ReplayFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not JSON: ${(err as Error).message}`);
  }
  const r = data as Partial<ReplayFile> | null;
  if (!r || typeof r.case !== 'string' || !Number.isSafeInteger(r.seed) || typeof r.path !== 'string' || (r.replayPath !== undefined && typeof r.replayPath !== 'string')) {
    throw new UsageError(`${source} must be JSON {"case": "PROP-NNN", "seed": <integer>, "path": "<fast-check path>", "replayPath"?: "<string>"}`);
  }
  return { case: r.case, seed: r.seed as number, path: r.path, ...(r.replayPath ? { replayPath: r.replayPath } : {}) };
}

/** A per-case seed: the run's --seed mixed with the case ID, so cases differ but repeat. */
export function caseSeed(runSeed: number, caseId: string): number {
  let h = runSeed | 0;
  for (const ch of caseId) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h | 0;
}

/** What one generated run did, for the failure report. */
export class RunLog {
  readonly lines: string[] = [];
  private readonly started = performance.now();

  add(line: string): void {
    this.lines.push(`${String(Math.round(performance.now() - this.started)).padStart(5)} ms  ${line}`);
  }
}

export interface PropertyPlan {
  caseId: string;
  runs: number;
  deepRuns: number;
  /** Wall-clock budget for generating runs (ms); shrinking gets shrinkMs more. */
  budgetMs: number;
  shrinkMs?: number;
}

export interface PropertyRun {
  /** The replay being run for this case, if any (stateful cases pass its replayPath to fc.commands). */
  replay?: ReplayFile;
  seed: number;
  numRuns: number;
}

/** The seed, run count and replay this case uses now. */
export function planRun(ctx: CaseContext, plan: PropertyPlan): PropertyRun {
  const settings = ctx.properties;
  const replay = settings.replay?.case === plan.caseId ? settings.replay : undefined;
  const seed = replay?.seed ?? caseSeed(ctx.seed, plan.caseId);
  const numRuns = settings.runs ?? (settings.deep ? plan.deepRuns : plan.runs);
  return { replay, seed, numRuns };
}

/**
 * Checks `predicate` on values of `arb`. Runs past the time budget pass without touching the
 * target (the property stops early rather than overrunning the case); once a run failed, every
 * later run (the shrinking) is real until the shrink budget is spent.
 */
export async function checkProperty<T>(
  ctx: CaseContext,
  plan: PropertyPlan,
  arb: fc.Arbitrary<T>,
  predicate: (value: T, log: RunLog) => Promise<void>,
): Promise<void> {
  const { replay, seed, numRuns } = planRun(ctx, plan);
  const settings = ctx.properties;
  const budget = (settings.budgetMs ?? (settings.deep ? plan.budgetMs * 10 : plan.budgetMs)) * ctx.timeoutScale;
  const shrinkBudget = (plan.shrinkMs ?? 10_000) * ctx.timeoutScale;
  const started = performance.now();
  let failedAt: number | undefined;
  let executed = 0;
  let skipped = 0;
  let lastFailure: { log: RunLog; error: unknown } | undefined;
  ctx.note(`fast-check seed ${seed}, ${numRuns} runs, budget ${Math.round(budget)} ms${replay ? `, replaying path ${replay.path}` : ''}`);

  const property = fc.asyncProperty(arb, async (value) => {
    const now = performance.now();
    if (failedAt === undefined && now - started > budget) return void skipped++;
    if (failedAt !== undefined && now - failedAt > shrinkBudget) return;
    if (ctx.signal.aborted) return;
    executed++;
    const log = new RunLog();
    try {
      await predicate(value, log);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      failedAt ??= performance.now();
      lastFailure = { log, error };
      throw error;
    }
  });
  const details = await fc.check(property, {
    seed,
    numRuns: replay ? 1 : numRuns,
    ...(replay ? { path: replay.path, endOnFailure: true } : {}),
  });
  ctx.note(`fast-check: ${executed} run(s) executed${skipped ? `, ${skipped} skipped past the time budget` : ''}`);
  if (!details.failed) return;

  const counterexample = details.counterexample ? fc.stringify(details.counterexample[0]) : '(none)';
  const replayPath = /replayPath="([^"]*)"/.exec(counterexample)?.[1];
  const file: ReplayFile = { case: plan.caseId, seed: details.seed, path: details.counterexamplePath ?? '', ...(replayPath ? { replayPath } : {}) };
  const cause = lastFailure?.error ?? details.errorInstance;
  const causeText = cause instanceof Error ? cause.message : String(cause);
  const message = [
    `property failed after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s): ${causeText}`,
    `seed ${details.seed}, path ${details.counterexamplePath ?? '(none)'}`,
    `shrunk counterexample: ${counterexample}`,
    `replay: save ${JSON.stringify(file)} as FILE and run axp-conformance --replay FILE [--target URL]`,
  ].join('\n');
  ctx.note(message);
  throw new CaseFailure(message, cause instanceof CaseFailure ? cause.expected : undefined, {
    seed: details.seed,
    path: details.counterexamplePath,
    replay: file,
    counterexample,
    cause: cause instanceof CaseFailure ? cause.actual : causeText,
    transcript: lastFailure?.log.lines ?? [],
  });
}
