// Every example in examples/ runs against a real reference server: started, asserted, stopped.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../reference-server/index.js';
import type { IncomingHttpHeaders } from 'node:http';
import { signPush as signedHeaders } from '../reference-server/wire/signature.js';
import { verifySignature } from '../examples/http/verify.js';
import { ScriptProcess } from './helpers/example-process.js';

const ADMIN_KEY = 'examples-admin-key-0123';
let app: FastifyInstance;
let env: Record<string, string>;
const running: ScriptProcess[] = [];

function run(file: string, ...args: string[]): ScriptProcess {
  const child = new ScriptProcess(`examples/${file}`, args, env);
  running.push(child);
  return child;
}

beforeAll(async () => {
  // Load shedding off: the examples run as child processes beside the suite on a loaded machine.
  app = await buildServer({ store: 'memory', adminKey: ADMIN_KEY, allowPrivateCallbacks: true, logger: false, pressure: { maxEventLoopDelayMs: 0 } });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  env = { AXP_URL: url, AXP_ADMIN_KEY: ADMIN_KEY, AXP_POLL_EVERY_MS: '200' };
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.stop()));
});

afterAll(async () => {
  await app?.close();
});

async function expectCompleted(sender: ScriptProcess): Promise<string> {
  expect(await sender.exitCode(), sender.output).toBe(0);
  expect(sender.output).toMatch(/^COMPLETED /m);
  return sender.output;
}

describe('examples', () => {
  it('stream: the receiver completes what the sender sends', async () => {
    const receiver = run('stream/receiver.ts');
    await receiver.waitForLine(/^listening as/);
    const output = await expectCompleted(run('stream/sender.ts'));
    expect(output).toContain('"greeting":"hello, Ada"');
    await receiver.waitForLine(/^completed /);
  });

  it('poll: the cron-like receiver picks the intent up on a tick', async () => {
    const receiver = run('poll/receiver.ts');
    await receiver.waitForLine(/^polling as/);
    expect(await expectCompleted(run('poll/sender.ts'))).toContain('"total":1649');
    expect(await receiver.stop()).toBe(0);
  });

  it('http: the receiver verifies the signature and completes', async () => {
    const receiver = run('http/receiver.ts');
    await receiver.waitForLine(/^receiving /);
    expect(await expectCompleted(run('http/sender.ts'))).toContain('"shipped":true');
    await receiver.waitForLine(/^delivery .* attempt 1 \(webhook-id /);
  });

  it('inbox: a task approved from the command line completes the intent', async () => {
    const list = run('inbox/approve.ts');
    expect(await list.exitCode()).toBe(0);
    const sender = run('inbox/sender.ts');
    const [, id] = await sender.waitForLine(/^sent ([0-9a-f-]{36});/);
    await sender.waitForLine(/intent\.human_task_assigned → WAITING/);
    const listed = run('inbox/approve.ts');
    expect(await listed.exitCode()).toBe(0);
    expect(listed.output).toContain(`${id}  Approve a $129 expense`);
    const approve = run('inbox/approve.ts', id, '--comment', 'fine');
    expect(await approve.exitCode(), approve.output).toBe(0);
    expect(await expectCompleted(sender)).toContain('"outcome":"approved"');
  });

  it('internal: the platform completes a delay by itself', async () => {
    const receiver = run('internal/receiver.ts');
    expect(await receiver.exitCode(), receiver.output).toBe(0);
    expect(receiver.output).toContain('intent.internal.delay.v1');
    const output = await expectCompleted(run('internal/sender.ts'));
    expect(output).toContain('WAITING_FOR_TIME');
    expect(output).toContain('"delayed_seconds":1');
  });

  it('payment: two failed attempts are retried, then the order service sees COMPLETED', async () => {
    const service = run('payment/payment-service.ts');
    await service.waitForLine(/^payment service ready/);
    const orders = run('payment/order-service.ts');
    expect(await orders.exitCode(), orders.output).toBe(0);
    const attempts = orders.lines.filter((line) => line.includes('intent.delivery_attempt'));
    expect(attempts).toHaveLength(2);
    expect(orders.output).toMatch(/^done: COMPLETED .*"payment_id":"pay_/m);
    await service.waitForLine(/^attempt 3 .* charged 9999 usd/);
  });
});

describe('examples/http/verify.ts', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
  const other = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;
  const body = '{"intent_id":"i-1","attempt":1}';
  const now = Math.floor(Date.now() / 1000);
  const signPush = (...args: Parameters<typeof signedHeaders>): IncomingHttpHeaders => ({ ...signedHeaders(...args) });

  it('accepts the server\'s signature, also among several during a rotation', () => {
    expect(verifySignature(secret, signPush([secret], 'i-1', now, body), body)).toBe(true);
    expect(verifySignature(secret, signPush([other, secret], 'i-1', now, body), body)).toBe(true);
  });

  it('refuses a changed body, another secret, another id and a stale timestamp', () => {
    expect(verifySignature(secret, signPush([secret], 'i-1', now, body), body.replace('1}', '2}'))).toBe(false);
    expect(verifySignature(secret, signPush([other], 'i-1', now, body), body)).toBe(false);
    expect(verifySignature(secret, { ...signPush([secret], 'i-1', now, body), 'webhook-id': 'i-2' }, body)).toBe(false);
    expect(verifySignature(secret, signPush([secret], 'i-1', now - 3600, body), body)).toBe(false);
  });
});
