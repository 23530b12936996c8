// HTTP-020..HTTP-031 with receivers that misbehave: down, hanging, slow, resetting mid-response,
// answering garbage. Each failure is recorded as the attempt error it is and ends in the dead
// letter; a slow-but-in-time receiver is fine; and a healthy agent's delivery latency beside
// misbehaving ones stays close to its healthy-only baseline (HTTP-031: one lane per agent).
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, uniqueAddress, type TestServer } from './helpers/server.js';
import { Receiver, deadUrl } from './helpers/receiver.js';
import { nextEvent } from './helpers/events.js';

const agentPath = (address: string) => `/v1/agents/${address.replace('agent://', '')}`;
// timeout_ms is far from every answer that should not time out (a refusal, a reset, a 300 ms
// answer), so a loaded machine's stall does not turn one of them into a timeout.
const TIMEOUT_MS = 2000;
const policy = (url: string, extra: Record<string, unknown> = {}) =>
  ({ delivery: { binding: 'http', url, initial_delay_ms: 20, max_delay_ms: 50, timeout_ms: TIMEOUT_MS, max_delivery_attempts: 2, ...extra } });

/** A TCP server that answers every request with bytes that are not HTTP. */
async function garbageServer(): Promise<{ url: string; close: () => Promise<void>; hits: () => number }> {
  let hits = 0;
  const server: TcpServer = createTcpServer((socket) => {
    socket.once('data', () => { hits += 1; socket.end('\x00\xffNOT HTTP AT ALL\r\n\r\n{garbage'); });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const delay = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

let server: TestServer;
let sender: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startServer('memory', { allowPrivateCallbacks: true });
  sender = await server.registerAgent(uniqueAddress('sender'), { binding: 'poll' });
});
afterAll(async () => {
  for (const close of cleanups) await close();
  await server.dispose();
});

async function register(url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const address = uniqueAddress('rcv');
  const res = await server.request('PUT', agentPath(address), { body: policy(url, extra) });
  expect(res.status).toBe(200);
  return address;
}

async function receiver(script: Parameters<typeof Receiver.start>[0]): Promise<Receiver> {
  const r = await Receiver.start(script);
  cleanups.push(() => r.close());
  return r;
}

describe('each misbehaving receiver is a failed attempt of the right kind, then a dead letter', () => {
  it.each([
    ['down', 'connection_refused'],
    ['hang', 'timeout'],
    ['slow beyond timeout', 'timeout'],
    ['reset mid-response', 'connection_reset'],
    ['garbage', 'connection_reset'],
  ] as const)('%s → %s', async (kind, error) => {
    let url: string;
    if (kind === 'down') url = await deadUrl();
    else if (kind === 'garbage') {
      const g = await garbageServer();
      cleanups.push(g.close);
      url = g.url;
    } else {
      const answer = kind === 'hang' ? () => 'hang' as const : kind === 'slow beyond timeout' ? () => delay(2 * TIMEOUT_MS, 200) : () => 'reset' as const;
      url = (await receiver(answer)).url;
    }
    const address = await register(url);
    const id = (await server.send(sender, address)).body.intent_id as string;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.delivery_failed', { timeoutMs: 20_000 });
    const attempts = events.filter((e) => e.event_type === 'intent.delivery_attempt');
    expect(attempts.map((e) => e.details.error)).toEqual([error, error]);
    const intent = (await server.request('GET', `/v1/intents/${id}`)).body.intent;
    expect(intent).toMatchObject({ status: 'FAILED', error: { code: 'delivery_failed' } });
    const dead = await server.request('GET', `/v1/dead-letters?agent=${encodeURIComponent(address)}`);
    expect(dead.body.dead_letters.map((d: { intent_id: string }) => d.intent_id)).toContain(id);
  }, 30_000);

  it('a slow receiver that answers within timeout_ms is a success', async () => {
    const r = await receiver(() => delay(300, 200));
    const address = await register(r.url);
    const id = (await server.send(sender, address)).body.intent_id as string;
    const events = await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
    expect(events.filter((e) => e.event_type === 'intent.delivery_attempt')).toEqual([]);
  });

  it('a 2xx with a garbage body is still a success (the body is ignored)', async () => {
    const r = await receiver(() => ({ status: 200, headers: { 'content-type': 'application/json', 'content-length': '3' } }));
    const address = await register(r.url);
    const id = (await server.send(sender, address)).body.intent_id as string;
    await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
  });
});

describe('a healthy agent beside dead ones (HTTP-031)', () => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  async function healthyLatencies(healthy: Receiver, address: string, count: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const before = healthy.pushes.length;
      const t0 = Date.now();
      expect((await server.send(sender, address)).status).toBe(200);
      const pushes = await healthy.waitForPushes(before + 1, 10_000);
      out.push(pushes[before].at - t0);
    }
    return out;
  }

  it('keeps its delivery latency while hanging, down, slow and resetting receivers fill their own lanes', async () => {
    const healthy = await receiver(() => 200);
    const healthyAddress = await register(healthy.url, { timeout_ms: 5000 });
    const baseline = median(await healthyLatencies(healthy, healthyAddress, 15));

    // Load: 4 bad agents × 20 intents, each with a 5 s timeout, so their lanes stay full.
    const bad = [
      await register((await receiver(() => 'hang')).url, { timeout_ms: 5000, max_concurrency: 4 }),
      await register((await receiver(() => delay(4000, 200))).url, { timeout_ms: 5000, max_concurrency: 4 }),
      await register((await receiver(() => 'reset')).url, { timeout_ms: 5000, max_concurrency: 4 }),
      await register(await deadUrl(), { timeout_ms: 5000, max_concurrency: 4 }),
    ];
    await Promise.all(bad.flatMap((address) => Array.from({ length: 20 }, () => server.send(sender, address))));
    const loaded = median(await healthyLatencies(healthy, healthyAddress, 15));

    console.log(`healthy push latency: baseline median ${baseline} ms, beside misbehaving receivers ${loaded} ms`);
    // Generous: a shared lane would wait out the 5 s timeouts.
    expect(loaded).toBeLessThan(Math.max(10 * baseline, baseline + 500));
  }, 60_000);
});
