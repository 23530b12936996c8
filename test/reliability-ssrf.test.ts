// SEC-020..SEC-023, HTTP-021: callback URLs into private, loopback and link-local ranges are refused
// at registration unless the operator allows them (every spelling of such an address), and a
// redirect is never followed: a receiver answering 302 towards another local receiver leaves the
// second one untouched, and the 302 counts as a failed attempt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, uniqueAddress, type TestServer } from './helpers/server.js';
import { Receiver } from './helpers/receiver.js';
import { nextEvent } from './helpers/events.js';

const agentPath = (address: string) => `/v1/agents/${address.replace('agent://', '')}`;
const http = (url: string, extra: Record<string, unknown> = {}) => ({ delivery: { binding: 'http', url, initial_delay_ms: 20, max_delay_ms: 50, timeout_ms: 2000, ...extra } });

const REFUSED = [
  // loopback, in every spelling the URL parser normalises to 127.0.0.1
  'http://127.0.0.1/h', 'http://127.1/h', 'http://2130706433/h', 'http://0x7f000001/h', 'http://0177.0.0.1/h', 'http://127.000.000.001/h', 'http://[::1]/h',
  'http://[0:0:0:0:0:0:0:1]/h', 'http://[::ffff:127.0.0.1]/h', 'http://[::ffff:7f00:1]/h', 'http://localhost/h', 'http://LOCALHOST./h',
  // private, link-local (cloud metadata), carrier-grade NAT, unspecified, unique-local, broadcast
  'http://10.0.0.1/h', 'http://172.16.5.4/h', 'http://192.168.0.1:8080/h', 'https://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/h',
  'http://100.64.0.1/h', 'http://0.0.0.0/h', 'http://0/h', 'http://[::]/h', 'http://[fd00::1]/h', 'http://255.255.255.255/h', 'http://[::ffff:a00:1]/h',
];

describe('callback URLs refused at registration (private callbacks off)', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer('memory'); });
  afterAll(async () => { await server.dispose(); });

  it.each(REFUSED)('%s → 422 callback_url_refused, nothing registered', async (url) => {
    const address = uniqueAddress('ssrf');
    const res = await server.request('PUT', agentPath(address), { body: http(url) });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('callback_url_refused');
    expect((await server.request('GET', agentPath(address))).status).toBe(404);
  });

  it.each(['ftp://93.184.215.14/h', 'file:///etc/passwd', 'gopher://93.184.215.14/', 'http://user:pw@93.184.215.14/h', 'javascript:alert(1)'])(
    '%s → 422 validation_failed', async (url) => {
      const res = await server.request('PUT', agentPath(uniqueAddress('ssrf')), { body: http(url) });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('validation_failed');
    });

  it('an existing agent keeps its old URL when an update to a private one is refused', async () => {
    const address = uniqueAddress('ssrf');
    expect((await server.request('PUT', agentPath(address), { body: http('http://93.184.215.14/h') })).status).toBe(200);
    expect((await server.request('PUT', agentPath(address), { body: http('http://10.1.1.1/h') })).status).toBe(422);
    expect((await server.request('GET', agentPath(address))).body.agent.delivery.url).toBe('http://93.184.215.14/h');
  });

  it('advertises that private callbacks are refused', async () => {
    expect((await server.request('GET', '/v1/capabilities')).body.limits.allow_private_callbacks).toBe(false);
  });
});

describe('private callbacks allowed by the operator', () => {
  it('accepts loopback and private URLs and advertises it', async () => {
    const server = await startServer('memory', { allowPrivateCallbacks: true });
    try {
      for (const url of ['http://127.0.0.1:9/h', 'http://10.0.0.1/h', 'http://[::1]:9/h']) {
        expect((await server.request('PUT', agentPath(uniqueAddress('ssrf')), { body: http(url) })).status).toBe(200);
      }
      expect((await server.request('GET', '/v1/capabilities')).body.limits.allow_private_callbacks).toBe(true);
    } finally {
      await server.dispose();
    }
  });
});

describe('redirects are never followed (SEC-022, HTTP-021)', () => {
  let server: TestServer;
  let target: Receiver;
  let redirector: Receiver;
  beforeAll(async () => {
    server = await startServer('memory', { allowPrivateCallbacks: true });
    target = await Receiver.start(() => 200);
    redirector = await Receiver.start((n) => ({ status: n % 2 === 0 ? 302 : 307, headers: { location: target.url } }));
  });
  afterAll(async () => {
    await redirector.close();
    await target.close();
    await server.dispose();
  });

  it('counts each 3xx as a failed attempt and never calls the Location', async () => {
    const sender = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
    const address = uniqueAddress('redirect');
    expect((await server.request('PUT', agentPath(address), { body: http(redirector.url, { max_delivery_attempts: 3 }) })).status).toBe(200);
    const id = (await server.send(sender, address)).body.intent_id as string;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.delivery_failed');
    const attempts = events.filter((e) => e.event_type === 'intent.delivery_attempt');
    expect(attempts.map((e) => [e.details.error, e.details.status_code])).toEqual([['http_status', 302], ['http_status', 307], ['http_status', 302]]);
    expect(redirector.pushes).toHaveLength(3);
    expect(target.pushes).toHaveLength(0);
  });
});
