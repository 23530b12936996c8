// The web inbox at /inbox, driven in headless Chromium: a key from the URL or the form, pending
// tasks with buttons that follow allowed_outcomes / required_comment, live arrival of new tasks,
// and a click on Approve that completes the intent.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxpClient } from '../client/index.js';
import { ADMIN_KEY, startServer, uniqueAddress, type TestServer } from './helpers/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let server: TestServer;
let browser: Browser;
let admin: AxpClient;
let requester: AxpClient;

beforeAll(async () => {
  server = await startServer('memory');
  admin = new AxpClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
  const { api_key } = await admin.registerAgent('agent://acme/prod/expenses', { binding: 'poll' });
  requester = admin.withKey(api_key as string);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

async function inboxAgent(address = uniqueAddress('approvals')): Promise<{ address: string; key: string }> {
  const { api_key } = await admin.registerAgent(address, { binding: 'inbox' });
  return { address, key: api_key as string };
}

async function sendTask(to: string, title: string, extra: Record<string, unknown> = {}, payload: Record<string, unknown> = { amount_cents: 4500 }): Promise<string> {
  const sent = await requester.sendIntent({ intent_type: 'expense.approve.v1', to_agent: to, payload, human_task: { title, task_type: 'approval', ...extra } });
  // The task exists once the intent waits for a human.
  for await (const event of admin.observe(sent.intent_id, { waitSeconds: 5 })) if (event.event_type === 'intent.human_task_assigned') break;
  return sent.intent_id;
}

function cardOf(page: Page, title: string) {
  return page.locator('#pending article', { hasText: title });
}

describe('web inbox page', () => {
  it('is served as HTML with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${server.url}/inbox`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(await res.text()).toContain('<title>AXP inbox</title>');
  });

  it('takes the key from #key= once, and Approve completes the intent', async () => {
    const { address, key } = await inboxAgent('agent://acme/prod/approvals');
    const first = await sendTask(address, 'Approve a $129 expense', { description: 'Conference ticket for Ada' }, { employee: 'ada@example.com', amount_cents: 12900 });
    await sendTask(address, 'Review the Globex MSA', { task_type: 'review', description: 'Master services agreement, 3 years.', allowed_outcomes: ['accept', 'request_changes'], required_comment: true }, { contract: 'MSA-2026-07', counterparty: 'Globex' });
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    try {
      await page.goto(`${server.url}/inbox#key=${key}`);
      await cardOf(page, 'Approve a $129 expense').waitFor({ timeout: 10_000 });
      expect(page.url()).not.toContain(key);
      await expect.poll(() => cardOf(page, 'Approve a $129 expense').locator('button').allTextContents()).toEqual(['Approve', 'Reject', 'Reply']);

      // allowed_outcomes become the buttons; required_comment keeps them disabled until typed.
      const review = cardOf(page, 'Review the Globex MSA');
      expect(await review.locator('button').allTextContents()).toEqual(['Accept', 'Request changes']);
      expect(await review.locator('button').first().isDisabled()).toBe(true);

      // Live: a task sent while the page is open shows up without a reload.
      await sendTask(address, 'Deploy checkout 4.2.0?', { task_type: 'confirmation' }, { service: 'checkout', version: '4.2.0' });
      await cardOf(page, 'Deploy checkout 4.2.0?').waitFor({ timeout: 10_000 });

      await cardOf(page, 'Approve a $129 expense').locator('button', { hasText: 'Approve' }).click();
      await page.locator('#decided article', { hasText: 'Approve a $129 expense' }).locator('.badge', { hasText: 'COMPLETED' }).waitFor({ timeout: 10_000 });
      const { intent } = await admin.getIntent(first);
      expect(intent.status).toBe('COMPLETED');
      expect(intent.result).toMatchObject({ task_result: { outcome: 'approved' } });

      if (process.env.UPDATE_SCREENSHOTS) {
        mkdirSync('docs', { recursive: true });
        await page.screenshot({ path: 'docs/inbox.png', fullPage: true });
      }

      await review.locator('textarea').fill('Clause 7 needs a cap.');
      expect(await review.locator('button').first().isEnabled()).toBe(true);
      await review.locator('button', { hasText: 'Request changes' }).click();
      await page.locator('#decided article', { hasText: 'Review the Globex MSA' }).waitFor({ timeout: 10_000 });
      const threads = await new AxpClient({ baseUrl: server.url, apiKey: key }).inbox.list({ open: true });
      expect(threads.map((t) => t.human_task?.title)).toEqual(['Deploy checkout 4.2.0?']);
    } finally {
      await page.close();
    }
  });

  it('takes the key from the form, and Reject fails the intent with task_rejected', async () => {
    const { address, key } = await inboxAgent();
    const id = await sendTask(address, 'Refund $45?');
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/inbox`);
      await page.fill('#key', key);
      await page.click('#key-form button[type=submit]');
      await cardOf(page, 'Refund $45?').locator('button', { hasText: 'Reject' }).click();
      await page.locator('#decided .badge', { hasText: 'FAILED' }).waitFor({ timeout: 10_000 });
      expect((await admin.getIntent(id)).intent.error).toMatchObject({ code: 'task_rejected' });
    } finally {
      await page.close();
    }
  });

  it('shows the problem when the key is refused and asks again', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/inbox#key=axp_not-a-key`);
      await page.locator('#error', { hasText: 'unauthorized' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#key-form').isVisible()).toBe(true);
    } finally {
      await page.close();
    }
  });
});
