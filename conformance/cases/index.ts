// Every conformance case, in spec chapter order. IDs are stable: add new cases at the end of a
// group, never renumber.
import type { ConformanceCase } from '../case.js';
import { discoveryCases } from './discovery.js';
import { agentCases } from './agents.js';
import { intentCases, validationCases } from './intents.js';
import { idempotencyCases } from './idempotency.js';
import { lifecycleCases } from './lifecycle.js';

export const allCases: ConformanceCase[] = [
  ...agentCases,
  ...intentCases,
  ...validationCases,
  ...idempotencyCases,
  ...lifecycleCases,
  ...discoveryCases,
];
