// Every case the kit has, checked against the requirement registry: IDs unique and well formed,
// every cited requirement exists, and every MUST/SHOULD requirement is covered by a case or by a
// traceability entry saying why it is not wire-testable.
import type { ConformanceCase, Level } from './case.js';
import { allCases } from './cases/index.js';
import { shapeCases } from './shapes.js';
import requirementsJson from '../spec/requirements.json' with { type: 'json' };
import traceabilityJson from './traceability.json' with { type: 'json' };
import clientTraceabilityJson from './clients/traceability.json' with { type: 'json' };
import { clientScenarios } from './clients/scenarios/index.js';

export interface Requirement {
  id: string;
  level: Level;
  chapter: string;
  anchor: string;
  text: string;
}

/** Requirement ID → why it has no case (it cannot be observed on the wire). */
export type Traceability = Record<string, string>;

export const CASE_ID = /^[A-Z][A-Z0-9]*-\d{3}$/;
const REQUIREMENT_ID = /^[A-Z][A-Z0-9]*-\d{3}$/;
const LEVELS: readonly Level[] = ['MUST', 'SHOULD', 'MAY'];

export const requirements: readonly Requirement[] = requirementsJson as Requirement[];
export const traceability: Traceability = traceabilityJson as Traceability;

const byId = new Map(requirements.map((r) => [r.id, r]));

export function requirementById(id: string): Requirement | undefined {
  return byId.get(id);
}

/** Repository-relative link to the requirement, e.g. `spec/04-lifecycle.md#LC-004`. */
export function specLink(req: Requirement): string {
  if (req.anchor.includes('#')) return `spec/${req.anchor}`;
  const file = req.chapter.endsWith('.md') ? req.chapter : `${req.chapter}.md`;
  return `spec/${file}#${req.anchor || req.id}`;
}

/** The registry's cases, in the order cases/index.ts lists them (chapter order), then the response-conformance cases. */
export function registeredCases(): ConformanceCase[] {
  return [...allCases, ...shapeCases];
}

/** Structural problems with a set of cases; any problem means the kit itself is broken. */
export function registryProblems(
  cases: readonly ConformanceCase[],
  reqs: readonly Requirement[] = requirements,
  trace: Traceability = traceability,
): string[] {
  const problems: string[] = [];
  const known = new Set(reqs.map((r) => r.id));
  const seen = new Set<string>();
  for (const c of cases) {
    if (!CASE_ID.test(c.id)) problems.push(`case ID ${JSON.stringify(c.id)} is not <GROUP>-<NNN>`);
    if (seen.has(c.id)) problems.push(`case ID ${c.id} is used twice`);
    seen.add(c.id);
    if (!c.group) problems.push(`case ${c.id} has no group`);
    if (!LEVELS.includes(c.level)) problems.push(`case ${c.id} has level ${String(c.level)}`);
    if (typeof c.run !== 'function') problems.push(`case ${c.id} has no run()`);
    if (!Array.isArray(c.requirements) || c.requirements.length === 0) problems.push(`case ${c.id} lists no requirement`);
    for (const dep of c.dependsOn ?? []) {
      if (!seen.has(dep) || dep === c.id) problems.push(`case ${c.id} depends on ${dep}, which is not a case before it`);
    }
    if (c.exclusive && c.runsLast) problems.push(`case ${c.id} is both exclusive and runsLast`);
    for (const [field, table] of [['forms', c.forms], ['bounds', c.bounds]] as const) {
      for (const [id, list] of Object.entries(table ?? {})) {
        if (!(c.requirements ?? []).includes(id)) problems.push(`case ${c.id} lists ${field} for ${id}, which it does not cite`);
        if (!Array.isArray(list) || list.length === 0) problems.push(`case ${c.id} lists no ${field} for ${id}`);
      }
    }
    for (const id of c.requirements ?? []) {
      if (!REQUIREMENT_ID.test(id)) problems.push(`case ${c.id} cites ${JSON.stringify(id)}, not a requirement ID`);
      else if (!known.has(id)) problems.push(`case ${c.id} cites ${id}, which is not in spec/requirements.json`);
    }
  }
  for (const id of Object.keys(trace)) {
    if (!known.has(id)) problems.push(`traceability.json names ${id}, which is not in spec/requirements.json`);
    else if (!trace[id]?.trim()) problems.push(`traceability.json gives no reason for ${id}`);
  }
  return problems;
}

/** MUST and SHOULD requirements that no case (nor client scenario) cites and traceability.json does not explain. */
export function uncoveredRequirements(
  cases: ReadonlyArray<Pick<ConformanceCase, 'requirements'>> = [...registeredCases(), ...clientScenarios()],
  reqs: readonly Requirement[] = requirements,
  trace: Traceability = { ...traceability, ...(clientTraceabilityJson as Traceability) },
): Requirement[] {
  const cited = new Set(cases.flatMap((c) => c.requirements));
  return reqs.filter((r) => r.level !== 'MAY' && !cited.has(r.id) && !(r.id in trace));
}

/** Per requirement: the cases citing it and the forms and bounds they exercise (the coverage report). */
export interface RequirementCoverage { cases: string[]; forms: string[]; bounds: string[] }

export function coverageByRequirement(cases: readonly ConformanceCase[] = registeredCases()): Map<string, RequirementCoverage> {
  const out = new Map<string, RequirementCoverage>();
  for (const c of cases) {
    for (const id of c.requirements) {
      const entry = out.get(id) ?? { cases: [], forms: [], bounds: [] };
      entry.cases.push(c.id);
      for (const f of c.forms?.[id] ?? []) if (!entry.forms.includes(f)) entry.forms.push(f);
      for (const b of c.bounds?.[id] ?? []) if (!entry.bounds.includes(b)) entry.bounds.push(b);
      out.set(id, entry);
    }
  }
  return out;
}
