// What a run produces: one result per case and the run's verdict. The JSON reporter writes this
// object as is; schemas/conformance-report.schema.json describes it.
import type { ConformanceReport, ConformanceReportCaseResult } from '../schemas/types.js';
import type { CaseOutcome } from './case.js';

// The shapes are generated from schemas/conformance-report.schema.json (npm run gen:types): the
// report's schema is their one source, the names below are the kit's.

/** One case's result; `baseline` marks a known failure (or stale when it passed), `warning` a failed SHOULD/MAY case. */
export type CaseResult = ConformanceReportCaseResult;
/** Why a case failed; `stack` only for an unexpected throw (errored cases). */
export type CaseFailureInfo = NonNullable<CaseResult['failure']>;
export type RunSummary = ConformanceReport['summary'];
export type ExitCode = ConformanceReport['exitCode'];
/** A whole run: `embedded` when the kit booted the reference server, `unreachable` when nothing was measured. */
export type RunResult = ConformanceReport;

export function summarize(cases: CaseResult[]): RunSummary {
  const count = (o: CaseOutcome) => cases.filter((c) => c.outcome === o).length;
  return {
    total: cases.length,
    passed: count('passed'),
    failed: count('failed'),
    errored: count('errored'),
    blocked: count('blocked'),
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
 * 2: the harness broke; 3: nothing was measured (unreachable, no case passed or failed, or the
 * admin key was missing or refused so the cases that need it did not run).
 */
/** Not applicable only because the kit had no usable admin key (none given, or the target refused it). */
export function needsAdminKey(r: CaseResult): boolean {
  return r.outcome === 'not_applicable' && /admin key|--admin-key/i.test(r.reason ?? '');
}

export function exitCodeFor(run: Pick<RunResult, 'cases' | 'harnessErrors' | 'unreachable'> & Partial<Pick<RunResult, 'adminKey'>>): ExitCode {
  if (run.harnessErrors.length > 0) return 2;
  if (run.unreachable) return 3;
  const measured = run.cases.filter((c) => c.outcome === 'passed' || c.outcome === 'failed' || c.outcome === 'errored');
  if (measured.length === 0) return 3;
  const blocking = run.cases.some(
    (c) => (c.outcome === 'failed' || c.outcome === 'errored') && c.level === 'MUST' && c.baseline !== 'known_failure',
  );
  if (blocking || run.cases.some((c) => c.baseline === 'stale')) return 1;
  // A CI gate whose admin-key secret is unset or wrong must not go green on the few cases that
  // need no key: the run did not measure what it selected.
  if (run.adminKey !== undefined && run.adminKey !== 'accepted' && run.cases.some(needsAdminKey)) return 3;
  return 0;
}
