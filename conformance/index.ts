// The kit's programmatic API: runConformance(options) → results, for server projects that gate CI
// from their own test runner, plus the case contract for anyone writing cases.
export { runConformance } from './runner.js';
export { runClientConformance, type ClientRunOptions } from './clients/runner.js';
export type { RunOptions } from './options.js';
export type { CaseResult, CaseFailureInfo, RunResult, RunSummary, ExitCode } from './results.js';
export { exitCodeFor, summarize } from './results.js';
export { CaseFailure, NotApplicable } from './case.js';
export type {
  AgentNeed, Binding, CaseContext, CaseOutcome, ConformanceCase, HttpRequest, HttpResponse, Level, Receiver,
  ReceiverHit, ReceiverStep, RegisteredAgent, SseFrameSeen, SseOpen, SseResult,
} from './case.js';
export type { AgentsFile, AgentsFileEntry } from './agents.js';
export type { Reporter, ReporterName, RunPlan, TranscriptPolicy } from './reporters/reporter.js';
export type { TranscriptEntry, TranscriptKind } from './transcript.js';
export { registeredCases, registryProblems, uncoveredRequirements, requirements } from './registry.js';
export type { Requirement } from './registry.js';
export { UsageError, HarnessError } from './errors.js';
