// Argument parsers shared by the server run (cli.ts) and the client run (clients/cli.ts), so both
// commands refuse the same bad values with the same words.
import { InvalidArgumentError } from 'commander';
import { REPORTER_NAMES, isReporterName, type ReporterName } from './reporters/reporter.js';

/** A repeatable option: every occurrence, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
}

export function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('not a positive number');
  return n;
}

export function reporterList(value: string): ReporterName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !isReporterName(n));
  if (names.length === 0 || bad.length > 0) throw new InvalidArgumentError(`unknown reporter ${bad.join(', ') || '(none)'}; choose from ${REPORTER_NAMES.join(', ')}`);
  return names as ReporterName[];
}
