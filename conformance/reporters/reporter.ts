// What a reporter hears during a run. File reporters only act in onFinish; the console reporter
// shows progress as cases end. Also what every report shares: the order cases are read in (failures
// first) and how much of a transcript a report keeps.
import type { CaseResult, RunResult } from '../results.js';
import type { TranscriptEntry } from '../transcript.js';

export interface RunPlan {
  runId: string;
  target: string;
  embedded: boolean;
  seed: number;
  /** Cases that will run (selected and applicable so far). */
  toRun: number;
  total: number;
}

export interface Reporter {
  readonly name: string;
  /** The files a file reporter wrote, once written (the console prints where they are). */
  readonly written?: readonly string[];
  onStart?(plan: RunPlan): void;
  onCaseEnd?(result: CaseResult): void;
  onFinish?(run: RunResult): Promise<void> | void;
}

export const REPORTER_NAMES = ['console', 'json', 'junit', 'html', 'markdown'] as const;
export type ReporterName = (typeof REPORTER_NAMES)[number];

export function isReporterName(name: string): name is ReporterName {
  return (REPORTER_NAMES as readonly string[]).includes(name);
}

/** Files the file reporters write into --out. */
export const REPORT_FILES = {
  json: 'conformance-report.json',
  junit: 'junit.xml',
  html: 'conformance-report.html',
  markdown: 'conformance-summary.md',
} as const;

/** How much of each case's transcript the file reports keep (--transcripts). */
export type TranscriptPolicy = 'failing' | 'all';
export const TRANSCRIPT_POLICIES: readonly TranscriptPolicy[] = ['failing', 'all'];

/**
 * The outcome a reader sorts and filters on: a known failure, a stale baseline entry and a failed
 * SHOULD/MAY case (warning) are told apart from a failure.
 */
export type ShownOutcome = CaseResult['outcome'] | 'known_failure' | 'stale' | 'warning';

export function shownOutcome(r: CaseResult): ShownOutcome {
  if (r.baseline === 'known_failure') return 'known_failure';
  if (r.baseline === 'stale') return 'stale';
  if (r.warning) return 'warning';
  return r.outcome;
}

/** Reading order: what needs attention first, what merely happened last. */
export const SHOWN_OUTCOMES: readonly ShownOutcome[] = [
  'failed', 'errored', 'warning', 'blocked', 'known_failure', 'stale', 'passed', 'not_applicable', 'skipped',
];

export const OUTCOME_LABEL: Record<ShownOutcome, string> = {
  failed: 'failed',
  errored: 'errored',
  warning: 'warning (SHOULD/MAY failed)',
  blocked: 'blocked',
  known_failure: 'known failure',
  stale: 'stale baseline entry',
  passed: 'passed',
  not_applicable: 'not applicable',
  skipped: 'skipped',
};

/** Cases in reading order (failures first); the run's own order within one outcome. */
export function inReadingOrder(cases: readonly CaseResult[]): CaseResult[] {
  const rank = (r: CaseResult) => SHOWN_OUTCOMES.indexOf(shownOutcome(r));
  return cases.map((r, i) => ({ r, i })).sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i).map(({ r }) => r);
}

/** Entries a summarised transcript keeps, as one-line summaries without headers or bodies. */
const SUMMARY_KEEPS = 10;

/** Whether a report keeps the case's whole transcript: failures, errors, blocks and n/a explain themselves with it. */
export function keepsTranscript(r: CaseResult, policy: TranscriptPolicy): boolean {
  return policy === 'all' || r.outcome !== 'passed';
}

function lineOnly(e: TranscriptEntry): TranscriptEntry {
  const { atMs, kind, summary, method, status } = e;
  return { atMs, kind, summary, ...(method === undefined ? {} : { method }), ...(status === undefined ? {} : { status }) };
}

/** A passing case's transcript as counts and its first few lines (already summarised: unchanged). */
export function summariseTranscript(r: CaseResult): CaseResult {
  if (r.transcriptSummary) return r;
  const statuses: Record<string, number> = {};
  let requests = 0;
  let sseFrames = 0;
  let receiverHits = 0;
  for (const e of r.transcript) {
    if (e.kind === 'request') requests++;
    else if (e.kind === 'sse-frame') sseFrames++;
    else if (e.kind === 'receiver-hit') receiverHits++;
    else if (e.kind === 'response' && e.status !== undefined) statuses[e.status] = (statuses[e.status] ?? 0) + 1;
  }
  const kept = r.transcript.slice(0, SUMMARY_KEEPS).map(lineOnly);
  return {
    ...r,
    transcript: kept,
    transcriptSummary: { entries: r.transcript.length, kept: kept.length, requests, statuses, sseFrames, receiverHits },
  };
}

/** The run as a file report shows it: failures first, passing transcripts summarised unless asked for all. */
export function forReport(run: RunResult, policy: TranscriptPolicy = 'failing'): RunResult {
  const cases = inReadingOrder(run.cases).map((r) => (keepsTranscript(r, policy) ? r : summariseTranscript(r)));
  return { ...run, cases };
}

/** One line for a summarised transcript, e.g. `228 entries: 114 requests (200 ×110, 404 ×4), 3 SSE frames`. */
export function describeSummary(s: NonNullable<CaseResult['transcriptSummary']>): string {
  const statuses = Object.entries(s.statuses).map(([status, n]) => `${status} ×${n}`).join(', ');
  const parts = [`${s.requests} request${s.requests === 1 ? '' : 's'}${statuses ? ` (${statuses})` : ''}`];
  if (s.sseFrames) parts.push(`${s.sseFrames} SSE frame${s.sseFrames === 1 ? '' : 's'}`);
  if (s.receiverHits) parts.push(`${s.receiverHits} receiver hit${s.receiverHits === 1 ? '' : 's'}`);
  const shown = s.kept === s.entries ? 'shown without headers and bodies' : `first ${s.kept} shown, without headers and bodies`;
  return `${s.entries} entries: ${parts.join(', ')}; ${shown} (--transcripts all keeps them whole)`;
}
