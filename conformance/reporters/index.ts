// Reporter names to reporters; objects pass through (a caller's own reporter).
import { ConsoleReporter } from './console.js';
import { HtmlReporter } from './html.js';
import { JsonReporter } from './json.js';
import { JunitReporter } from './junit.js';
import { MarkdownReporter } from './markdown.js';
import type { Reporter, ReporterName, TranscriptPolicy } from './reporter.js';

export interface ReporterSettings {
  outDir: string;
  trace: boolean;
  /** How much of each case's transcript file reports keep (default: whole for failing cases only). */
  transcripts?: TranscriptPolicy;
  /** Where the markdown reporter appends its summary too (GitHub's $GITHUB_STEP_SUMMARY; default from the environment). */
  stepSummary?: string;
}

export function createReporter(name: ReporterName, settings: ReporterSettings, files: () => readonly string[] = () => []): Reporter {
  const transcripts = settings.transcripts ?? 'failing';
  switch (name) {
    case 'console':
      return new ConsoleReporter({ trace: settings.trace, files });
    case 'json':
      return new JsonReporter(settings.outDir, transcripts);
    case 'junit':
      return new JunitReporter(settings.outDir);
    case 'html':
      return new HtmlReporter(settings.outDir, transcripts);
    case 'markdown':
      return new MarkdownReporter(settings.outDir, { stepSummary: settings.stepSummary ?? process.env.GITHUB_STEP_SUMMARY });
  }
}

/**
 * The reporters of a run. A console reporter finishes after the file reporters so it can print
 * where they wrote; a run that asked for file reporters only still gets a one-line verdict, and
 * --trace prints transcripts even when the console reporter was not asked for.
 */
export function createReporters(list: Array<ReporterName | Reporter>, settings: ReporterSettings): Reporter[] {
  let reporters: Reporter[] = [];
  const files = () => reporters.flatMap((r) => r.written ?? []);
  reporters = list.map((r) => (typeof r === 'string' ? createReporter(r, settings, files) : r));
  const named = (name: string) => reporters.some((r) => r.name === name);
  if (settings.trace && !named('console')) reporters.push(new ConsoleReporter({ trace: true, files }));
  else if (!named('console') && list.some((r) => typeof r === 'string')) reporters.push(new ConsoleReporter({ brief: true, files }));
  const consoles = reporters.filter((r) => r instanceof ConsoleReporter);
  return [...reporters.filter((r) => !(r instanceof ConsoleReporter)), ...consoles];
}

export { ConsoleReporter, HtmlReporter, JsonReporter, JunitReporter, MarkdownReporter };
export type { Reporter, ReporterName, RunPlan, TranscriptPolicy } from './reporter.js';
export { REPORTER_NAMES, REPORT_FILES, TRANSCRIPT_POLICIES } from './reporter.js';
