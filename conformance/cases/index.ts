// Placeholder written by the kit framework so the registry compiles; the cases' author replaces it.
import type { ConformanceCase } from '../case.js';

export const allCases: ConformanceCase[] = [];
