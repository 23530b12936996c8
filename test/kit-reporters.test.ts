// The kit's reports: JSON valid against its schema, failures first, passing transcripts summarised;
// well-formed JUnit XML; a Markdown summary without credentials; the console's causes, reasons and
// verdict; and an HTML report whose table and filters work in a real (headless Chromium) browser.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAjv } from '../schemas/index.js';
import reportSchema from '../schemas/conformance-report.schema.json' with { type: 'json' };
import { CaseFailure, NotApplicable, type ConformanceCase } from '../conformance/case.js';
import { runConformance } from '../conformance/index.js';
import { ConsoleReporter } from '../conformance/reporters/console.js';
import { buildHtml } from '../conformance/reporters/html.js';
import { toReport } from '../conformance/reporters/json.js';
import { buildJunit } from '../conformance/reporters/junit.js';
import { buildMarkdown, MarkdownReporter } from '../conformance/reporters/markdown.js';
import { SHOWN_OUTCOMES } from '../conformance/reporters/reporter.js';
import type { CaseResult, RunResult } from '../conformance/results.js';
import { summarize } from '../conformance/results.js';
import { FAKE_ADMIN_KEY, startFakeTarget, type FakeTarget } from './kit-fake-target.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** A system Chromium (CI installs Debian's), or one named by AXP_CHROMIUM. */
const CHROMIUM = [process.env.AXP_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']
  .find((p): p is string => !!p && existsSync(p));
if (!CHROMIUM) console.warn('kit-reporters: no Chromium found (/usr/bin/chromium, or set AXP_CHROMIUM): the HTML report is not checked in a browser; `apt-get install chromium` runs it');

const AGENT_KEY = 'axp_agentsecret0123456789abcdef';

function fake(id: string, group: string, run: ConformanceCase['run'], level: ConformanceCase['level'] = 'MUST'): ConformanceCase {
  return { id, group, title: `title of ${id}`, level, requirements: ['TERM-001'], run };
}

const capabilities = async (ctx: Parameters<ConformanceCase['run']>[0]) => void (await ctx.request({ method: 'GET', path: '/v1/capabilities' }));

const cases: ConformanceCase[] = [
  fake('ALPHA-001', 'ALPHA', async (ctx) => {
    for (let i = 0; i < 15; i++) await capabilities(ctx);
  }),
  fake('ALPHA-002', 'ALPHA', async (ctx) => {
    await ctx.request({ method: 'GET', path: '/v1/capabilities', key: AGENT_KEY });
    await ctx.request({ method: 'GET', path: '/v1/capabilities', key: FAKE_ADMIN_KEY });
    throw new CaseFailure('status was wrong </td><script>alert(1)</script> | `pipe`', { status: 409 }, { status: 200, big: 10n });
  }),
  fake('BETA-001', 'BETA', async () => {
    throw new NotApplicable('no http binding');
  }),
  fake('BETA-002', 'BETA', async () => {
    throw new RangeError('kit bug');
  }),
  fake('BETA-003', 'BETA', async () => {
    throw new CaseFailure('should-level miss');
  }, 'SHOULD'),
  fake('GAMMA-001', 'GAMMA', async () => undefined),
  fake('GAMMA-002', 'GAMMA', async (ctx) => {
    await capabilities(ctx);
    throw new CaseFailure('a failure the baseline knows');
  }),
  fake('GAMMA-003', 'GAMMA', capabilities),
];

/** A blocked case as the runner reports one (the runner's own tests cover when it blocks). */
const blockedCase: CaseResult = {
  id: 'DELTA-001', group: 'DELTA', title: 'title of DELTA-001', level: 'MUST', requirements: ['TERM-002'], outcome: 'blocked',
  reason: 'no agent could be registered', blockedBy: ['AGT-001'], durationMs: 1, notes: [], transcript: [],
};

/** Reading order of the ids above: failed, errored, warning, blocked, known failure, stale, passed, n/a, skipped. */
const READING_ORDER = ['ALPHA-002', 'BETA-002', 'BETA-003', 'DELTA-001', 'GAMMA-002', 'GAMMA-003', 'ALPHA-001', 'BETA-001', 'GAMMA-001'];

let target: FakeTarget;
let run: RunResult;
let dir: string;
beforeAll(async () => {
  target = await startFakeTarget();
  dir = await mkdtemp(join(tmpdir(), 'axp-kit-reports-'));
  run = await runConformance({ target: target.url, adminKey: FAKE_ADMIN_KEY, cases, skip: 'GAMMA-001', baseline: ['GAMMA-002', 'GAMMA-003'] });
  run.cases.push(blockedCase);
  run.summary = summarize(run.cases);
});
afterAll(async () => {
  await target?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function capture(): { out: Writable & { isTTY?: boolean }; text: () => string } {
  const chunks: string[] = [];
  const out = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString()); done(); } });
  return { out, text: () => chunks.join('').replace(/\x1b\[[0-9;]*m/g, '') };
}

describe('json report', () => {
  it('validates against schemas/conformance-report.schema.json, failures first', () => {
    const ajv = createAjv();
    const validate = ajv.getSchema(reportSchema.$id) ?? ajv.compile(reportSchema);
    const report = JSON.parse(JSON.stringify(toReport(run))) as Record<string, unknown> & { cases: CaseResult[] };
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.exitCode).toBe(1);
    expect(report.adminKey).toBe('accepted');
    expect(report.cases.map((c) => c.id)).toEqual(READING_ORDER);
    // The schema is strict enough to catch a broken report.
    expect(validate({ ...report, exitCode: 7 })).toBe(false);
  });

  it('keeps whole transcripts for failing cases and summarises passing ones unless asked for all', () => {
    const report = toReport(run) as { cases: CaseResult[] };
    const byId = (id: string, cs = report.cases) => cs.find((c) => c.id === id) as CaseResult;
    const passing = byId('ALPHA-001');
    expect(passing.transcriptSummary).toEqual({ entries: 30, kept: 10, requests: 15, statuses: { 200: 15 }, sseFrames: 0, receiverHits: 0 });
    expect(passing.transcript).toHaveLength(10);
    expect(passing.transcript.every((e) => e.headers === undefined && e.body === undefined)).toBe(true);
    for (const id of ['ALPHA-002', 'GAMMA-002']) {
      expect(byId(id).transcriptSummary).toBeUndefined();
      expect(byId(id).transcript.some((e) => e.kind === 'response' && e.body !== undefined)).toBe(true);
    }
    const all = toReport(run, 'all') as { cases: CaseResult[] };
    expect(byId('ALPHA-001', all.cases).transcript).toHaveLength(30);
    expect(byId('ALPHA-001', all.cases).transcriptSummary).toBeUndefined();
  });
});

describe('junit report', () => {
  it('is well-formed XML with one testcase per case, classname = group', () => {
    const xml = buildJunit(run);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(xml) as {
      testsuites: { testsuite: Array<{ name: string; testcase: Array<{ classname: string; name: string; failure?: unknown; error?: unknown; skipped?: unknown; 'system-out'?: string }> }> };
    };
    const testcases = doc.testsuites.testsuite.flatMap((s) => s.testcase);
    expect(testcases).toHaveLength(run.cases.length);
    for (const tc of testcases) expect(tc.name.startsWith(`${tc.classname}-`)).toBe(true);
    const named = (id: string) => testcases.find((tc) => tc.name.startsWith(id));
    expect(named('ALPHA-002')?.failure).toBeDefined();
    expect(named('BETA-002')?.error).toBeDefined();
    expect(named('BETA-001')?.skipped).toBeDefined();
    expect(named('GAMMA-001')?.skipped).toBeDefined();
    expect(named('DELTA-001')?.skipped).toBeDefined();
    expect(String(named('DELTA-001')?.['system-out'])).toContain('blocked: no agent could be registered (blocked by AGT-001)');
    expect(testcases[0].name.startsWith('ALPHA-002')).toBe(true);
  });
});

describe('markdown report', () => {
  it('gives the verdict, the counts and each failure with its requirement IDs, and no credential', async () => {
    const md = buildMarkdown(run);
    expect(md).toMatch(/^## ❌ AXP conformance: FAIL\n/);
    expect(md).toContain('2 MUST cases failed or errored');
    expect(md).toContain('besides 1 known failure (baseline)');
    expect(md).toContain('| passed | 2 |'); // ALPHA-001 and the stale GAMMA-003
    expect(md).toContain('| blocked | 1 |');
    expect(md).toContain('| known failure | 1 |');
    const failures = md.slice(md.indexOf('### Failures'), md.indexOf('### Blocked'));
    expect(failures).toMatch(/^\| `ALPHA-002` title of ALPHA-002 \| MUST \| `TERM-001` \| status was wrong \\<\/td\\>\\<script\\>alert\(1\)\\<\/script\\> \\\| \\`pipe\\` \|$/m);
    expect(failures).toContain('| `BETA-002`');
    expect(failures).toContain('| `GAMMA-003`'); // stale: fails the run
    expect(failures).not.toContain('GAMMA-002');
    expect(md).toContain('<details><summary><code>ALPHA-002</code> title of ALPHA-002</summary>');
    expect(md).toContain('GET /v1/capabilities → 200');
    expect(md).toMatch(/### Blocked \(1\)[\s\S]*blocked by AGT-001/);
    expect(md).toContain('<details><summary>Not applicable (1)</summary>\n\n- no http binding: `BETA-001`\n\n</details>');
    expect(md).not.toContain(AGENT_KEY);
    expect(md).not.toContain(FAKE_ADMIN_KEY);

    const summary = join(dir, 'step-summary.md');
    await writeFile(summary, '# earlier step\n');
    const reporter = new MarkdownReporter(join(dir, 'md'), { stepSummary: summary });
    await reporter.onFinish(run);
    expect(reporter.written).toEqual([join(dir, 'md', 'conformance-summary.md')]);
    expect(await readFile(reporter.written[0], 'utf8')).toBe(md);
    expect(await readFile(summary, 'utf8')).toBe(`# earlier step\n${md}\n`);
  });
});

describe('console report', () => {
  it('shows why cases were not applicable or blocked, counts known failures in the verdict and prints the report paths', () => {
    const { out, text } = capture();
    new ConsoleReporter({ out, files: () => ['out/junit.xml'] }).onFinish(run);
    const printed = text();
    expect(printed).toMatch(/Not applicable \(1\)\n {2}no http binding: BETA-001 \(1\)/);
    expect(printed).toMatch(/Blocked \(1\).*\n⊘ DELTA-001 title of DELTA-001 {2}no agent could be registered \(blocked by AGT-001\)/);
    expect(printed).toMatch(/Skipped \(1\)\n {2}matched by --skip GAMMA-001: GAMMA-001 \(1\)/);
    expect(printed).toContain('FAIL: 2 MUST cases failed or errored, 1 baseline entry stale (the case passes now: remove it from the baseline); besides 1 known failure (baseline); 1 SHOULD/MAY case failed (warnings); 1 case blocked (exit 1)');
    expect(printed.trimEnd().split('\n').at(-1)).toBe('reports: out/junit.xml');
  });

  it('counts known failures in a passing verdict', () => {
    const passing: RunResult = { ...run, exitCode: 0, cases: run.cases.filter((c) => c.id === 'ALPHA-001' || c.id === 'GAMMA-002') };
    passing.summary = summarize(passing.cases);
    const { out, text } = capture();
    new ConsoleReporter({ out, brief: true, files: () => ['out/junit.xml'] }).onFinish(passing);
    expect(text()).toBe([
      'AXP conformance PASS: every applicable MUST case passed except 1 known failure (baseline), which failed as listed (exit 0) · 1 passed, 1 failed, 0 blocked, 0 n/a, 0 skipped',
      'reports: out/junit.xml',
      '',
    ].join('\n'));
  });

  it('names an unreachable target first, with no table of zeros', () => {
    const unreachable: RunResult = {
      ...run, exitCode: 3, unreachable: 'target http://127.0.0.1:9 unreachable: ECONNREFUSED',
      cases: run.cases.map((c) => ({ ...c, outcome: 'skipped', reason: 'target http://127.0.0.1:9 unreachable: ECONNREFUSED' })),
    };
    unreachable.summary = summarize(unreachable.cases);
    const { out, text } = capture();
    new ConsoleReporter({ out }).onFinish(unreachable);
    const lines = text().split('\n').filter(Boolean);
    expect(lines[0]).toBe('target http://127.0.0.1:9 unreachable: ECONNREFUSED (is the server running, and is --target right?)');
    expect(text()).not.toMatch(/^group /m);
    expect(lines.at(-1)).toBe('NOTHING MEASURED: the target was unreachable (exit 3)');
  });
});

describe.skipIf(!CHROMIUM)('html report', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows every case, failures first, in a table that filters by every outcome, group and text', async () => {
    const file = join(dir, 'report.html');
    const html = buildHtml(run);
    expect(html).not.toMatch(/<(link|img|iframe)\b|\bsrc=|https?:\/\/[^"' ]+\.(js|css)\b/);
    await writeFile(file, html);
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(pathToFileURL(file).href);
    const ids = () => page.locator('tr.case-row:visible td.id').allTextContents();
    expect(await ids()).toEqual(READING_ORDER);
    expect(await page.locator('#visible-count').textContent()).toBe(String(run.cases.length));

    // Every outcome is a filter choice, present in this run or not.
    const offered = await page.locator('#filter-outcome option').evaluateAll((os) => os.map((o) => o.getAttribute('value')));
    expect(offered).toEqual(['', ...SHOWN_OUTCOMES]);
    const expected: Record<string, string[]> = {
      failed: ['ALPHA-002'], errored: ['BETA-002'], warning: ['BETA-003'], blocked: ['DELTA-001'], known_failure: ['GAMMA-002'],
      stale: ['GAMMA-003'], passed: ['ALPHA-001'], not_applicable: ['BETA-001'], skipped: ['GAMMA-001'],
    };
    for (const outcome of SHOWN_OUTCOMES) {
      await page.selectOption('#filter-outcome', outcome);
      expect(await ids(), outcome).toEqual(expected[outcome]);
    }
    await page.selectOption('#filter-outcome', '');

    await page.selectOption('#filter-group', 'BETA');
    expect(await ids()).toEqual(['BETA-002', 'BETA-003', 'BETA-001']);
    await page.fill('#filter-text', 'kit bug');
    expect(await ids()).toEqual(['BETA-002']);
    expect(await page.locator('#visible-count').textContent()).toBe('1');
    await page.selectOption('#filter-group', '');
    await page.fill('#filter-text', '');
    expect(await ids()).toHaveLength(run.cases.length);

    // Each case folds out its evidence and transcript; hostile text stays text.
    const row = page.locator('tr.case-row[data-id="ALPHA-002"]');
    await row.locator('details.case > summary').click();
    await row.locator('details.transcript > summary').click();
    expect(await row.locator('details.transcript pre').textContent()).toContain('GET /v1/capabilities → 200');
    expect(await row.locator('.message').textContent()).toContain('<script>alert(1)</script>');
    // A passing case's transcript is summarised, and says how to get all of it.
    const passing = page.locator('tr.case-row[data-id="ALPHA-001"]');
    await passing.locator('details.case > summary').click();
    expect(await passing.locator('details.transcript > summary').textContent()).toContain('30 entries: 15 requests (200 ×15); first 10 shown, without headers and bodies (--transcripts all keeps them whole)');
    expect(dialogs).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    await page.close();
  });
});
