// One defect, one failure: a case whose precondition cannot be established is blocked (naming what
// blocked it), a response-shape defect fails the response-conformance case once however many cases
// read it, cases that move the test clock never overlap others, and two runs in one process do not
// share state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Blocked, CaseFailure, type CaseContext, type ConformanceCase } from '../conformance/case.js';
import { runConformance, shapeCases } from '../conformance/index.js';
import type { CaseResult, RunResult } from '../conformance/results.js';
import { buildJunit } from '../conformance/reporters/junit.js';
import { toReport } from '../conformance/reporters/json.js';
import { createAjv } from '../schemas/index.js';
import reportSchema from '../schemas/conformance-report.schema.json' with { type: 'json' };
import { byId, fake, FAKE_ADMIN_KEY, startFakeTarget, type FakeTarget } from './kit-fake-target.js';


const registers = (id: string) => fake(id, async (ctx) => {
  const a = await ctx.agent({ role: 'sender', delivery: { binding: 'stream' } });
  if (!a.key) throw new CaseFailure('no key');
});

const targets: FakeTarget[] = [];
async function target(options: Parameters<typeof startFakeTarget>[0] = {}): Promise<FakeTarget> {
  const t = await startFakeTarget(options);
  targets.push(t);
  return t;
}
afterAll(async () => {
  await Promise.all(targets.map((t) => t.close()));
});

describe('blocked: a precondition that cannot be established is not a failure', () => {
  it('a registration refused (422) blocks every case that needs an agent, citing AGT-001; exit 0 when nothing failed', async () => {
    const t = await target({ registration: 'refused' });
    const run = await runConformance({ target: t.url, adminKey: FAKE_ADMIN_KEY, cases: [registers('A-001'), registers('A-002'), fake('OK-001', async () => undefined), ...shapeCases] });
    for (const id of ['A-001', 'A-002']) {
      expect(byId(run, id)).toMatchObject({ outcome: 'blocked', blockedBy: ['AGT-001'], reason: expect.stringContaining('answered 422') });
    }
    expect(run.summary).toMatchObject({ blocked: 2, failed: 0, passed: 3 });
    expect(run.exitCode).toBe(0);
    // The file reporters carry it: a skipped JUnit test case with the reason, a valid JSON report.
    expect(buildJunit(run)).toMatch(/<skipped\/>[\s\S]*blocked: registering agent .*answered 422.*\(blocked by AGT-001\)/);
    const validate = createAjv().compile(reportSchema);
    expect(validate(JSON.parse(JSON.stringify(toReport(run)))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('a registration without api_key blocks; one lacking `created` only fails SHAPE-001, once, citing AGT-001', async () => {
    const noKey = await runConformance({ target: (await target({ registration: 'no-key' })).url, adminKey: FAKE_ADMIN_KEY, cases: [registers('A-001')] });
    expect(byId(noKey, 'A-001')).toMatchObject({ outcome: 'blocked', blockedBy: ['AGT-001'], reason: expect.stringContaining('no api_key') });

    const cases = Array.from({ length: 6 }, (_, n) => registers(`A-00${n + 1}`));
    const run = await runConformance({ target: (await target({ registration: 'no-created' })).url, adminKey: FAKE_ADMIN_KEY, cases: [...cases, ...shapeCases], concurrency: 3 });
    for (const c of cases) expect(byId(run, c.id).outcome).toBe('passed');
    const shape = byId(run, 'SHAPE-001');
    expect(shape.outcome).toBe('failed');
    expect(shape.requirements).toEqual(expect.arrayContaining(['TERM-016', 'AGT-001']));
    const causes = shape.failure?.actual as Array<{ route: string; pointer: string; keyword: string; answers: number; cases: string[] }>;
    expect(causes).toEqual([expect.objectContaining({ route: 'PUT /v1/agents/{address}', pointer: '/created', keyword: 'required', answers: 6 })]);
    expect(causes[0].cases).toHaveLength(6);
    expect(run.summary.failed).toBe(1);
    expect(run.exitCode).toBe(1);
  });

  it('ctx.setup, ctx.need and ctx.precondition block; a failure outside setup still fails', async () => {
    const t = await target();
    const run = await runConformance({
      target: t.url,
      cases: [
        fake('S-001', async (ctx) => {
          await ctx.setup('reading the capabilities', async () => {
            const res = await ctx.request({ method: 'GET', path: '/v1/capabilities' });
            throw new CaseFailure(`pretend ${res.status} is wrong`);
          });
        }),
        fake('S-002', async (ctx) => {
          const res = await ctx.request({ method: 'GET', path: '/v1/capabilities' });
          ctx.need(res.body?.no_such_field, 'the field the case builds on');
        }),
        fake('S-003', async (ctx) => ctx.precondition(false, 'a capability the case needs', ['CAP-001'])),
        fake('S-004', async (ctx) => {
          await ctx.setup('a setup step that reads a missing field', async () => (undefined as unknown as { x: { y: number } }).x.y);
        }),
        fake('S-005', async () => {
          throw new CaseFailure('the thing the case is about is wrong');
        }),
        fake('S-006', async () => {
          throw new Blocked('thrown directly', ['X-001']);
        }),
      ],
    });
    expect(byId(run, 'S-001')).toMatchObject({ outcome: 'blocked', reason: 'reading the capabilities: pretend 200 is wrong', blockedBy: ['CAP-001'] });
    expect(byId(run, 'S-002')).toMatchObject({ outcome: 'blocked', reason: 'the field the case builds on: missing', blockedBy: ['CAP-001'] });
    expect(byId(run, 'S-003')).toMatchObject({ outcome: 'blocked', blockedBy: ['CAP-001'] });
    expect(byId(run, 'S-004')).toMatchObject({ outcome: 'blocked', reason: expect.stringContaining('a setup step that reads a missing field: ') });
    expect(byId(run, 'S-005').outcome).toBe('failed');
    expect(byId(run, 'S-006')).toMatchObject({ outcome: 'blocked', blockedBy: ['X-001'] });
    expect(run.exitCode).toBe(1);
  });

  it('dependsOn: a case whose dependency did not pass is blocked naming it, without running', async () => {
    const t = await target();
    let ran = false;
    const run = await runConformance({
      target: t.url,
      concurrency: 4,
      cases: [
        fake('D-001', async () => {
          throw new CaseFailure('the base is broken');
        }),
        fake('D-002', async () => undefined),
        fake('D-003', async () => void (ran = true), { dependsOn: ['D-001'] }),
        fake('D-004', async () => undefined, { dependsOn: ['D-002'] }),
      ],
    });
    expect(byId(run, 'D-003')).toMatchObject({ outcome: 'blocked', blockedBy: ['D-001'] });
    expect(ran).toBe(false);
    expect(byId(run, 'D-004').outcome).toBe('passed');
  });
});

describe('concurrency', () => {
  /** A case that records how many cases overlap it. */
  function tracked(id: string, live: { now: number; max: Map<string, number> }, body: (ctx: CaseContext) => Promise<void>, extra: Partial<ConformanceCase> = {}): ConformanceCase {
    return fake(id, async (ctx) => {
      live.now++;
      live.max.set(id, Math.max(live.max.get(id) ?? 0, live.now));
      try {
        await body(ctx);
        live.max.set(id, Math.max(live.max.get(id) ?? 0, live.now));
      } finally {
        live.now--;
      }
    }, extra);
  }
  const pause = (ctx: CaseContext, ms: number) => ctx.eventually('a pause', async () => undefined, ms).catch(() => undefined);

  it('exclusive cases run alone; a case advancing the test clock beside others is stopped before the advance and run again alone', async () => {
    const t = await target();
    const live = { now: 0, max: new Map<string, number>() };
    const advances: string[] = [];
    const cases = [
      tracked('P-001', live, (ctx) => pause(ctx, 150)),
      tracked('P-002', live, (ctx) => pause(ctx, 150)),
      tracked('X-001', live, (ctx) => pause(ctx, 100), { exclusive: true }),
      tracked('P-003', live, (ctx) => pause(ctx, 150)),
      tracked('C-001', live, async (ctx) => {
        await pause(ctx, 20);
        // What every case that moves the clock sends (the fake target answers 404: that is fine here).
        await ctx.request({ method: 'POST', path: '/v1/_test/clock', key: FAKE_ADMIN_KEY, json: { advance_ms: 1000 }, validate: false });
        advances.push(String(live.now));
        await pause(ctx, 50);
      }),
      tracked('P-004', live, (ctx) => pause(ctx, 150)),
      tracked('P-005', live, (ctx) => pause(ctx, 150)),
    ];
    const run = await runConformance({ target: t.url, adminKey: FAKE_ADMIN_KEY, cases, concurrency: 4 });
    expect(run.cases.map((c) => `${c.id}:${c.outcome}`)).toEqual(cases.map((c) => `${c.id}:passed`));
    expect(live.max.get('X-001')).toBe(1);
    // The clock was advanced once, while the case ran alone.
    expect(advances).toEqual(['1']);
    expect(t.seen.filter((r) => r === 'POST /v1/_test/clock')).toHaveLength(1);
    expect(Math.max(...['P-001', 'P-002', 'P-003', 'P-004', 'P-005'].map((id) => live.max.get(id) ?? 0))).toBeGreaterThan(1);
  });

  it('two runs in one process keep their own settings and their own round robin over a multi-URL target', async () => {
    const [a1, a2, b1, b2] = await Promise.all([target(), target(), target(), target()]);
    const probe = (id: string) => fake(id, async (ctx) => {
      for (let n = 0; n < 6; n++) await ctx.request({ method: 'GET', path: '/v1/capabilities' });
      ctx.note(`runs=${ctx.properties.runs} deep=${ctx.properties.deep}`);
    });
    const [runA, runB] = await Promise.all([
      runConformance({ target: `${a1.url},${a2.url}`, cases: [probe('R-001')], properties: { runs: 3 }, concurrency: 1 }),
      runConformance({ target: `${b1.url},${b2.url}`, cases: [probe('R-001')], properties: { runs: 9, deep: true }, concurrency: 1 }),
    ]);
    expect(byId(runA, 'R-001').notes).toContain('runs=3 deep=false');
    expect(byId(runB, 'R-001').notes).toContain('runs=9 deep=true');
    // Discovery took the first URL; the case's six calls then alternate, starting at the second.
    for (const [run, urls] of [[runA, [a1.url, a2.url]], [runB, [b1.url, b2.url]]] as const) {
      const used = byId(run, 'R-001').transcript.filter((e) => e.kind === 'request').map((e) => (e.url ?? '').startsWith(urls[0]) ? 0 : 1);
      expect(used).toEqual([1, 0, 1, 0, 1, 0]);
    }
    expect(a1.seen.length + a2.seen.length).toBe(7);
    expect(b1.seen.length + b2.seen.length).toBe(7);
  });
});
