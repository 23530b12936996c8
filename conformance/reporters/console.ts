// People's report: a progress bar while cases run, then the cause of an empty run (before any
// table), a summary per group, every failure with its requirement text, expected vs actual, a
// transcript excerpt and a curl reproduction, why cases were blocked or not applicable, the
// verdict and where the file reports are. Without --reporter console it still prints the verdict.
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import type { Writable } from 'node:stream';
import type { CaseResult, RunResult } from '../results.js';
import { excerpt, formatEntry } from '../transcript.js';
import { curlForResult, isProblem, requirementLines, show } from './evidence.js';
import type { Reporter, RunPlan } from './reporter.js';
import { causes, verdictLine } from './verdict.js';

export interface ConsoleOptions {
  trace?: boolean;
  out?: Writable & { isTTY?: boolean };
  /** Only the verdict and the report paths (another reporter was asked for, not the console). */
  brief?: boolean;
  /** The files the file reporters wrote, asked after they finished. */
  files?: () => readonly string[];
}

const MARK: Record<CaseResult['outcome'], string> = {
  passed: pc.green('✓'),
  failed: pc.red('✗'),
  errored: pc.red('!'),
  blocked: pc.yellow('⊘'),
  not_applicable: pc.dim('–'),
  skipped: pc.dim('·'),
};

/** IDs shown per reason before "and N more". */
const IDS_PER_REASON = 12;

function indent(text: string, by = '    '): string {
  return text.split('\n').map((line) => by + line).join('\n');
}

function outcomeLabel(r: CaseResult): string {
  if (r.baseline === 'known_failure') return pc.yellow(`${r.outcome} (known failure, baseline)`);
  if (r.baseline === 'stale') return pc.red('passed, but listed in the baseline (stale entry)');
  if (r.warning) return pc.yellow(`${r.outcome} (${r.level}: warning)`);
  if (r.outcome === 'not_applicable') return pc.dim(`not applicable: ${r.reason ?? ''}`);
  if (r.outcome === 'blocked') return pc.yellow(`blocked: ${blockedText(r)}`);
  return r.outcome === 'passed' ? pc.green('passed') : pc.red(r.outcome);
}

function blockedText(r: CaseResult): string {
  const by = r.blockedBy && r.blockedBy.length > 0 ? ` (blocked by ${r.blockedBy.join(', ')})` : '';
  return `${r.reason ?? 'its precondition could not be established'}${by}`;
}

export function describeFailure(r: CaseResult): string {
  const lines = [`${MARK[r.outcome]} ${pc.bold(r.id)} ${r.title}  [${r.level}] ${outcomeLabel(r)}`];
  for (const req of requirementLines(r)) lines.push(indent(`${pc.cyan(req.id)} ${req.level ?? ''} ${req.text}${req.link ? pc.dim(`  (${req.link})`) : ''}`));
  if (r.failure) {
    lines.push(indent(pc.red(r.failure.message)));
    if (r.failure.expected !== undefined || r.failure.actual !== undefined) {
      lines.push(indent(`expected: ${show(r.failure.expected)}`));
      lines.push(indent(`actual:   ${show(r.failure.actual)}`));
    }
    if (r.failure.stack) lines.push(indent(pc.dim(r.failure.stack)));
  }
  if (r.transcript.length > 0) {
    lines.push(indent(pc.dim('transcript (last entries):')));
    for (const e of excerpt(r.transcript)) lines.push(indent(formatEntry(e), '      '));
  }
  const curl = curlForResult(r);
  if (curl && r.outcome !== 'passed') lines.push(indent(`${pc.dim('reproduce:')} ${curl}`));
  return lines.join('\n');
}

function groupTable(run: RunResult): string[] {
  const groups = new Map<string, CaseResult[]>();
  for (const r of run.cases) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  const columns = ['passed', 'failed', 'blocked', 'n/a', 'skipped'];
  const head = `${'group'.padEnd(10)} ${columns.map((c) => c.padStart(7)).join(' ')}`;
  const rows = [...groups].map(([group, rs]) => {
    const n = (f: (r: CaseResult) => boolean) => rs.filter(f).length;
    const failed = n((r) => r.outcome === 'failed' || r.outcome === 'errored');
    const counts = [n((r) => r.outcome === 'passed'), failed, n((r) => r.outcome === 'blocked'), n((r) => r.outcome === 'not_applicable'), n((r) => r.outcome === 'skipped')];
    const line = `${group.padEnd(10)} ${counts.map((c) => String(c).padStart(7)).join(' ')}`;
    return failed > 0 ? pc.red(line) : line;
  });
  return [pc.bold(head), ...rows];
}

/** Cases by their reason, one line per reason: `reason: ID, ID, … (n)`. */
function byReason(cases: CaseResult[]): string[] {
  const reasons = new Map<string, string[]>();
  for (const r of cases) {
    const reason = r.reason ?? '(no reason given)';
    reasons.set(reason, [...(reasons.get(reason) ?? []), r.id]);
  }
  return [...reasons].map(([reason, ids]) => {
    const shown = ids.slice(0, IDS_PER_REASON).join(', ');
    const more = ids.length > IDS_PER_REASON ? ` and ${ids.length - IDS_PER_REASON} more` : '';
    return `${reason}: ${shown}${more} (${ids.length})`;
  });
}

function paint(run: RunResult, text: string): string {
  return run.exitCode === 0 ? pc.green(text) : run.exitCode === 3 ? pc.yellow(text) : pc.red(text);
}

export class ConsoleReporter implements Reporter {
  readonly name: string;
  private bar: cliProgress.SingleBar | undefined;
  private readonly out: Writable & { isTTY?: boolean };

  constructor(private readonly options: ConsoleOptions = {}) {
    this.out = options.out ?? process.stdout;
    // A brief console is not "the console reporter": --trace and --reporter console add the full one.
    this.name = options.brief ? 'verdict' : 'console';
  }

  private print(text = ''): void {
    this.out.write(`${text}\n`);
  }

  onStart(plan: RunPlan): void {
    if (this.options.brief) return;
    this.print(pc.bold(`AXP conformance run ${plan.runId} against ${plan.target}${plan.embedded ? ' (embedded reference server)' : ''}`));
    this.print(pc.dim(`seed ${plan.seed} · ${plan.toRun} of ${plan.total} cases to run`));
    if (this.out.isTTY && !this.options.trace && plan.toRun > 0) {
      this.bar = new cliProgress.SingleBar(
        { format: ' {bar} {value}/{total} {case}', hideCursor: true, clearOnComplete: true, stream: this.out as NodeJS.WriteStream },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(plan.toRun, 0, { case: '' });
    }
  }

  onCaseEnd(result: CaseResult): void {
    if (this.options.brief) return;
    if (this.bar) {
      this.bar.increment({ case: `${result.id} ${result.outcome}` });
      return;
    }
    this.print(`${MARK[result.outcome]} ${result.id} ${result.title}${result.outcome === 'passed' ? '' : `  ${outcomeLabel(result)}`}`);
    if (this.options.trace) for (const e of result.transcript) this.print(indent(formatEntry(e), '      '));
  }

  onFinish(run: RunResult): void {
    this.bar?.stop();
    if (this.options.brief) return this.finishBrief(run);
    this.print();
    // The cause of an empty run comes first: nothing below makes sense without it.
    for (const cause of causes(run)) this.print(pc.bold(pc.yellow(cause)));
    const s = run.summary;
    const ran = s.passed + s.failed + s.errored + s.blocked > 0;
    if (ran) for (const line of groupTable(run)) this.print(line);
    const problems = run.cases.filter((r) => isProblem(r) && !r.warning && r.baseline !== 'known_failure');
    const warnings = run.cases.filter((r) => r.warning || r.baseline === 'known_failure');
    const blocked = run.cases.filter((r) => r.outcome === 'blocked');
    const notApplicable = run.cases.filter((r) => r.outcome === 'not_applicable');
    // Skipped by the selection is worth a line; skipped because the target was unreachable is the cause above.
    const skipped = run.unreachable ? [] : run.cases.filter((r) => r.outcome === 'skipped');
    if (problems.length > 0) {
      this.print();
      this.print(pc.bold(pc.red(`Failures (${problems.length})`)));
      for (const r of problems) this.print(`${describeFailure(r)}\n`);
    }
    if (blocked.length > 0) {
      this.print();
      this.print(pc.bold(pc.yellow(`Blocked (${blocked.length}): not failures; a precondition could not be established`)));
      for (const r of blocked) this.print(`${MARK.blocked} ${pc.bold(r.id)} ${r.title}  ${blockedText(r)}`);
    }
    if (warnings.length > 0) {
      this.print();
      this.print(pc.bold(pc.yellow(`Warnings and known failures (${warnings.length})`)));
      for (const r of warnings) this.print(`${describeFailure(r)}\n`);
    }
    if (notApplicable.length > 0) {
      this.print();
      this.print(pc.bold(`Not applicable (${notApplicable.length})`));
      for (const line of byReason(notApplicable)) this.print(indent(pc.dim(line), '  '));
    }
    if (skipped.length > 0) {
      this.print();
      this.print(pc.bold(`Skipped (${skipped.length})`));
      for (const line of byReason(skipped)) this.print(indent(pc.dim(line), '  '));
    }
    if (run.warnings.length > 0 || run.harnessErrors.length > 0) this.print();
    for (const w of run.warnings) this.print(pc.yellow(`warning: ${w}`));
    for (const e of run.harnessErrors) this.print(pc.red(`harness error: ${e}`));
    this.print();
    this.print(`cases ${s.total} · passed ${s.passed} · failed ${s.failed} · errored ${s.errored} · blocked ${s.blocked} · not applicable ${s.notApplicable} · skipped ${s.skipped} · warnings ${s.warnings} · known failures ${s.knownFailures} · stale ${s.staleBaseline} · ${(run.durationMs / 1000).toFixed(1)} s`);
    this.print(paint(run, verdictLine(run)));
    this.printFiles();
  }

  /** What a run with only file reporters prints: the cause, the verdict with its counts, the files. */
  private finishBrief(run: RunResult): void {
    for (const cause of causes(run)) this.print(pc.yellow(cause));
    for (const e of run.harnessErrors) this.print(pc.red(`harness error: ${e.split('\n')[0]}`));
    const s = run.summary;
    const counts = `${s.passed} passed, ${s.failed + s.errored} failed, ${s.blocked} blocked, ${s.notApplicable} n/a, ${s.skipped} skipped`;
    this.print(`${paint(run, `AXP conformance ${verdictLine(run)}`)} · ${counts}`);
    this.printFiles();
  }

  private printFiles(): void {
    const files = this.options.files?.() ?? [];
    if (files.length > 0) this.print(`reports: ${files.join(', ')}`);
  }
}
