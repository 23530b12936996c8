import { runConformance } from './conformance/index.js';
import { buildServer } from './reference-server/index.js';
import { groupsForArea } from './scripts/fault-runs.js';
for (const [fault, area] of [['redelivery-reuses-attempt', 'DLV'], ['sse-never-closes', 'SSE']]) {
  process.env.AXP_ALLOW_FAULTS = '1';
  const app = await buildServer({ store: 'memory', adminKey: 'adm_xxxxxxxxxxxx', testClock: true, allowPrivateCallbacks: true, keepaliveSeconds: 2, pressure: { maxEventLoopDelayMs: 0 }, faults: [fault] });
  const target = await app.listen({ host: '127.0.0.1', port: 0 });
  const run = await runConformance({ target, adminKey: 'adm_xxxxxxxxxxxx', seed: 1, only: groupsForArea(area).map((g) => `${g}-*`) });
  await app.close();
  console.log(fault, run.durationMs);
  for (const c of run.cases) if (c.durationMs > 2500) console.log('  ', c.id, c.outcome, c.durationMs, (c.failure?.message ?? '').slice(0, 120));
}
process.exit(0);
