// Crash safety (CI size): the torture harness in --quick mode: a mixed load over every binding the
// server offers, a SQLite server child killed with SIGKILL at random moments and restarted on the
// same file. Nothing accepted may be lost, completed twice, left unfinished or get a seq gap.
import { describe, expect, it } from 'vitest';
import { QUICK, failures, runTorture } from '../torture/harness.js';

describe('crash safety under kill -9 (quick torture)', () => {
  it('loses nothing, completes nothing twice, keeps every event log gapless, resumes after each restart', async () => {
    const results = await runTorture(QUICK);
    expect(results.kills).toBeGreaterThanOrEqual(3);
    expect(results.accepted).toBeGreaterThan(0);
    expect(results).toMatchObject({ lost: 0, double_completed: 0, seq_violations: 0, unfinished: 0, restarts_resumed: results.kills });
    expect(results.anomalies).toEqual([]);
    expect(failures(results)).toEqual([]);
  }, 180_000);
});
