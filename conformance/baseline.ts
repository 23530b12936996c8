// Known failures by case ID (--baseline FILE). A listed case that fails does not fail the run;
// a listed case that passes is stale and does (the baseline must shrink as the target improves).
import { readFile } from 'node:fs/promises';
import { UsageError } from './errors.js';
import type { CaseResult } from './results.js';

/** Case ID → why it is a known failure (may be empty). */
export type Baseline = Map<string, string>;

/** An unreadable or malformed baseline file is a usage error (exit 2). */
export class BaselineError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'BaselineError';
  }
}

/**
 * Accepted shapes: `["IDEM-003", ...]`; `{"known_failures": ["IDEM-003"]}` or
 * `{"known_failures": {"IDEM-003": "reason"}}`; or a previous JSON report (its failed cases).
 */
export function parseBaseline(data: unknown, source = 'baseline'): Baseline {
  const out: Baseline = new Map();
  const addIds = (ids: unknown[]) => {
    for (const id of ids) {
      if (typeof id !== 'string' || id.length === 0) throw new BaselineError(`${source}: every entry must be a case ID string`);
      out.set(id, '');
    }
  };
  if (Array.isArray(data)) {
    addIds(data);
    return out;
  }
  if (data && typeof data === 'object') {
    const record = data as Record<string, unknown>;
    const known = record.known_failures;
    if (Array.isArray(known)) {
      addIds(known);
      return out;
    }
    if (known && typeof known === 'object') {
      for (const [id, reason] of Object.entries(known)) out.set(id, typeof reason === 'string' ? reason : '');
      return out;
    }
    if (Array.isArray(record.cases)) {
      for (const c of record.cases as Array<Partial<CaseResult>>) {
        if (typeof c.id === 'string' && (c.outcome === 'failed' || c.outcome === 'errored')) out.set(c.id, 'failed in the previous report');
      }
      return out;
    }
  }
  throw new BaselineError(`${source}: expected an array of case IDs, {"known_failures": ...} or a conformance report`);
}

export async function loadBaseline(file: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BaselineError(`cannot read baseline ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BaselineError(`baseline ${file} is not JSON: ${(err as Error).message}`);
  }
  return parseBaseline(data, file);
}

/** Marks known failures and stale entries; returns the baseline IDs that name no case. */
export function applyBaseline(results: CaseResult[], baseline: Baseline): string[] {
  const known = new Set(results.map((r) => r.id));
  for (const r of results) {
    if (!baseline.has(r.id)) continue;
    if (r.outcome === 'failed' || r.outcome === 'errored') {
      r.baseline = 'known_failure';
      r.warning = undefined;
    } else if (r.outcome === 'passed') {
      r.baseline = 'stale';
    }
  }
  return [...baseline.keys()].filter((id) => !known.has(id));
}
