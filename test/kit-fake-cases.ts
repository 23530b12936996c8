// Fake cases for the kit's CLI tests (loaded with the hidden --cases flag): one that passes on the
// fake target, one that fails, one MAY case.
import { CaseFailure, type ConformanceCase } from '../conformance/case.js';

export const allCases: ConformanceCase[] = [
  {
    id: 'FAKE-001',
    group: 'FAKE',
    title: 'capabilities answer 200',
    level: 'MUST',
    requirements: ['TERM-001'],
    async run(ctx) {
      const res = await ctx.request({ method: 'GET', path: '/v1/capabilities' });
      if (res.status !== 200) throw new CaseFailure('capabilities did not answer 200', 200, res.status);
    },
  },
  {
    id: 'FAKE-002',
    group: 'FAKE',
    title: 'always fails',
    level: 'MUST',
    requirements: ['TERM-002'],
    async run() {
      throw new CaseFailure('this case always fails', 'x', 'y');
    },
  },
  {
    id: 'FAKE-003',
    group: 'FAKE',
    title: 'a MAY case',
    level: 'MAY',
    requirements: ['TERM-003'],
    async run() {},
  },
];
