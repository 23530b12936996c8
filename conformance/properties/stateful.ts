// PROP-003: the model-based suite. Each run registers a fresh sender and a fresh stream agent
// (so runs never see each other's deliveries), plays a generated command sequence against the
// target, checks the invariants after every command, then drains the agent and checks that no
// accepted intent was lost.
import fc from 'fast-check';
import type { CaseContext, ConformanceCase } from '../case.js';
import { commandArbs } from './commands.js';
import { checkProperty, planRun, type PropertyPlan, type RunLog } from './harness.js';
import { drain } from './timers.js';
import { World, type Policy } from './world.js';

interface Range {
  min: number;
  max: number;
}

function within(value: number, range: Range | undefined): number {
  return range ? Math.min(range.max, Math.max(range.min, value)) : value;
}

export function hasTestClock(ctx: CaseContext): boolean {
  const list = (ctx.capabilities as { capabilities?: unknown } | undefined)?.capabilities;
  return Array.isArray(list) && list.includes('ext.test-clock') && !!ctx.adminKey;
}

/**
 * A delivery policy inside the target's limits: long leases on the test clock (nothing expires
 * unless the kit advances it), the shortest sensible real-time ones otherwise.
 */
/** The run's policy: short real-time timings, or long ones the test clock jumps over (realTime forces the short ones). */
export function policyFor(ctx: CaseContext, maxAttempts = 2, realTime = false): Policy {
  const limits = (ctx.capabilities as { limits?: Record<string, Range> } | undefined)?.limits ?? {};
  const clock = hasTestClock(ctx) && !realTime;
  return {
    leaseSeconds: within(clock ? 30 : 1, limits.lease_seconds),
    initialDelayMs: within(clock ? 1_000 : 200, limits.initial_delay_ms),
    maxDelayMs: within(clock ? 2_000 : 400, limits.max_delay_ms),
    maxAttempts: within(maxAttempts, limits.max_delivery_attempts),
  };
}

/** A world with a fresh sender (poll) and a fresh stream agent on `policy`. */
export async function newWorld(ctx: CaseContext, log: RunLog, policy: Policy = policyFor(ctx)): Promise<World> {
  const sender = await ctx.agent({ role: 'sender', delivery: { binding: 'poll' } });
  const worker = await ctx.agent({
    role: 'worker',
    delivery: {
      binding: 'stream',
      lease_seconds: policy.leaseSeconds,
      initial_delay_ms: policy.initialDelayMs,
      max_delay_ms: policy.maxDelayMs,
      multiplier: 2,
      max_delivery_attempts: policy.maxAttempts,
    },
  });
  log.add(`sender ${sender.address}, worker ${worker.address} (stream; lease ${policy.leaseSeconds} s, ${policy.maxAttempts} attempts)`);
  return new World(ctx, log, { sender, worker, clock: hasTestClock(ctx), policy });
}

const PLAN: PropertyPlan = { caseId: 'PROP-003', runs: 20, deepRuns: 200, budgetMs: 5_000 };

export const statefulCase: ConformanceCase = {
  id: 'PROP-003',
  group: 'PROP',
  title: 'model-based: generated sequences of sends, receives, acks, drops, results, observes and clock moves keep every lifecycle and delivery invariant',
  level: 'MUST',
  requirements: [
    'LC-003', 'LC-005', 'LC-006', 'LC-007', 'LC-009', 'LC-011', 'LC-012', 'LC-015', 'LC-016', 'EVT-002', 'EVT-003', 'EVT-004', 'EVT-005', 'EVT-006',
    'SSE-001', 'SSE-003', 'SSE-005', 'SSE-008', 'SSE-010', 'DLV-002', 'DLV-004', 'DLV-005', 'DLV-006', 'DLV-012', 'DLV-017', 'DLV-020', 'DLV-025', 'DLV-030',
    'STR-001', 'STR-004', 'POLL-003', 'POLL-004', 'IDEM-001', 'IDEM-002', 'IDEM-003', 'IDEM-004', 'IDEM-010', 'RES-001', 'RES-002', 'RES-009', 'RES-014',
    'INT-013', 'INT-016', 'INT-017', 'ERR-007', 'ERR-008', 'CLK-002',
  ],
  needsCapabilities: ['binding.stream', 'events.sse'],
  needsAdmin: true,
  timeoutMs: 120_000,
  async run(ctx) {
    const { replay } = planRun(ctx, PLAN);
    const commands = fc.commands(commandArbs(), { maxCommands: 24, size: 'medium', replayPath: replay?.replayPath });
    await checkProperty(ctx, PLAN, commands, async (cmds, log) => {
      const world = await newWorld(ctx, log);
      const logged = [...cmds].map((c) => ({
        check: (m: World) => c.check(m),
        run: async (m: World, r: World) => {
          log.add(`▶ ${c.toString()}`);
          await c.run(m, r);
        },
        toString: () => c.toString(),
      }));
      await fc.asyncModelRun(() => ({ model: world, real: world }), logged);
      log.add('▶ drain: receive without acknowledging until every attempt is used');
      await drain(world);
      await world.expectSentIntents('at the end of the run');
    });
  },
};
