// Reporter names to reporters; objects pass through (a caller's own reporter).
import { ConsoleReporter } from './console.js';
import { HtmlReporter } from './html.js';
import { JsonReporter } from './json.js';
import { JunitReporter } from './junit.js';
import type { Reporter, ReporterName } from './reporter.js';

export interface ReporterSettings {
  outDir: string;
  trace: boolean;
}

export function createReporter(name: ReporterName, settings: ReporterSettings): Reporter {
  switch (name) {
    case 'console':
      return new ConsoleReporter({ trace: settings.trace });
    case 'json':
      return new JsonReporter(settings.outDir);
    case 'junit':
      return new JunitReporter(settings.outDir);
    case 'html':
      return new HtmlReporter(settings.outDir);
  }
}

export function createReporters(list: Array<ReporterName | Reporter>, settings: ReporterSettings): Reporter[] {
  const reporters = list.map((r) => (typeof r === 'string' ? createReporter(r, settings) : r));
  // --trace prints transcripts on the console even when the console reporter was not asked for.
  if (settings.trace && !reporters.some((r) => r.name === 'console')) reporters.unshift(new ConsoleReporter({ trace: true }));
  return reporters;
}

export { ConsoleReporter, HtmlReporter, JsonReporter, JunitReporter };
export type { Reporter, ReporterName, RunPlan } from './reporter.js';
export { REPORTER_NAMES, REPORT_FILES } from './reporter.js';
