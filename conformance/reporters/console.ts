// People's report: a progress bar while cases run, then a summary per group and every failure with
// its requirement text, expected vs actual, a transcript excerpt and a curl reproduction.
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import type { Writable } from 'node:stream';
import type { CaseResult, RunResult } from '../results.js';
import { excerpt, formatEntry } from '../transcript.js';
import { curlForResult, isProblem, requirementLines, show } from './evidence.js';
import type { Reporter, RunPlan } from './reporter.js';

export interface ConsoleOptions {
  trace?: boolean;
  out?: Writable & { isTTY?: boolean };
}

const MARK: Record<CaseResult['outcome'], string> = {
  passed: pc.green('✓'),
  failed: pc.red('✗'),
  errored: pc.red('!'),
  blocked: pc.yellow('⊘'),
  not_applicable: pc.dim('–'),
  skipped: pc.dim('·'),
};

function indent(text: string, by = '    '): string {
  return text.split('\n').map((line) => by + line).join('\n');
}

function outcomeLabel(r: CaseResult): string {
  if (r.baseline === 'known_failure') return pc.yellow(`${r.outcome} (known failure, baseline)`);
  if (r.baseline === 'stale') return pc.red('passed, but listed in the baseline (stale entry)');
  if (r.warning) return pc.yellow(`${r.outcome} (${r.level}: warning)`);
  return r.outcome === 'passed' ? pc.green('passed') : pc.red(r.outcome);
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
  const head = `${'group'.padEnd(10)} ${'passed'.padStart(7)} ${'failed'.padStart(7)} ${'n/a'.padStart(5)} ${'skipped'.padStart(8)}`;
  const rows = [...groups].map(([group, rs]) => {
    const n = (f: (r: CaseResult) => boolean) => rs.filter(f).length;
    const failed = n((r) => r.outcome === 'failed' || r.outcome === 'errored');
    const line = `${group.padEnd(10)} ${String(n((r) => r.outcome === 'passed')).padStart(7)} ${String(failed).padStart(7)} ${String(n((r) => r.outcome === 'not_applicable')).padStart(5)} ${String(n((r) => r.outcome === 'skipped')).padStart(8)}`;
    return failed > 0 ? pc.red(line) : line;
  });
  return [pc.bold(head), ...rows];
}

const VERDICT: Record<RunResult['exitCode'], string> = {
  0: pc.green('PASS: every applicable MUST case passed'),
  1: pc.red('FAIL: a case failed or a baseline entry is stale'),
  2: pc.red('HARNESS ERROR: the kit itself broke (not a verdict on the target)'),
  3: pc.yellow('NOTHING MEASURED: the target was unreachable or every case was skipped'),
};

export class ConsoleReporter implements Reporter {
  readonly name = 'console';
  private bar: cliProgress.SingleBar | undefined;
  private readonly out: Writable & { isTTY?: boolean };

  constructor(private readonly options: ConsoleOptions = {}) {
    this.out = options.out ?? process.stdout;
  }

  private print(text = ''): void {
    this.out.write(`${text}\n`);
  }

  onStart(plan: RunPlan): void {
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
    if (this.bar) {
      this.bar.increment({ case: `${result.id} ${result.outcome}` });
      return;
    }
    this.print(`${MARK[result.outcome]} ${result.id} ${result.title}${result.outcome === 'passed' ? '' : `  ${outcomeLabel(result)}`}`);
    if (this.options.trace) for (const e of result.transcript) this.print(indent(formatEntry(e), '      '));
  }

  onFinish(run: RunResult): void {
    this.bar?.stop();
    this.print();
    for (const line of groupTable(run)) this.print(line);
    const problems = run.cases.filter((r) => isProblem(r) && !r.warning && r.baseline !== 'known_failure');
    const warnings = run.cases.filter((r) => r.warning || r.baseline === 'known_failure');
    if (problems.length > 0) {
      this.print();
      this.print(pc.bold(pc.red(`Failures (${problems.length})`)));
      for (const r of problems) this.print(`${describeFailure(r)}\n`);
    }
    if (warnings.length > 0) {
      this.print();
      this.print(pc.bold(pc.yellow(`Warnings and known failures (${warnings.length})`)));
      for (const r of warnings) this.print(`${describeFailure(r)}\n`);
    }
    for (const w of run.warnings) this.print(pc.yellow(`warning: ${w}`));
    for (const e of run.harnessErrors) this.print(pc.red(`harness error: ${e}`));
    if (run.unreachable) this.print(pc.yellow(run.unreachable));
    const s = run.summary;
    this.print();
    this.print(`cases ${s.total} · passed ${s.passed} · failed ${s.failed} · errored ${s.errored} · not applicable ${s.notApplicable} · skipped ${s.skipped} · warnings ${s.warnings} · known failures ${s.knownFailures} · stale ${s.staleBaseline} · ${(run.durationMs / 1000).toFixed(1)} s`);
    this.print(`${VERDICT[run.exitCode]} (exit ${run.exitCode})`);
  }
}
