// CI's report: the run result as JSON, matching schemas/conformance-report.schema.json. Cases come
// failures first; a passing case's transcript is summarised unless --transcripts all.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult } from '../results.js';
import { jsonSafe } from './evidence.js';
import { forReport, REPORT_FILES, type Reporter, type TranscriptPolicy } from './reporter.js';

export const REPORT_SCHEMA_ID = 'https://schemas.axp.dev/v1/conformance-report.schema.json';

/** The report document: the run with a $schema pointer and failure evidence reduced to plain JSON. */
export function toReport(run: RunResult, transcripts: TranscriptPolicy = 'failing'): Record<string, unknown> {
  const shown = forReport(run, transcripts);
  return {
    $schema: REPORT_SCHEMA_ID,
    ...shown,
    cases: shown.cases.map((c) =>
      c.failure ? { ...c, failure: { ...c.failure, expected: jsonSafe(c.failure.expected), actual: jsonSafe(c.failure.actual) } } : c,
    ),
  };
}

export class JsonReporter implements Reporter {
  readonly name = 'json';
  readonly written: string[] = [];
  constructor(
    private readonly outDir: string,
    private readonly transcripts: TranscriptPolicy = 'failing',
  ) {}

  async onFinish(run: RunResult): Promise<void> {
    const file = join(this.outDir, REPORT_FILES.json);
    await mkdir(this.outDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(toReport(run, this.transcripts), null, 2)}\n`);
    this.written.push(file);
  }
}
