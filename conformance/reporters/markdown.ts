// A Markdown summary for a CI job page or a pull-request comment: the verdict, a table of counts,
// every failure with its requirement IDs and short evidence (message, expected vs actual, the
// request it concerns as one line). Never a header or a body: nothing here can carry a credential.
// Written to --out, and appended to $GITHUB_STEP_SUMMARY when GitHub Actions sets it.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaseResult, RunResult } from '../results.js';
import { failingRequest, isProblem, show } from './evidence.js';
import { inReadingOrder, OUTCOME_LABEL, REPORT_FILES, type Reporter } from './reporter.js';
import { causes, VERDICT_WORD, verdictText } from './verdict.js';

/** Failures listed in the table; GitHub caps a job summary at 1 MiB, so a long list is cut. */
const MAX_ROWS = 100;
/** Failures whose evidence is folded out under the table. */
const MAX_EVIDENCE = 25;
const MAX_CELL = 240;
const MAX_VALUE = 600;

const ICON: Record<RunResult['exitCode'], string> = { 0: '✅', 1: '❌', 2: '💥', 3: '⚠️' };

/** Text safe in a Markdown table cell or paragraph: one line, no markup, no raw HTML. */
export function mdText(text: string, max = MAX_CELL): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const cut = line.length > max ? `${line.slice(0, max - 1)}…` : line;
  return cut.replace(/[\\`*_[\]|<>&~]/g, (c) => `\\${c}`);
}

function htmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A fenced block that no backtick run in the text can close early. */
function fenced(text: string, max = MAX_VALUE): string {
  const body = text.length > max ? `${text.slice(0, max)}… [${text.length - max} more characters]` : text;
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${body}\n${fence}`;
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function what(r: CaseResult): string {
  if (r.baseline === 'stale') return 'passed, but listed in the baseline: remove the entry';
  if (r.outcome === 'blocked') return `blocked: ${r.reason ?? ''}${r.blockedBy?.length ? ` (blocked by ${r.blockedBy.join(', ')})` : ''}`;
  return r.failure?.message ?? r.reason ?? r.outcome;
}

function caseTable(cases: CaseResult[]): string[] {
  const lines = ['| case | level | requirements | what happened |', '|---|---|---|---|'];
  for (const r of cases.slice(0, MAX_ROWS)) {
    lines.push(`| ${code(r.id)} ${mdText(r.title, 120)} | ${r.level} | ${r.requirements.map(code).join(' ')} | ${mdText(what(r))} |`);
  }
  if (cases.length > MAX_ROWS) lines.push(`| … | | | ${cases.length - MAX_ROWS} more: see the HTML or JSON report |`);
  return lines;
}

/** The request a failure concerns and the answer it got, as one-line summaries (no headers, no body). */
function exchange(r: CaseResult): string | undefined {
  const request = failingRequest(r.transcript);
  if (!request) return undefined;
  const after = r.transcript.slice(r.transcript.indexOf(request) + 1).find((e) => e.kind === 'response' || e.kind === 'error');
  return after ? `${request.summary}\n${after.summary}` : request.summary;
}

function evidence(r: CaseResult): string {
  // Inside an HTML element Markdown is not read: the summary line is escaped as HTML.
  const title = r.title.length > 120 ? `${r.title.slice(0, 119)}…` : r.title;
  const parts = [`<details><summary><code>${htmlText(r.id)}</code> ${htmlText(title)}</summary>`, ''];
  if (r.failure) {
    parts.push(mdText(r.failure.message, 1000), '');
    if (r.failure.expected !== undefined || r.failure.actual !== undefined) {
      parts.push(fenced(`expected: ${show(r.failure.expected)}\nactual:   ${show(r.failure.actual)}`), '');
    }
  }
  const last = exchange(r);
  if (last) parts.push('last request:', '', fenced(last), '');
  parts.push('</details>', '');
  return parts.join('\n');
}

export function buildMarkdown(run: RunResult): string {
  const s = run.summary;
  const cases = inReadingOrder(run.cases);
  const failures = cases.filter((r) => isProblem(r) && !r.warning && r.baseline !== 'known_failure');
  const warnings = cases.filter((r) => r.warning || r.baseline === 'known_failure');
  const blocked = cases.filter((r) => r.outcome === 'blocked');
  const lines: string[] = [];
  lines.push(`## ${ICON[run.exitCode]} AXP conformance: ${VERDICT_WORD[run.exitCode]}`, '');
  lines.push(`**${mdText(verdictText(run), 400)}** (exit ${run.exitCode})`, '');
  for (const cause of causes(run)) lines.push(`> ${mdText(cause, 400)}`, '');
  const where = run.embedded ? 'the embedded reference server' : code(run.target);
  lines.push(`Against ${where} · ${mdText(`${run.kit.name} ${run.kit.version}`)} · run ${code(run.runId)} · seed ${run.seed} · ${(run.durationMs / 1000).toFixed(1)} s`, '');
  const counts: Array<[string, number]> = [
    ['passed', s.passed], ['failed', s.failed], ['errored', s.errored], ['blocked', s.blocked],
    [OUTCOME_LABEL.known_failure, s.knownFailures], [OUTCOME_LABEL.stale, s.staleBaseline], [OUTCOME_LABEL.warning, s.warnings],
    ['not applicable', s.notApplicable], ['skipped', s.skipped], ['total', s.total],
  ];
  lines.push('| outcome | cases |', '|---|---:|', ...counts.map(([label, n]) => `| ${label} | ${n} |`), '');
  if (failures.length > 0) {
    lines.push(`### Failures (${failures.length})`, '', ...caseTable(failures), '');
    for (const r of failures.slice(0, MAX_EVIDENCE)) lines.push(evidence(r));
  }
  if (blocked.length > 0) lines.push(`### Blocked (${blocked.length})`, '', 'Not failures: a precondition could not be established.', '', ...caseTable(blocked), '');
  if (warnings.length > 0) lines.push(`### Warnings and known failures (${warnings.length})`, '', ...caseTable(warnings), '');
  const notApplicable = cases.filter((r) => r.outcome === 'not_applicable');
  if (notApplicable.length > 0) {
    const reasons = new Map<string, string[]>();
    for (const r of notApplicable) reasons.set(r.reason ?? '', [...(reasons.get(r.reason ?? '') ?? []), r.id]);
    lines.push(`<details><summary>Not applicable (${notApplicable.length})</summary>`, '');
    for (const [reason, ids] of reasons) lines.push(`- ${mdText(reason || 'no reason given', 300)}: ${ids.slice(0, 20).map(code).join(' ')}${ids.length > 20 ? ` and ${ids.length - 20} more` : ''}`);
    lines.push('', '</details>', '');
  }
  for (const e of run.harnessErrors) lines.push(`- harness error: ${mdText(e.split('\n')[0], 400)}`);
  for (const w of run.warnings) lines.push(`- warning: ${mdText(w, 400)}`);
  if (run.harnessErrors.length > 0 || run.warnings.length > 0) lines.push('');
  return `${lines.join('\n').trimEnd()}\n`;
}

export interface MarkdownOptions {
  /** A file the summary is appended to as well (GitHub Actions: $GITHUB_STEP_SUMMARY). */
  stepSummary?: string;
}

export class MarkdownReporter implements Reporter {
  readonly name = 'markdown';
  readonly written: string[] = [];
  constructor(
    private readonly outDir: string,
    private readonly options: MarkdownOptions = {},
  ) {}

  async onFinish(run: RunResult): Promise<void> {
    const file = join(this.outDir, REPORT_FILES.markdown);
    const text = buildMarkdown(run);
    await mkdir(this.outDir, { recursive: true });
    await writeFile(file, text);
    this.written.push(file);
    if (this.options.stepSummary) await appendFile(this.options.stepSummary, `${text}\n`);
  }
}
