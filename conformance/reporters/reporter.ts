// What a reporter hears during a run. File reporters only act in onFinish; the console reporter
// shows progress as cases end.
import type { CaseResult, RunResult } from '../results.js';

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
  onStart?(plan: RunPlan): void;
  onCaseEnd?(result: CaseResult): void;
  onFinish?(run: RunResult): Promise<void> | void;
}

export const REPORTER_NAMES = ['console', 'json', 'junit', 'html'] as const;
export type ReporterName = (typeof REPORTER_NAMES)[number];

export function isReporterName(name: string): name is ReporterName {
  return (REPORTER_NAMES as readonly string[]).includes(name);
}

/** Files the file reporters write into --out. */
export const REPORT_FILES = {
  json: 'conformance-report.json',
  junit: 'junit.xml',
  html: 'conformance-report.html',
} as const;
