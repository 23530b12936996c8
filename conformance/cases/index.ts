// Every conformance case, in spec chapter order. IDs are stable: add new cases at the end of a
// group, never renumber.
import type { ConformanceCase } from '../case.js';
import { agentCases } from './agents.js';
import { deadlineCases } from './deadlines.js';
import { deliveryCases } from './delivery.js';
import { discoveryCases } from './discovery.js';
import { errorCases } from './errors.js';
import { eventCases } from './events.js';
import { httpCases } from './http.js';
import { idempotencyCases } from './idempotency.js';
import { inboxCases } from './inbox.js';
import { intentCases, validationCases } from './intents.js';
import { internalCases } from './internal.js';
import { lifecycleCases } from './lifecycle.js';
import { pollCases } from './poll.js';
import { resultCases } from './results.js';
import { securityCases } from './security.js';
import { sseCases } from './sse.js';
import { streamCases } from './stream.js';
import { testClockCases } from './test-clock.js';
import { propertyCases } from '../properties/index.js';

export const allCases: ConformanceCase[] = [
  ...agentCases, // 02
  ...intentCases, // 03
  ...validationCases,
  ...idempotencyCases,
  ...lifecycleCases, // 04
  ...deadlineCases,
  ...eventCases, // 05
  ...sseCases,
  ...deliveryCases, // 06
  ...streamCases, // 07
  ...pollCases, // 08
  ...httpCases, // 09
  ...inboxCases, // 10
  ...internalCases, // 11
  ...resultCases, // 12
  ...errorCases, // 13
  ...securityCases, // 14
  ...discoveryCases, // 15
  ...testClockCases, // 16
  ...propertyCases, // property-based and model-based layer (PROP-*)
];
