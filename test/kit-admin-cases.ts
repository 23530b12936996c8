// Fake cases for the CLI's admin-key messages (loaded with the hidden --cases flag): one that needs
// the admin key to register its agent on the fake target, one that needs no key.
import { CaseFailure, type ConformanceCase } from '../conformance/case.js';

export const allCases: ConformanceCase[] = [
  {
    id: 'KEY-001',
    group: 'KEY',
    title: 'registers a stream agent with the admin key',
    level: 'MUST',
    requirements: ['AGT-001'],
    needsAdmin: true,
    async run(ctx) {
      const agent = await ctx.agent({ role: 'worker', delivery: { binding: 'stream' } });
      if (!agent.key) throw new CaseFailure('no agent key', 'a key', agent.key);
    },
  },
  {
    id: 'KEY-002',
    group: 'KEY',
    title: 'capabilities answer without a key',
    level: 'MUST',
    requirements: ['CAP-001'],
    async run(ctx) {
      const res = await ctx.request({ method: 'GET', path: '/v1/capabilities' });
      if (res.status !== 200) throw new CaseFailure('capabilities did not answer 200', 200, res.status);
    },
  },
];
