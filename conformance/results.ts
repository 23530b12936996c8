// What a run produces: one result per case and the run's verdict. The JSON reporter writes this
// object as is; schemas/conformance-report.schema.json describes it.
import type { CaseOutcome, Level } from './case.js';
import type { TranscriptEntry } from './transcript.js';

export interface CaseFailureInfo {
  message: string;
  expected?: unknown;
  actual?: unknown;
  /** Stack of an unexpected throw (errored cases only). */
  stack?: string;
}

export interface CaseResult {
  id: string;
  group: string;
  title: string;
  level: Level;
  requirements: string[];
  outcome: CaseOutcome;
  /** Why a case was not applicable or skipped. */
  reason?: string;
  failure?: CaseFailureInfo;
  /** Listed in the baseline: a known failure, or stale when it passed. */
  baseline?: 'known_failure' | 'stale';
  /** A failed SHOULD or MAY case: reported, but does not fail the run. */
  warning?: boolean;
  durationMs: number;
  notes: string[];
  transcript: TranscriptEntry[];
}

export type ExitCode = 0 | 1 | 2 | 3;

export interface RunSummary {
  total: number;
  passed: number;
  failed: number;
  errored: number;
  notApplicable: number;
  skipped: number;
  warnings: number;
  knownFailures: number;
  staleBaseline: number;
}

export interface RunResult {
  kit: { name: string; version: string };
  runId: string;
  seed: number;
  target: string;
  /** True when the kit booted the reference server itself (no --target). */
  embedded: boolean;
  level: Level;
  timeoutScale: number;
  startedAt: string;
  durationMs: number;
  /** The target's capability strings, as advertised (empty when unreachable). */
  capabilities: string[];
  /** Set when the target could not be reached: nothing was measured. */
  unreachable?: string;
  /** The harness itself broke (reported apart from target failures; exit 2). */
  harnessErrors: string[];
  /** Things a person should know that do not change the verdict (e.g. baseline IDs naming no case). */
  warnings: string[];
  summary: RunSummary;
  exitCode: ExitCode;
  cases: CaseResult[];
}

export function summarize(cases: CaseResult[]): RunSummary {
  const count = (o: CaseOutcome) => cases.filter((c) => c.outcome === o).length;
  return {
    total: cases.length,
    passed: count('passed'),
    failed: count('failed'),
    errored: count('errored'),
    notApplicable: count('not_applicable'),
    skipped: count('skipped'),
    warnings: cases.filter((c) => c.warning).length,
    knownFailures: cases.filter((c) => c.baseline === 'known_failure').length,
    staleBaseline: cases.filter((c) => c.baseline === 'stale').length,
  };
}

/**
 * 0: every applicable MUST case passed (SHOULD/MAY failures are warnings, baselined failures expected);
 * 1: a MUST case failed or errored, or a baseline entry is stale;
 * 2: the harness broke; 3: nothing was measured (unreachable, or no case passed or failed).
 */
export function exitCodeFor(run: Pick<RunResult, 'cases' | 'harnessErrors' | 'unreachable'>): ExitCode {
  if (run.harnessErrors.length > 0) return 2;
  if (run.unreachable) return 3;
  const measured = run.cases.filter((c) => c.outcome === 'passed' || c.outcome === 'failed' || c.outcome === 'errored');
  if (measured.length === 0) return 3;
  const blocking = run.cases.some(
    (c) => (c.outcome === 'failed' || c.outcome === 'errored') && c.level === 'MUST' && c.baseline !== 'known_failure',
  );
  if (blocking || run.cases.some((c) => c.baseline === 'stale')) return 1;
  return 0;
}
