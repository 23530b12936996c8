// Which cases a run executes: --only / --skip glob patterns on case IDs, and --level (the lowest
// level that runs: must = MUST only, should = MUST + SHOULD (default), may = everything).
import picomatch from 'picomatch';
import type { ConformanceCase, Level } from './case.js';

export type LevelOption = 'must' | 'should' | 'may';

const LEVEL_RANK: Record<Level, number> = { MUST: 0, SHOULD: 1, MAY: 2 };
const OPTION_RANK: Record<LevelOption, number> = { must: 0, should: 1, may: 2 };

export interface Selection {
  only?: string[];
  skip?: string[];
  level?: LevelOption;
}

/** Splits `IDEM-*,LC-00?` into patterns; empty items are dropped. */
export function parsePatterns(list: string | string[] | undefined): string[] {
  if (list === undefined) return [];
  const items = Array.isArray(list) ? list : [list];
  return items.flatMap((item) => item.split(',')).map((p) => p.trim()).filter((p) => p.length > 0);
}

function matcher(patterns: string[]): (id: string) => boolean {
  if (patterns.length === 0) return () => false;
  const match = picomatch(patterns, { nocase: true });
  return (id) => match(id);
}

/** Undefined when the case runs, else the reason it is skipped. */
export function skipReason(c: ConformanceCase, selection: Selection): string | undefined {
  const only = parsePatterns(selection.only);
  const skip = parsePatterns(selection.skip);
  const level = selection.level ?? 'should';
  if (only.length > 0 && !matcher(only)(c.id)) return `not matched by --only ${only.join(',')}`;
  if (matcher(skip)(c.id)) return `matched by --skip ${skip.join(',')}`;
  if (LEVEL_RANK[c.level] > OPTION_RANK[level]) return `${c.level} case below --level ${level}`;
  return undefined;
}

export function isLevelOption(value: string): value is LevelOption {
  return value === 'must' || value === 'should' || value === 'may';
}

export function levelOf(option: LevelOption): Level {
  return option === 'must' ? 'MUST' : option === 'should' ? 'SHOULD' : 'MAY';
}
