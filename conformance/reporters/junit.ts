// CI dashboards' report: JUnit XML, one testsuite per group, one testcase per case (classname =
// group), failures first. Blocked, not applicable and skipped cases are <skipped/> with their reason;
// a known failure (baseline) is skipped too.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import junitModule, { type Builder } from 'junit-report-builder';
import type { CaseResult, RunResult } from '../results.js';
import { excerpt, formatEntry } from '../transcript.js';
import { curlForResult, requirementLines, show } from './evidence.js';
import { inReadingOrder, REPORT_FILES, type Reporter } from './reporter.js';

// The package is CommonJS (module.exports = builder) but its types declare an ES default export.
const junit = ((junitModule as unknown as { default?: Builder }).default ?? junitModule) as unknown as Builder;

function details(r: CaseResult): string {
  const lines: string[] = [];
  for (const req of requirementLines(r)) lines.push(`${req.id} ${req.level ?? ''} ${req.text}${req.link ? ` (${req.link})` : ''}`);
  if (r.failure) {
    lines.push(r.failure.message);
    if (r.failure.expected !== undefined || r.failure.actual !== undefined) {
      lines.push(`expected: ${show(r.failure.expected)}`, `actual:   ${show(r.failure.actual)}`);
    }
    if (r.failure.stack) lines.push(r.failure.stack);
  }
  for (const e of excerpt(r.transcript, 12)) lines.push(formatEntry(e));
  const curl = curlForResult(r);
  if (curl) lines.push(`reproduce: ${curl}`);
  return lines.join('\n');
}

export function buildJunit(run: RunResult): string {
  const builder = junit.newBuilder().name(`AXP conformance ${run.target}`);
  const suites = new Map<string, ReturnType<typeof builder.testSuite>>();
  for (const r of inReadingOrder(run.cases)) {
    let suite = suites.get(r.group);
    if (!suite) {
      suite = builder.testSuite().name(r.group);
      suites.set(r.group, suite);
    }
    const tc = suite.testCase().className(r.group).name(`${r.id} ${r.title}`).time(r.durationMs / 1000);
    tc.property('level', r.level).property('requirements', r.requirements.join(' '));
    if (r.baseline === 'known_failure') {
      tc.skipped().standardOutput(`known failure (baseline)\n${details(r)}`);
    } else if (r.baseline === 'stale') {
      tc.failure(`${r.id} passed but is listed in the baseline: remove the stale entry`, 'stale_baseline');
    } else if (r.outcome === 'failed') {
      tc.failure(r.failure?.message ?? 'failed', r.warning ? `${r.level}_warning` : r.level).standardOutput(details(r));
    } else if (r.outcome === 'errored') {
      tc.error(r.failure?.message ?? 'errored', 'errored', details(r));
    } else if (r.outcome === 'blocked') {
      const by = r.blockedBy && r.blockedBy.length > 0 ? ` (blocked by ${r.blockedBy.join(', ')})` : '';
      tc.skipped().standardOutput(`blocked: ${r.reason ?? ''}${by}\n${details(r)}`);
    } else if (r.outcome === 'not_applicable' || r.outcome === 'skipped') {
      tc.skipped().standardOutput(`${r.outcome.replace('_', ' ')}: ${r.reason ?? ''}`);
    }
  }
  return builder.build();
}

export class JunitReporter implements Reporter {
  readonly name = 'junit';
  readonly written: string[] = [];
  constructor(private readonly outDir: string) {}

  async onFinish(run: RunResult): Promise<void> {
    const file = join(this.outDir, REPORT_FILES.junit);
    await mkdir(this.outDir, { recursive: true });
    await writeFile(file, buildJunit(run));
    this.written.push(file);
  }
}
