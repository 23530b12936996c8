// Crash safety across processes (CI size): three server processes on one PostgreSQL database under
// a mixed load over every binding, a random one killed with SIGKILL and restarted. Nothing
// accepted may be lost, completed twice, left unfinished or get a seq gap, and every timer a
// killed process had scheduled must be fired or cancelled by the others. PostgreSQL: AXP_TEST_PG_URL, else one started for the run (the npm-packaged binaries).
import { describe, expect, it } from 'vitest';
import { POSTGRES_QUICK, failures, runTorture } from '../torture/harness.js';

describe('crash safety across processes on PostgreSQL (quick torture)', () => {
  it('loses nothing, completes nothing twice, keeps every event log gapless; the survivors take the dead process\'s timers over', async () => {
    const results = await runTorture(POSTGRES_QUICK);
    expect(results.processes).toBe(3);
    expect(results.kills).toBeGreaterThanOrEqual(3);
    expect(results.accepted).toBeGreaterThan(0);
    expect(results).toMatchObject({ lost: 0, double_completed: 0, seq_violations: 0, unfinished: 0, restarts_resumed: results.kills, timers_of_killed_left: 0 });
    expect(results.anomalies).toEqual([]);
    expect(failures(results)).toEqual([]);
  }, 180_000);
});
