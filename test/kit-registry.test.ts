// The case registry against spec/requirements.json: well-formed unique case IDs, real requirement
// IDs, and every MUST/SHOULD requirement covered by a case or explained in traceability.json.
import { describe, expect, it } from 'vitest';
import type { ConformanceCase } from '../conformance/case.js';
import { coverageByRequirement, registeredCases, registryProblems, requirements, traceability, uncoveredRequirements, type Requirement } from '../conformance/registry.js';

const reqs: Requirement[] = [
  { id: 'AAA-001', level: 'MUST', chapter: '01-a.md', anchor: '01-a.md#AAA-001', text: 'must' },
  { id: 'AAA-002', level: 'SHOULD', chapter: '01-a.md', anchor: '01-a.md#AAA-002', text: 'should' },
  { id: 'AAA-003', level: 'MAY', chapter: '01-a.md', anchor: '01-a.md#AAA-003', text: 'may' },
  { id: 'AAA-004', level: 'MUST', chapter: '01-a.md', anchor: '01-a.md#AAA-004', text: 'not on the wire' },
];

function c(id: string, requirementIds: string[]): ConformanceCase {
  return { id, group: id.split('-')[0], title: id, level: 'MUST', requirements: requirementIds, run: async () => undefined };
}

describe('registry checks', () => {
  it('finds malformed and duplicate IDs, unknown requirements and bad traceability entries', () => {
    const problems = registryProblems(
      [c('AAA-001', ['AAA-001']), c('AAA-001', ['AAA-002']), c('aaa-2', ['AAA-001']), c('AAA-003', ['ZZZ-999', 'nope']), c('AAA-005', [])],
      reqs,
      { 'AAA-004': 'timing inside the server', 'ZZZ-001': 'x', 'AAA-002': ' ' },
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'case ID AAA-001 is used twice',
        'case ID "aaa-2" is not <GROUP>-<NNN>',
        'case AAA-003 cites ZZZ-999, which is not in spec/requirements.json',
        'case AAA-003 cites "nope", not a requirement ID',
        'case AAA-005 lists no requirement',
        'traceability.json names ZZZ-001, which is not in spec/requirements.json',
        'traceability.json gives no reason for AAA-002',
      ]),
    );
    expect(registryProblems([c('AAA-001', ['AAA-001'])], reqs, {})).toEqual([]);
  });

  it('accepts forms and bounds only for requirements the case cites, and reports them per requirement', () => {
    const withForms = { ...c('AAA-001', ['AAA-001']), forms: { 'AAA-001': ['x-api-key', 'Bearer'], 'AAA-002': ['other'] }, bounds: { 'AAA-001': [] } };
    expect(registryProblems([withForms], reqs, {})).toEqual([
      'case AAA-001 lists forms for AAA-002, which it does not cite',
      'case AAA-001 lists no bounds for AAA-001',
    ]);
    const second = { ...c('AAA-002', ['AAA-001']), forms: { 'AAA-001': ['Bearer', 'bearer'] }, bounds: { 'AAA-001': ['max accepted'] } };
    expect(coverageByRequirement([withForms, second]).get('AAA-001')).toEqual({ cases: ['AAA-001', 'AAA-002'], forms: ['x-api-key', 'Bearer', 'bearer'], bounds: ['max accepted'] });
  });

  it('lists MUST and SHOULD requirements with neither a case nor a traceability reason', () => {
    expect(uncoveredRequirements([c('AAA-001', ['AAA-001'])], reqs, {}).map((r) => r.id)).toEqual(['AAA-002', 'AAA-004']);
    expect(uncoveredRequirements([c('AAA-001', ['AAA-001', 'AAA-002'])], reqs, { 'AAA-004': 'not observable' })).toEqual([]);
  });
});

describe('the kit\'s own registry', () => {
  it('has no structural problem', () => {
    expect(registryProblems(registeredCases())).toEqual([]);
  });

  it('covers every MUST and SHOULD requirement with a case or a traceability reason', () => {
    expect(requirements.length).toBeGreaterThan(0);
    const uncovered = uncoveredRequirements().map((r) => `${r.id} (${r.level})`);
    expect(uncovered, `add a case citing each, or a reason in conformance/traceability.json (${Object.keys(traceability).length} entries now)`).toEqual([]);
  });
});
