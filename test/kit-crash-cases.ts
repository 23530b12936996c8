// Cases that break the way careless case code does (loaded with the hidden --cases flag by
// test/kit-crash.test.ts): promises left behind that reject when the case ends, a timer that
// throws, a rejection nobody handles. None may end the process.
import { CaseFailure, type ConformanceCase } from '../conformance/case.js';

export const allCases: ConformanceCase[] = [
  {
    id: 'CRASH-001',
    group: 'CRASH',
    title: 'fails while an unawaited read is still open (the case-end abort rejects it)',
    level: 'MUST',
    requirements: ['TERM-001'],
    async run(ctx) {
      const open = ctx.sse('/v1/never-ends', { timeoutMs: 20_000 });
      void Promise.all([open]);
      await ctx.request({ method: 'GET', path: '/v1/capabilities' });
      throw new CaseFailure('the case fails on its own subject');
    },
  },
  {
    id: 'CRASH-002',
    group: 'CRASH',
    title: 'a timer inside the case throws',
    level: 'MUST',
    requirements: ['TERM-001'],
    async run(ctx) {
      setTimeout(() => {
        throw new Error('thrown from a timer the case set');
      }, 5);
      await ctx.eventually('a pause', async () => undefined, 200).catch(() => undefined);
    },
  },
  {
    id: 'CRASH-003',
    group: 'CRASH',
    title: 'a rejection nobody handles, while the case itself passes',
    level: 'MUST',
    requirements: ['TERM-001'],
    async run(ctx) {
      void Promise.reject(new Error('a stray rejection'));
      await ctx.request({ method: 'GET', path: '/v1/capabilities' });
    },
  },
  {
    id: 'CRASH-004',
    group: 'CRASH',
    title: 'runs after the others: the process is still alive',
    level: 'MUST',
    requirements: ['TERM-001'],
    async run(ctx) {
      const res = await ctx.request({ method: 'GET', path: '/v1/capabilities' });
      if (res.status !== 200) throw new CaseFailure('capabilities', 200, res.status);
    },
  },
];
