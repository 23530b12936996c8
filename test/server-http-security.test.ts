// SEC-020..SEC-023, HTTP-011, HTTP-012, HTTP-032: callback URLs refused at registration and at
// send time, and signing-secret rotation with its overlap window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedLookup, isRefusedAddress, CALLBACK_REFUSED_CODE } from '../reference-server/security/ssrf.js';
import { startServer, tempDbFile, uniqueAddress, type TestServer } from './helpers/server.js';
import { Receiver } from './helpers/receiver.js';
import { eventsOf, nextEvent } from './helpers/events.js';
import { verifies } from './helpers/signatures.js';

const agentPath = (address: string) => `/v1/agents/${address.replace('agent://', '')}`;
const httpPolicy = (url: string) => ({ delivery: { binding: 'http', url, initial_delay_ms: 20, max_delay_ms: 100, timeout_ms: 2000 } });

describe('callback address ranges', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.64.0.1', '100.127.255.254', '0.0.0.0', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1',
  ])('refuses %s', (address) => expect(isRefusedAddress(address)).toBe(true));

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(isRefusedAddress(address)).toBe(false);
  });

  it('refuses a name that resolves to loopback in the connection lookup', async () => {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => guardedLookup('localhost', { all: true }, (e) => resolve(e)));
    expect(error?.code).toBe(CALLBACK_REFUSED_CODE);
  });
});

describe('callback URLs at registration (private callbacks not allowed)', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer('memory'); });
  afterAll(async () => { await server.dispose(); });

  it.each([
    'http://127.0.0.1:9/hook', 'http://localhost:9/hook', 'http://[::1]:9/hook', 'http://[::ffff:10.0.0.1]/hook',
    'http://169.254.169.254/latest/meta-data', 'http://100.64.0.1/hook', 'http://0.0.0.0/hook', 'https://192.168.0.10/hook',
  ])('refuses %s with 422 callback_url_refused and registers nothing', async (url) => {
    const address = uniqueAddress('ssrf');
    const res = await server.request('PUT', agentPath(address), { body: httpPolicy(url) });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('callback_url_refused');
    expect((await server.request('GET', agentPath(address))).status).toBe(404);
  });

  it('refuses user information with 422 validation_failed', async () => {
    const res = await server.request('PUT', agentPath(uniqueAddress('ssrf')), { body: httpPolicy('http://user:pass@93.184.215.14/hook') });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
  });

  it('advertises that private callbacks are refused', async () => {
    expect((await server.request('GET', '/v1/capabilities', { key: null })).body.limits.allow_private_callbacks).toBe(false);
  });

  it('accepts a public address', async () => {
    const res = await server.request('PUT', agentPath(uniqueAddress('ssrf')), { body: httpPolicy('http://93.184.215.14/hook') });
    expect(res.status).toBe(200);
    expect(res.body.secret).toMatch(/^whsec_/);
  });
});

describe('callback URLs at send time', () => {
  it.each(['127.0.0.1', 'localhost'])('refuses a stored %s callback once private callbacks are off, as a final attempt', async (host) => {
    const { dir, file } = tempDbFile();
    const r = await Receiver.start(() => 200);
    const url = r.url.replace('127.0.0.1', host);
    let server = await startServer('sqlite', { file, dir, allowPrivateCallbacks: true });
    try {
      const senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const address = uniqueAddress('http');
      expect((await server.request('PUT', agentPath(address), { body: { delivery: { ...httpPolicy(url).delivery, max_delivery_attempts: 5 } } })).status).toBe(200);
      await server.close();
      server = await startServer('sqlite', { file, dir, allowPrivateCallbacks: false });
      const id = (await server.send(senderKey, address)).body.intent_id;
      const events = await nextEvent(server, id, (e) => e.event_type === 'intent.delivery_failed');
      const attempts = events.filter((e) => e.event_type === 'intent.delivery_attempt');
      expect(attempts).toHaveLength(1);
      expect(attempts[0].details).toMatchObject({ attempt: 1, error: 'callback_url_refused', next_attempt_at: null });
      expect(r.pushes).toHaveLength(0);
    } finally {
      await r.close();
      await server.dispose();
    }
  });
});

describe('signing secret rotation (test clock)', () => {
  let server: TestServer;
  let receiver: Receiver;
  beforeAll(async () => {
    server = await startServer('memory', { allowPrivateCallbacks: true, testClock: true });
    receiver = await Receiver.start(() => 200);
  });
  afterAll(async () => {
    await receiver.close();
    await server.dispose();
  });

  it('signs with old and new secret during the overlap window, then with the new one only', async () => {
    const senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
    const address = uniqueAddress('http');
    const first = await server.request('PUT', agentPath(address), { body: httpPolicy(receiver.url) });
    const oldSecret = first.body.secret as string;
    const again = await server.request('PUT', agentPath(address), { body: httpPolicy(receiver.url) });
    expect(again.body.secret).toBeUndefined();
    expect(JSON.stringify((await server.request('GET', agentPath(address))).body)).not.toContain('whsec_');

    const push = async (n: number) => {
      const id = (await server.send(senderKey, address)).body.intent_id;
      await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
      return (await receiver.waitForPushes(n))[n - 1];
    };
    const before = await push(1);
    expect(String(before.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(oldSecret, before)).toBe(true);

    const rotated = await server.request('PUT', agentPath(address), { body: { ...httpPolicy(receiver.url), rotate_secret: true } });
    const newSecret = rotated.body.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    const during = await push(2);
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(String(during.headers['x-axme-signature']).split(' ')).toHaveLength(2);
    expect(verifies(newSecret, during)).toBe(true);
    expect(verifies(oldSecret, during)).toBe(true);
    // HTTP-011: the newest secret's signature comes first.
    const onlyNew = { ...during, headers: { ...during.headers, 'webhook-signature': String(during.headers['webhook-signature']).split(' ')[0], 'x-axme-signature': String(during.headers['x-axme-signature']).split(' ')[0] } };
    expect(verifies(newSecret, onlyNew)).toBe(true);

    await server.request('POST', '/v1/_test/clock', { body: { advance_ms: 24 * 3600 * 1000 + 1000 } });
    const after = await push(3);
    expect(verifies(newSecret, after)).toBe(true);
    expect(verifies(oldSecret, after)).toBe(false);
    expect(await eventsOf(server, after.json.intent_id)).toHaveLength(4);
  });
});

describe('signing secret overlap window (server option)', () => {
  it('stops signing with the rotated-out secret after the configured window', async () => {
    const server = await startServer('memory', { allowPrivateCallbacks: true, testClock: true, secretOverlapMs: 60_000 });
    const receiver = await Receiver.start(() => 200);
    try {
      expect((await server.request('GET', '/v1/capabilities', { key: null })).body.limits.allow_private_callbacks).toBe(true);
      const senderKey = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
      const address = uniqueAddress('http');
      const oldSecret = (await server.request('PUT', agentPath(address), { body: httpPolicy(receiver.url) })).body.secret as string;
      const newSecret = (await server.request('PUT', agentPath(address), { body: { ...httpPolicy(receiver.url), rotate_secret: true } })).body.secret as string;
      await server.request('POST', '/v1/_test/clock', { body: { advance_ms: 61_000 } });
      const id = (await server.send(senderKey, address)).body.intent_id;
      await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
      const [push] = await receiver.waitForPushes(1);
      expect(verifies(newSecret, push)).toBe(true);
      expect(verifies(oldSecret, push)).toBe(false);
    } finally {
      await receiver.close();
      await server.dispose();
    }
  });
});
