import { runConformance } from './conformance/index.js';
const t = Date.now();
const run = await runConformance({ seed: 1, embedded: { serverOptions: { pressure: { maxEventLoopDelayMs: 0 } } } });
console.log(run.summary, run.exitCode, Date.now() - t);
const groups = new Map<string, number>();
for (const c of run.cases) groups.set(c.group, (groups.get(c.group) ?? 0) + c.durationMs);
console.log([...groups].map(([g, ms]) => `${g}:${ms}`).join(' '));
for (const c of run.cases) if (c.outcome === 'failed' || c.outcome === 'errored') console.log(c.id, c.failure?.message.slice(0, 300));
for (const c of run.cases) if (c.durationMs > 2000) console.log('slow', c.id, c.durationMs);
