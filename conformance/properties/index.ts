// The property-based and model-based layer of the kit: PROP-NNN cases (generated inputs, the
// stateful lifecycle/delivery model, scheduled races) and PROP-1NN regressions.
import type { ConformanceCase } from '../case.js';
import { concurrencyCases } from './concurrency.js';
import { inputCases } from './inputs.js';
import { regressionCases } from './regressions.js';
import { statefulCase } from './stateful.js';

export const propertyCases: ConformanceCase[] = [...inputCases, statefulCase, ...concurrencyCases, ...regressionCases];

export { parseReplayFile, type ReplayFile, type PropertySettings } from './harness.js';
