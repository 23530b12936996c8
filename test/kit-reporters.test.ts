// The kit's reports: JSON valid against its schema, well-formed JUnit XML, and an HTML report whose
// table and filters work in a real (headless Chromium) browser.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAjv } from '../schemas/index.js';
import reportSchema from '../schemas/conformance-report.schema.json' with { type: 'json' };
import { CaseFailure, NotApplicable, type ConformanceCase } from '../conformance/case.js';
import { runConformance } from '../conformance/index.js';
import { buildHtml } from '../conformance/reporters/html.js';
import { toReport } from '../conformance/reporters/json.js';
import { buildJunit } from '../conformance/reporters/junit.js';
import type { RunResult } from '../conformance/results.js';
import { startFakeTarget, type FakeTarget } from './kit-fake-target.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function fake(id: string, group: string, run: ConformanceCase['run'], level: ConformanceCase['level'] = 'MUST'): ConformanceCase {
  return { id, group, title: `title of ${id}`, level, requirements: ['TERM-001'], run };
}

const cases: ConformanceCase[] = [
  fake('ALPHA-001', 'ALPHA', async (ctx) => void (await ctx.request({ method: 'GET', path: '/v1/capabilities' }))),
  fake('ALPHA-002', 'ALPHA', async (ctx) => {
    await ctx.request({ method: 'GET', path: '/v1/capabilities' });
    throw new CaseFailure('status was wrong </td><script>alert(1)</script>', { status: 409 }, { status: 200, big: 10n });
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
];

let target: FakeTarget;
let run: RunResult;
let dir: string;
beforeAll(async () => {
  target = await startFakeTarget();
  dir = await mkdtemp(join(tmpdir(), 'axp-kit-reports-'));
  run = await runConformance({ target: target.url, cases, skip: 'GAMMA-*' });
});
afterAll(async () => {
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

describe('json report', () => {
  it('validates against schemas/conformance-report.schema.json', () => {
    const ajv = createAjv();
    const validate = ajv.getSchema(reportSchema.$id) ?? ajv.compile(reportSchema);
    const report = JSON.parse(JSON.stringify(toReport(run))) as Record<string, unknown>;
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.exitCode).toBe(1);
    // The schema is strict enough to catch a broken report.
    expect(validate({ ...report, exitCode: 7 })).toBe(false);
  });
});

describe('junit report', () => {
  it('is well-formed XML with one testcase per case, classname = group', () => {
    const xml = buildJunit(run);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(xml) as {
      testsuites: { testsuite: Array<{ name: string; testcase: Array<{ classname: string; name: string; failure?: unknown; error?: unknown; skipped?: unknown }> }> };
    };
    const testcases = doc.testsuites.testsuite.flatMap((s) => s.testcase);
    expect(testcases).toHaveLength(run.cases.length);
    for (const tc of testcases) expect(tc.name.startsWith(`${tc.classname}-`)).toBe(true);
    const named = (id: string) => testcases.find((tc) => tc.name.startsWith(id));
    expect(named('ALPHA-002')?.failure).toBeDefined();
    expect(named('BETA-002')?.error).toBeDefined();
    expect(named('BETA-001')?.skipped).toBeDefined();
    expect(named('GAMMA-001')?.skipped).toBeDefined();
  });
});

describe('html report', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows every case in a table that filters by outcome, group and text', async () => {
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
    const visible = () => page.locator('tr.case-row:visible').count();
    expect(await visible()).toBe(run.cases.length);
    expect(await page.locator('#visible-count').textContent()).toBe(String(run.cases.length));

    await page.selectOption('#filter-outcome', 'failed');
    expect(await page.locator('tr.case-row:visible td.id').allTextContents()).toEqual(['ALPHA-002']);
    await page.selectOption('#filter-outcome', 'warning');
    expect(await page.locator('tr.case-row:visible td.id').allTextContents()).toEqual(['BETA-003']);
    await page.selectOption('#filter-outcome', '');

    await page.selectOption('#filter-group', 'BETA');
    expect(await visible()).toBe(3);
    await page.fill('#filter-text', 'kit bug');
    expect(await page.locator('tr.case-row:visible td.id').allTextContents()).toEqual(['BETA-002']);
    expect(await page.locator('#visible-count').textContent()).toBe('1');
    await page.selectOption('#filter-group', '');
    await page.fill('#filter-text', '');
    expect(await visible()).toBe(run.cases.length);

    // Each case folds out its evidence and transcript; hostile text stays text.
    const row = page.locator('tr.case-row[data-id="ALPHA-002"]');
    await row.locator('details.case > summary').click();
    await row.locator('details.transcript > summary').click();
    expect(await row.locator('details.transcript pre').textContent()).toContain('GET /v1/capabilities → 200');
    expect(await row.locator('.message').textContent()).toContain('<script>alert(1)</script>');
    expect(dialogs).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    await page.close();
  });
});
