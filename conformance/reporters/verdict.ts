// The run's verdict in words, the same in every report: one line that counts what decided it
// (known failures included), and the one-line causes a reader needs before any table: the target
// unreachable, the admin key missing or refused.
import { needsAdminKey, type RunResult } from '../results.js';

export { needsAdminKey };

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Why little or nothing was measured, most fundamental first; each a single line. Empty for a run
 * that measured what it selected.
 */
export function causes(run: RunResult): string[] {
  if (run.harnessErrors.length > 0) return [];
  if (run.unreachable) return [`${run.unreachable} (is the server running, and is --target right?)`];
  const blockedByKey = run.cases.filter(needsAdminKey).length;
  if (run.adminKey === 'refused') {
    return [`the target refused the admin key${run.adminKeyRefusal ? ` (${run.adminKeyRefusal})` : ''}: check --admin-key or AXP_ADMIN_KEY; ${plural(blockedByKey, 'case')} that ${blockedByKey === 1 ? 'needs' : 'need'} it did not run`];
  }
  if (blockedByKey > 0 && run.adminKey !== 'accepted') {
    return [`no admin key: ${plural(blockedByKey, 'case')} of ${run.summary.total} ${blockedByKey === 1 ? 'needs' : 'need'} one to register agents; give --admin-key KEY or set AXP_ADMIN_KEY (or provision agents with --agents FILE)`];
  }
  return [];
}

/** The verdict's headline word, by exit code. */
export const VERDICT_WORD: Record<RunResult['exitCode'], string> = {
  0: 'PASS',
  1: 'FAIL',
  2: 'HARNESS ERROR',
  3: 'NOTHING MEASURED',
};

/** One line after the headline word: what decided the exit code, counted honestly. */
export function verdictText(run: RunResult): string {
  const s = run.summary;
  const mustFailed = run.cases.filter((r) => (r.outcome === 'failed' || r.outcome === 'errored') && !r.warning && r.baseline !== 'known_failure').length;
  const known = s.knownFailures > 0 ? plural(s.knownFailures, 'known failure') + ' (baseline)' : '';
  const warnings = s.warnings > 0 ? `${plural(s.warnings, 'SHOULD/MAY case')} failed (warnings)` : '';
  const blocked = s.blocked > 0 ? `${plural(s.blocked, 'case')} blocked` : '';
  switch (run.exitCode) {
    case 0: {
      const head = s.knownFailures > 0
        ? `every applicable MUST case passed except ${known}, which failed as listed`
        : 'every applicable MUST case passed';
      // A pass that left most of the kit unrun for want of a key must say so in the same line.
      const keyless = run.cases.filter(needsAdminKey).length;
      const unrun = keyless > 0 ? `but ${keyless} of ${s.total} cases did not run: they need the admin key` : '';
      return [head, unrun, warnings, blocked].filter(Boolean).join('; ');
    }
    case 1: {
      const parts = [];
      if (mustFailed > 0) parts.push(`${plural(mustFailed, 'MUST case')} failed or errored`);
      if (s.staleBaseline > 0) parts.push(`${plural(s.staleBaseline, 'baseline entry', 'baseline entries')} stale (the case passes now: remove it from the baseline)`);
      return [parts.join(', '), known ? `besides ${known}` : '', warnings, blocked].filter(Boolean).join('; ');
    }
    case 2:
      return 'the kit itself broke (not a verdict on the target)';
    case 3: {
      if (run.unreachable) return 'the target was unreachable';
      const keyless = run.cases.filter(needsAdminKey).length;
      if (run.adminKey === 'refused') return `the target refused the admin key, so ${plural(keyless, 'selected case')} that ${keyless === 1 ? 'needs' : 'need'} it did not run`;
      if (keyless > 0 && run.adminKey !== 'accepted') return `${plural(keyless, 'selected case')} ${keyless === 1 ? 'needs' : 'need'} the admin key (--admin-key or AXP_ADMIN_KEY) and did not run`;
      return `no selected case could run: ${s.notApplicable} not applicable, ${s.skipped} skipped${s.blocked ? `, ${s.blocked} blocked` : ''}`;
    }
  }
}

export function verdictLine(run: RunResult): string {
  return `${VERDICT_WORD[run.exitCode]}: ${verdictText(run)} (exit ${run.exitCode})`;
}
