// CI's report: the run result as JSON, matching schemas/conformance-report.schema.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult } from '../results.js';
import { jsonSafe } from './evidence.js';
import { REPORT_FILES, type Reporter } from './reporter.js';

export const REPORT_SCHEMA_ID = 'https://schemas.axp.dev/v1/conformance-report.schema.json';

/** The report document: the run with a $schema pointer and failure evidence reduced to plain JSON. */
export function toReport(run: RunResult): Record<string, unknown> {
  return {
    $schema: REPORT_SCHEMA_ID,
    ...run,
    cases: run.cases.map((c) =>
      c.failure ? { ...c, failure: { ...c.failure, expected: jsonSafe(c.failure.expected), actual: jsonSafe(c.failure.actual) } } : c,
    ),
  };
}

export class JsonReporter implements Reporter {
  readonly name = 'json';
  constructor(private readonly outDir: string) {}

  async onFinish(run: RunResult): Promise<void> {
    await mkdir(this.outDir, { recursive: true });
    await writeFile(join(this.outDir, REPORT_FILES.json), `${JSON.stringify(toReport(run), null, 2)}\n`);
  }
}
