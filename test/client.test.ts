// The reference client (client/) against the reference server: sends, reads, listens on both pull
// bindings, observes across reconnects, waits, and retries only what carries an Idempotency-Key.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxpClient, AxpError, verifyWebhook, type Delivery, type Event } from '../client/index.js';
import { ADMIN_KEY, startServer, uniqueAddress, type TestServer } from './helpers/server.js';

let server: TestServer;
let admin: AxpClient;

/** A dispatcher that records every request (method, path, headers) the client makes. */
function recordingDispatcher(seen: Dispatcher.DispatchOptions[]): Dispatcher {
  return new Agent().compose((dispatch) => (options, handler) => {
    seen.push(options);
    return dispatch(options, handler);
  });
}

async function agentClient(binding: 'stream' | 'poll', extra: Record<string, unknown> = {}): Promise<{ address: string; key: string; client: AxpClient }> {
  const address = uniqueAddress(binding);
  const { api_key } = await admin.registerAgent(address, { binding, ...extra });
  return { address, key: api_key as string, client: admin.withKey(api_key as string) };
}

beforeAll(async () => {
  server = await startServer('memory');
  admin = new AxpClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
});

afterAll(async () => {
  await server?.dispose();
});

describe('AxpClient basics', () => {
  it('health and capabilities need no key', async () => {
    const anonymous = new AxpClient({ baseUrl: server.url });
    expect(await anonymous.health()).toMatchObject({ ok: true });
    expect((await anonymous.capabilities()).capabilities).toContain('binding.stream');
  });

  it('sends with an Idempotency-Key by default; the same key replays the same intent', async () => {
    const seen: Dispatcher.DispatchOptions[] = [];
    const { address } = await agentClient('stream');
    const sender = new AxpClient({ baseUrl: server.url, apiKey: ADMIN_KEY, dispatcher: recordingDispatcher(seen) });
    const first = await sender.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: { n: 1 } });
    const headers = seen[0].headers as Record<string, string>;
    expect(headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    const again = await sender.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: { n: 1 } }, { idempotencyKey: headers['idempotency-key'] });
    expect(again.intent_id).toBe(first.intent_id);
    const other = await sender.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: { n: 1 } });
    expect(other.intent_id).not.toBe(first.intent_id);
  });

  it('raises problems as AxpError with code and status', async () => {
    const error = await admin.getIntent('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxpError);
    expect(error).toMatchObject({ status: 404, code: 'intent_not_found' });
    const unauthorized = await new AxpClient({ baseUrl: server.url, apiKey: 'axp_wrong' }).listEvents('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(unauthorized).toMatchObject({ status: 401, code: 'unauthorized' });
  });
});

describe('listen, resume and waitFor', () => {
  it.each(['stream', 'poll'] as const)('%s: deliveries arrive, resume completes, waitFor returns the result', async (binding) => {
    const { address, client: worker } = await agentClient(binding);
    const stop = new AbortController();
    const received: Delivery[] = [];
    const worked = (async () => {
      for await (const delivery of worker.listen(address, { binding, waitSeconds: 2, signal: stop.signal })) {
        received.push(delivery);
        await worker.resume(delivery.intent_id, { action: 'complete', result: { echoed: delivery.payload.n } });
      }
    })();
    const sent = await admin.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: { n: 7 } });
    const intent = await admin.waitFor(sent.intent_id, { timeoutMs: 10_000 });
    stop.abort();
    await worked;
    expect(intent).toMatchObject({ status: 'COMPLETED', result: { echoed: 7 } });
    expect(received.map((d) => [d.intent_id, d.attempt])).toEqual([[sent.intent_id, 1]]);
  });

  it('stream listen reconnects with its cursor after each bounded response', async () => {
    const { address, key } = await agentClient('stream');
    let reconnected!: () => void;
    const secondStream = new Promise<void>((resolve) => (reconnected = resolve));
    const paths: string[] = [];
    const worker = new AxpClient({
      baseUrl: server.url, apiKey: key,
      dispatcher: new Agent().compose((dispatch) => (options, handler) => {
        if (options.path.includes('/intents/stream')) {
          paths.push(options.path);
          if (paths.length === 2) reconnected();
        }
        return dispatch(options, handler);
      }),
    });
    const first = await admin.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: { n: 1 } });
    const stop = new AbortController();
    const seen: Delivery[] = [];
    let second: string | undefined;
    for await (const delivery of worker.listen(address, { waitSeconds: 1, signal: stop.signal })) {
      seen.push(delivery);
      await worker.resume(delivery.intent_id, { action: 'complete' });
      if (seen.length === 1) void secondStream.then(async () => ({ intent_id: second } = await admin.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: { n: 2 } })));
      if (seen.length === 2) break;
    }
    expect(seen.map((d) => d.intent_id)).toEqual([first.intent_id, second]);
    expect(seen[1].seq).toBeGreaterThan(seen[0].seq);
    expect(paths[1]).toContain(`since=${seen[0].seq}`);
  });

  it('listen with ack, then listEvents and getIntent show the lifecycle', async () => {
    const { address, client: worker } = await agentClient('stream');
    const sent = await admin.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: {} });
    const stop = new AbortController();
    for await (const delivery of worker.listen(address, { signal: stop.signal })) {
      await worker.ack(delivery.intent_id, delivery.delivery_id);
      break;
    }
    expect((await worker.getIntent(sent.intent_id)).status).toBe('ACKNOWLEDGED');
    const types = (await admin.listEvents(sent.intent_id)).map((e) => e.event_type);
    expect(types).toEqual(['intent.created', 'intent.submitted', 'intent.delivered', 'intent.acknowledged']);
    await worker.resolve(sent.intent_id, { status: 'FAILED', error: { code: 'out_of_stock' } });
    expect((await admin.getIntent(sent.intent_id, { waitSeconds: 1 })).intent.error).toEqual({ code: 'out_of_stock' });
  });

  it('waitFor gives up with wait_timeout; cancel ends the intent', async () => {
    const { address } = await agentClient('poll');
    const sent = await admin.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: {} });
    await expect(admin.waitFor(sent.intent_id, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'wait_timeout' });
    const canceled = await admin.cancel(sent.intent_id, 'no longer needed');
    expect(canceled.intent.status).toBe('CANCELED');
    expect((await admin.waitFor(sent.intent_id, { timeoutMs: 5_000 })).status).toBe('CANCELED');
  });
});

describe('inbox calls', () => {
  it('list, get, approve, reject and reply follow the task rules', async () => {
    const address = uniqueAddress('approvals');
    const { api_key } = await admin.registerAgent(address, { binding: 'inbox' });
    const human = admin.withKey(api_key as string);
    const send = async (title: string, extra: Record<string, unknown> = {}) => {
      const { intent_id } = await admin.sendIntent({ intent_type: 'test.approve.v1', to_agent: address, payload: {}, human_task: { title, task_type: 'approval', ...extra } });
      for await (const event of admin.observe(intent_id, { waitSeconds: 5 })) if (event.event_type === 'intent.human_task_assigned') break;
      return intent_id;
    };
    const plain = await send('plain');
    const strict = await send('strict', { allowed_outcomes: ['approved', 'rejected'], required_comment: true });
    const asked = await send('question');

    expect((await human.inbox.list({ open: true })).map((t) => t.thread_id).sort()).toEqual([plain, strict, asked].sort());
    expect((await human.inbox.get(strict)).human_task?.required_comment).toBe(true);

    await expect(human.inbox.approve(strict)).rejects.toMatchObject({ status: 422, code: 'comment_required' });
    await expect(human.inbox.approve(strict, { outcome: 'maybe', comment: 'hm' })).rejects.toMatchObject({ status: 422, code: 'outcome_not_allowed' });
    const rejected = await human.inbox.reject(strict, { comment: 'over budget' });
    expect(rejected.intent).toMatchObject({ status: 'FAILED', error: { code: 'task_rejected' } });

    expect((await human.inbox.approve(plain)).intent.result).toEqual({ task_result: { outcome: 'approved' } });
    await expect(human.inbox.approve(plain)).rejects.toMatchObject({ status: 409, code: 'thread_closed' });

    const replied = await human.inbox.reply(asked, 'yes, go ahead');
    expect(replied.intent.result).toMatchObject({ task_result: { outcome: 'replied', comment: 'yes, go ahead' } });
    expect(await human.inbox.list({ open: true })).toEqual([]);
  });
});

describe('observe', () => {
  it('reconnects with its cursor across bounded SSE responses: no gap, no duplicate', async () => {
    const seen: Dispatcher.DispatchOptions[] = [];
    let secondStream!: () => void;
    const secondStreamOpened = new Promise<void>((resolve) => (secondStream = resolve));
    const observer = new AxpClient({
      baseUrl: server.url, apiKey: ADMIN_KEY,
      dispatcher: new Agent().compose((dispatch) => (options, handler) => {
        seen.push(options);
        if (seen.filter((o) => o.path.includes('/events/stream')).length === 2) secondStream();
        return dispatch(options, handler);
      }),
    });
    const { address, client: worker } = await agentClient('poll');
    const sent = await admin.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: {} });
    // Move the intent on only once a whole response has ended, so the rest comes on a new one.
    const work = secondStreamOpened.then(async () => {
      await worker.poll(address);
      await worker.resume(sent.intent_id, { action: 'complete', result: {} });
    });
    const events: Event[] = [];
    for await (const event of observer.observe(sent.intent_id, { waitSeconds: 1 })) events.push(event);
    await work;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.event_type)).toEqual(['intent.created', 'intent.submitted', 'intent.delivered', 'intent.completed']);
    const streamPaths = seen.filter((o) => o.path.includes('/events/stream')).map((o) => o.path);
    expect(streamPaths[1]).toContain('since=2');
  });

  it('ends at once on an intent that is already terminal', async () => {
    const { address } = await agentClient('poll');
    const sent = await admin.sendIntent({ intent_type: 'test.work.v1', to_agent: address, payload: {} });
    await admin.cancel(sent.intent_id);
    const events: Event[] = [];
    for await (const event of admin.observe(sent.intent_id, { since: 3, waitSeconds: 1 })) events.push(event);
    expect(events).toEqual([]);
  });
});

describe('retries', () => {
  let fake: Server;
  let fakeUrl: string;
  let answers: Array<{ status: number; headers?: Record<string, string>; body?: unknown } | 'drop'> = [];
  let requests = 0;

  beforeAll(async () => {
    fake = createServer((req, res) => {
      requests += 1;
      req.resume().on('end', () => {
        const next = answers.shift() ?? { status: 200, body: { ok: true, intent_id: 'x', status: 'SUBMITTED', intent: {} } };
        if (next === 'drop') return req.socket.destroy();
        const problem = next.status >= 400 ? { type: 'about:blank', title: 'x', status: next.status, code: next.status === 429 ? 'rate_limited' : next.status === 422 ? 'validation_failed' : 'overloaded' } : undefined;
        res.writeHead(next.status, { 'content-type': problem ? 'application/problem+json' : 'application/json', ...next.headers });
        res.end(JSON.stringify(next.body ?? problem));
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => fake.close(resolve));
  });

  const body = { intent_type: 'test.work.v1', to_agent: 'agent://test/x', payload: {} };

  it('retries 503, 429 and dropped connections when the request carries an Idempotency-Key, honouring Retry-After', async () => {
    const delays: number[] = [];
    const client = new AxpClient({ baseUrl: fakeUrl, apiKey: 'k', retry: { initialDelayMs: 10, maxAttempts: 4 }, onRetry: ({ delayMs }) => delays.push(delayMs) });
    requests = 0;
    answers = [{ status: 503 }, { status: 429, headers: { 'retry-after': '1' } }, 'drop'];
    const answer = await client.sendIntent(body);
    expect(answer.ok).toBe(true);
    expect(requests).toBe(4);
    expect(delays).toHaveLength(3);
    expect(delays[1]).toBeGreaterThanOrEqual(1000);
  });

  it('gives up after maxAttempts with the last problem', async () => {
    const client = new AxpClient({ baseUrl: fakeUrl, retry: { initialDelayMs: 1, maxAttempts: 2 } });
    requests = 0;
    answers = [{ status: 503 }, { status: 503 }, { status: 503 }];
    await expect(client.sendIntent(body)).rejects.toMatchObject({ status: 503, code: 'overloaded' });
    expect(requests).toBe(2);
  });

  it('gives the error back instead of retrying before a Retry-After longer than its longest delay (CLI-005)', async () => {
    const client = new AxpClient({ baseUrl: fakeUrl, retry: { initialDelayMs: 1, maxDelayMs: 500 } });
    requests = 0;
    answers = [{ status: 503, headers: { 'retry-after': '30' } }, { status: 503 }];
    await expect(client.sendIntent(body)).rejects.toMatchObject({ status: 503, code: 'overloaded', retryAfterSeconds: 30 });
    expect(requests).toBe(1);
  });

  it('never retries without an Idempotency-Key, nor a 4xx with one', async () => {
    const client = new AxpClient({ baseUrl: fakeUrl, retry: { initialDelayMs: 1 } });
    requests = 0;
    answers = [{ status: 503 }];
    await expect(client.sendIntent(body, { idempotencyKey: false })).rejects.toMatchObject({ status: 503 });
    expect(requests).toBe(1);
    answers = ['drop'];
    await expect(client.ack('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 0, code: 'network_error' });
    expect(requests).toBe(2);
    answers = [{ status: 422 }];
    await expect(client.sendIntent(body)).rejects.toMatchObject({ status: 422, code: 'validation_failed' });
    expect(requests).toBe(3);
  });
});

describe('verifyWebhook', () => {
  interface SignatureVector { name: string; secrets: string[]; webhook_id: string; timestamp: number; body: string; expected: Record<string, string> }
  interface NearMiss { name: string; secret: string; headers: Record<string, string>; body: string; now: number; tolerance_seconds: number }
  const vectors = JSON.parse(readFileSync(new URL('../fixtures/vectors/signatures.json', import.meta.url), 'utf8')) as { cases: SignatureVector[]; near_misses: NearMiss[] };

  it.each(vectors.cases)('verifies the vector $name with each scheme and each secret', (v) => {
    const common = { 'webhook-id': v.webhook_id, 'webhook-timestamp': String(v.timestamp) };
    for (const secret of v.secrets) {
      expect(verifyWebhook({ secrets: secret, headers: { ...common, 'webhook-signature': v.expected['webhook-signature'] }, body: v.body, nowMs: v.timestamp * 1000 })).toEqual({ ok: true, scheme: 'standard-webhooks' });
      expect(verifyWebhook({ secrets: [secret], headers: { 'x-axme-signature': v.expected['x-axme-signature'] }, body: v.body })).toEqual({ ok: true, scheme: 'axme' });
    }
  });

  it.each(vectors.near_misses)('refuses the near miss $name', (v) => {
    expect(verifyWebhook({ secrets: v.secret, headers: v.headers, body: v.body, nowMs: v.now * 1000, toleranceSeconds: v.tolerance_seconds }).ok).toBe(false);
  });

  it('refuses a push without a signature header, and one outside the 5-minute window by default', () => {
    const v = vectors.cases[0];
    expect(verifyWebhook({ secrets: v.secrets, headers: { 'webhook-id': v.webhook_id }, body: v.body })).toEqual({ ok: false, reason: 'missing_signature' });
    const headers = { 'webhook-id': v.webhook_id, 'webhook-timestamp': String(v.timestamp), 'webhook-signature': v.expected['webhook-signature'] };
    expect(verifyWebhook({ secrets: v.secrets, headers, body: v.body, nowMs: (v.timestamp + 301) * 1000 })).toEqual({ ok: false, reason: 'timestamp_out_of_window' });
    expect(verifyWebhook({ secrets: v.secrets, headers, body: v.body, nowMs: (v.timestamp - 300) * 1000 }).ok).toBe(true);
  });
});
