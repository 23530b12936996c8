// The kit's runner against a tiny fake target: classification, selection, applicability, bounds,
// baseline and exit codes; the client's schema checks, SSE reading and the scripted receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseFailure, NotApplicable, type ConformanceCase } from '../conformance/case.js';
import { runConformance, shapeCases } from '../conformance/index.js';
import type { Reporter } from '../conformance/reporters/reporter.js';
import type { CaseResult, RunResult } from '../conformance/results.js';
import { byId, fake, FAKE_ADMIN_KEY, INTENT_ID, refusedPort, startFakeTarget, type FakeTarget } from './kit-fake-target.js';

let target: FakeTarget;
beforeAll(async () => {
  target = await startFakeTarget();
});
afterAll(async () => {
  await target.close();
});


describe('runner classification', () => {
  it('classifies passed, failed, errored, not applicable, skipped and overrun cases', async () => {
    const run = await runConformance({
      target: target.url,
      adminKey: FAKE_ADMIN_KEY,
      skip: 'SKIP-*',
      cases: [
        fake('PASS-001', async (ctx) => {
          const res = await ctx.request({ method: 'GET', path: '/v1/capabilities' });
          if (res.status !== 200) throw new CaseFailure('not 200', 200, res.status);
        }),
        fake('FAIL-001', async () => {
          throw new CaseFailure('wrong status', 409, 200);
        }),
        fake('ERR-001', async () => {
          throw new TypeError('kit bug');
        }),
        fake('NA-001', async () => undefined, { needsCapabilities: ['binding.http'] }),
        fake('NA-002', async () => {
          throw new NotApplicable('target cannot do this');
        }),
        fake('SKIP-001', async () => undefined),
        fake('MAY-001', async () => undefined, { level: 'MAY' }),
        fake('SLOW-001', (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve())), { timeoutMs: 200 }),
      ],
    });
    expect(byId(run, 'PASS-001').outcome).toBe('passed');
    expect(byId(run, 'FAIL-001')).toMatchObject({ outcome: 'failed', failure: { message: 'wrong status', expected: 409, actual: 200 } });
    expect(byId(run, 'ERR-001').outcome).toBe('errored');
    expect(byId(run, 'ERR-001').failure?.message).toContain('TypeError: kit bug');
    expect(byId(run, 'NA-001')).toMatchObject({ outcome: 'not_applicable', reason: 'target does not advertise binding.http' });
    expect(byId(run, 'NA-002')).toMatchObject({ outcome: 'not_applicable', reason: 'target cannot do this' });
    expect(byId(run, 'SKIP-001').outcome).toBe('skipped');
    expect(byId(run, 'MAY-001')).toMatchObject({ outcome: 'skipped', reason: 'MAY case below --level should' });
    expect(byId(run, 'SLOW-001').outcome).toBe('failed');
    expect(byId(run, 'SLOW-001').failure?.message).toContain('did not finish within its bound');
    expect(run.capabilities).toEqual(['binding.stream', 'events.sse']);
    expect(run.exitCode).toBe(1);
    // The transcript records the exchange with times from the case start.
    const transcript = byId(run, 'PASS-001').transcript;
    expect(transcript.map((e) => e.kind)).toEqual(['request', 'response']);
    expect(transcript[1]).toMatchObject({ status: 200, summary: expect.stringContaining('GET /v1/capabilities → 200') });
    expect(transcript[0].atMs).toBeGreaterThanOrEqual(0);
  });

  it('--level may runs MAY cases; a failed SHOULD case is a warning and exit stays 0', async () => {
    const run = await runConformance({
      target: target.url,
      level: 'may',
      cases: [
        fake('OK-001', async () => undefined),
        fake('MAY-001', async () => undefined, { level: 'MAY' }),
        fake('SHOULD-001', async () => {
          throw new CaseFailure('not quite');
        }, { level: 'SHOULD' }),
      ],
    });
    expect(byId(run, 'MAY-001').outcome).toBe('passed');
    expect(byId(run, 'SHOULD-001')).toMatchObject({ outcome: 'failed', warning: true });
    expect(run.summary.warnings).toBe(1);
    expect(run.exitCode).toBe(0);
  });

  it('a baselined failure keeps exit 0; a baselined pass is stale and exits 1', async () => {
    const cases = [fake('OK-001', async () => undefined), fake('BAD-001', async () => {
      throw new CaseFailure('known');
    })];
    const known = await runConformance({ target: target.url, cases, baseline: ['BAD-001', 'GONE-001'] });
    expect(byId(known, 'BAD-001').baseline).toBe('known_failure');
    expect(known.warnings.join(' ')).toContain('GONE-001');
    expect(known.exitCode).toBe(0);
    const stale = await runConformance({ target: target.url, cases, baseline: ['BAD-001', 'OK-001'] });
    expect(byId(stale, 'OK-001').baseline).toBe('stale');
    expect(stale.exitCode).toBe(1);
  });

  it('a selection of no case is a usage error; nothing measured is exit 3: every case not applicable, or the target refuses connections', async () => {
    const cases = [fake('OK-001', async () => undefined)];
    await expect(runConformance({ target: target.url, cases, skip: '*' })).rejects.toThrow(/--skip \* --level should selects none of the 1 cases/);
    const notApplicable = await runConformance({ target: target.url, cases: [fake('NA-001', async () => undefined, { needsAdmin: true })] });
    expect(notApplicable.exitCode).toBe(3);
    expect(notApplicable.adminKey).toBe('missing');
    const port = await refusedPort();
    const refused = await runConformance({ target: `http://127.0.0.1:${port}`, cases });
    expect(refused.unreachable).toMatch(/unreachable/);
    expect(refused.cases[0].outcome).toBe('skipped');
    expect(refused.exitCode).toBe(3);
  });

  it('a crashing reporter is a harness error (exit 2)', async () => {
    const broken: Reporter = {
      name: 'broken',
      onFinish() {
        throw new Error('disk full');
      },
    };
    const run = await runConformance({ target: target.url, cases: [fake('OK-001', async () => undefined)], reporters: [broken] });
    expect(run.exitCode).toBe(2);
    expect(run.harnessErrors.join(' ')).toContain('disk full');
  });
});

describe('case context', () => {
  async function single(run: ConformanceCase['run'], extra: Partial<ConformanceCase> = {}): Promise<CaseResult> {
    const result = await runConformance({ target: target.url, adminKey: FAKE_ADMIN_KEY, cases: [fake('CTX-001', run, extra)] });
    return result.cases[0];
  }

  it('charges a 2xx body that breaks its route schema to SHAPE-001 once, not to the cases that read it', async () => {
    const read = async (ctx: Parameters<ConformanceCase['run']>[0]) => {
      const res = await ctx.request({ method: 'GET', path: `/v1/intents/${INTENT_ID}` });
      if (res.status !== 200) throw new CaseFailure('not 200', 200, res.status);
    };
    const run = await runConformance({ target: target.url, cases: [fake('CTX-001', read), fake('CTX-002', read), ...shapeCases] });
    expect(byId(run, 'CTX-001').outcome).toBe('passed');
    expect(byId(run, 'CTX-002').outcome).toBe('passed');
    expect(byId(run, 'CTX-001').transcript.some((e) => e.summary.includes('shape:') && e.summary.includes('charged to'))).toBe(true);
    const shape = byId(run, 'SHAPE-001');
    expect(shape.outcome).toBe('failed');
    // One root cause per place and keyword, however many answers and cases showed it.
    const causes = shape.failure?.actual as Array<{ route: string; pointer: string; keyword: string; answers: number; cases: string[]; owners: string[] }>;
    const intentId = causes.filter((c) => c.pointer === '/intent_id');
    expect(intentId).toHaveLength(1);
    expect(intentId[0]).toMatchObject({ route: 'GET /v1/intents/{intent_id}', answers: 2, cases: ['CTX-001', 'CTX-002'] });
    expect(intentId[0].owners).toEqual(expect.arrayContaining(['TERM-016', 'INT-021']));
    expect(shape.requirements).toEqual(expect.arrayContaining(['TERM-016', 'INT-021']));
    expect(shape.failure?.message).toContain('GET /v1/intents/{intent_id}');
    expect(byId(run, 'SHAPE-002').outcome).toBe('passed');
    expect(run.exitCode).toBe(1);
  });

  it('without the response-conformance cases in a caller\'s own list, the run warns that violations went unreported', async () => {
    const run = await runConformance({ target: target.url, cases: [fake('CTX-001', async (ctx) => void (await ctx.request({ method: 'GET', path: `/v1/intents/${INTENT_ID}` })))] });
    expect(run.cases.map((c) => c.id)).toEqual(['CTX-001']);
    expect(run.warnings.join(' ')).toMatch(/response-shape violation\(s\) were recorded but no response-conformance case ran/);
  });

  it('charges an error answer that is not application/problem+json to SHAPE-002', async () => {
    const run = await runConformance({
      target: target.url,
      cases: [fake('CTX-001', async (ctx) => {
        const res = await ctx.request({ method: 'POST', path: '/v1/intents', json: {} });
        if (res.status !== 422) throw new CaseFailure('not 422', 422, res.status);
      }), ...shapeCases],
    });
    expect(byId(run, 'CTX-001').outcome).toBe('passed');
    const shape = byId(run, 'SHAPE-002');
    expect(shape.outcome).toBe('failed');
    expect(shape.failure?.message).toContain('application/problem+json');
    expect(shape.requirements).toContain('ERR-001');
  });

  it('lets a case turn validation off for a deliberate off-spec probe', async () => {
    const r = await single(async (ctx) => {
      const res = await ctx.request({ method: 'POST', path: '/v1/intents', json: {}, validate: false });
      if (res.status !== 422 || res.body?.error !== 'bad') throw new CaseFailure('unexpected', 422, res.status);
    });
    expect(r.outcome).toBe('passed');
  });

  it('reads SSE frames to the end, resumes with since, and cuts with until', async () => {
    const r = await single(async (ctx) => {
      const path = `/v1/intents/${INTENT_ID}/events/stream`;
      const all = await ctx.sse(path, { query: { since: 0 } });
      if (!all.ended || all.frames.length !== 3 || all.comments[0] !== 'keepalive') throw new CaseFailure('full read', 3, all.frames.length);
      if (all.frames[2].json.event_type !== 'intent.completed') throw new CaseFailure('frame json', 'intent.completed', all.frames[2].json);
      const resumed = await ctx.sse(path, { headers: { 'last-event-id': '2' } });
      if (resumed.frames.map((f) => f.id).join() !== '3') throw new CaseFailure('resume', '3', resumed.frames.map((f) => f.id));
      const cut = await ctx.sse(path, { until: (f) => f.id === '2' });
      if (cut.ended || cut.frames.length !== 2) throw new CaseFailure('cut after frame 2', 2, cut.frames.length);
      await ctx.sse('/v1/never-ends', { until: () => true, timeoutMs: 300 });
    });
    expect(r.failure?.message).toContain('did not end within');
    expect(r.transcript.some((e) => e.kind === 'sse-frame' && e.summary.includes('intent.completed'))).toBe(true);
  });

  it('registers agents with the admin key and a run-unique address', async () => {
    const r = await single(async (ctx) => {
      const a = await ctx.agent({ role: 'stream', delivery: { binding: 'stream' } });
      const b = await ctx.agent({ role: 'stream', delivery: { binding: 'stream' } });
      if (a.address === b.address || !a.address.includes(ctx.runId)) throw new CaseFailure('unique addresses', 'distinct', [a.address, b.address]);
      if (!a.key.startsWith('axp_') || a.path !== a.address.slice('agent://'.length)) throw new CaseFailure('key and path', 'axp_…', a);
    });
    expect(r.outcome).toBe('passed');
  });

  it('an agent role missing from --agents is not applicable and names the role', async () => {
    const run = await runConformance({
      target: target.url,
      agents: { agents: [{ role: 'poll', address: 'agent://acme/poller', api_key: 'k', delivery: { binding: 'poll' } }] },
      cases: [fake('CTX-001', async (ctx) => void (await ctx.agent({ role: 'stream', delivery: { binding: 'stream' } })))],
    });
    expect(run.cases[0]).toMatchObject({ outcome: 'not_applicable', reason: expect.stringContaining('"stream"') });
  });

  it('runs the receiver script: fail twice, then 200, recording raw bodies', async () => {
    const r = await single(async (ctx) => {
      const receiver = await ctx.receiver([{ status: 503, headers: { 'retry-after': '1' }, times: 2 }, { status: 200 }]);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(receiver.url, { method: 'POST', body: `{"n":${i}}`, headers: { 'content-type': 'application/json' } });
        statuses.push(res.status);
      }
      const hits = await receiver.waitForHits(4, 1_000);
      if (statuses.join() !== '503,503,200,200') throw new CaseFailure('script', '503,503,200,200', statuses.join());
      if (hits[1].body !== '{"n":1}' || hits[1].json.n !== 1 || hits[0].answered.headers?.['retry-after'] !== '1') throw new CaseFailure('hit record', '{"n":1}', hits[1]);
      await receiver.waitForHits(5, 50);
    });
    expect(r.failure?.message).toContain('receiver got 4 of 5 expected pushes');
    expect(r.transcript.filter((e) => e.kind === 'receiver-hit')).toHaveLength(4);
  });

  it('waitForEvent observes the event stream until a match, and fails when the intent ends without one', async () => {
    const r = await single(async (ctx) => {
      const submitted = await ctx.waitForEvent(INTENT_ID, undefined, (e) => e.event_type === 'intent.submitted', 2_000);
      if (submitted.seq !== 2) throw new CaseFailure('matched event', 2, submitted.seq);
      await ctx.waitForEvent(INTENT_ID, undefined, (e) => e.event_type === 'intent.reminder', 2_000);
    });
    expect(r.failure?.message).toContain('ended (COMPLETED) without the awaited event');
  });

  it('keeps the admin key out of transcripts and puts a shell variable in the curl reproduction', async () => {
    const run = await runConformance({
      target: target.url,
      adminKey: FAKE_ADMIN_KEY,
      reporters: [],
      cases: [fake('CTX-001', async (ctx) => {
        await ctx.request({ method: 'PUT', path: '/v1/agents/acme/x', key: ctx.adminKey, json: { delivery: { binding: 'stream' } } });
        throw new CaseFailure('look at the transcript');
      })],
    });
    const { curlForResult } = await import('../conformance/reporters/evidence.js');
    expect(JSON.stringify(run.cases[0].transcript)).not.toContain(FAKE_ADMIN_KEY);
    expect(curlForResult(run.cases[0])).toContain(`-H 'x-api-key: '"$AXP_ADMIN_KEY"`);
    expect(curlForResult(run.cases[0])).toContain(`-X PUT '${target.url}/v1/agents/acme/x'`);
  });

  it('keeps results in case order when cases run concurrently', async () => {
    const ids = ['C-001', 'C-002', 'C-003', 'C-004', 'C-005'];
    const run = await runConformance({
      target: target.url,
      concurrency: 3,
      cases: ids.map((id, i) => fake(id, async (ctx) => void (await ctx.eventually('turn', async () => true, 100 * (5 - i))))),
    });
    expect(run.cases.map((r) => `${r.id}:${r.outcome}`)).toEqual(ids.map((id) => `${id}:passed`));
  });

  it('eventually returns the probe value, or fails with what it waited for', async () => {
    const r = await single(async (ctx) => {
      let n = 0;
      const value = await ctx.eventually('n reaches 3', async () => (++n >= 3 ? n : undefined));
      if (value !== 3) throw new CaseFailure('value', 3, value);
      await ctx.eventually('never', async () => undefined, 30);
    });
    expect(r.failure?.message).toBe('never: not seen within 30 ms');
  });
});
