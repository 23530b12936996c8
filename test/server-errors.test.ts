// ERR-*: every bad-input class answers problem+json from the one table, and changes nothing.
import { readFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemas, validate } from '../schemas/index.js';
import { ERRORS } from '../reference-server/errors.js';
import { drainRequest } from '../reference-server/http-plumbing.js';
import { STORE_KINDS, startServer, startWithSender, uniqueAddress, type TestServer } from './helpers/server.js';

describe('the error table', () => {
  it('matches the problem schema enum exactly', () => {
    const codeEnum = (schemas.problem.properties.code as { enum: string[] }).enum;
    expect(Object.keys(ERRORS).sort()).toEqual([...codeEnum].sort());
  });

  it('matches the code table of spec/13-errors.md, status for status', () => {
    const file = new URL('../spec/13-errors.md', import.meta.url);
    if (!existsSync(file)) return;
    const rows = [...readFileSync(file, 'utf8').matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status])));
  });
});

describe('drainRequest', () => {
  const body = () => Readable.from([Buffer.alloc(10), Buffer.alloc(10), Buffer.alloc(10)]) as unknown as IncomingMessage;
  it('reads a body within its bounds to the end', async () => {
    expect(await drainRequest(body(), 30, 5_000)).toBe(true);
  });
  it('gives up past its byte bound, so the connection closes', async () => {
    expect(await drainRequest(body(), 15, 5_000)).toBe(false);
  });
});

describe.each(STORE_KINDS)('bad input (%s store)', (kind) => {
  let server: TestServer;
  let senderKey: string;
  let receiver: string;
  beforeAll(async () => {
    ({ server, senderKey } = await startWithSender(kind));
    receiver = uniqueAddress('poll');
    await server.registerAgent(receiver, { binding: 'poll' });
  });
  afterAll(async () => { await server.dispose(); });

  const count = async () => (await server.request('GET', '/v1/intents?role=sender&limit=500', { key: senderKey })).body.intents.length as number;

  async function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(validate('problem', res.body)).toEqual({ ok: true });
  }

  const valid = () => ({ intent_type: 'test.work.v1', to_agent: receiver, payload: { n: 1 } });

  it.each([
    ['malformed JSON', { rawBody: '{"intent_type":', headers: { 'content-type': 'application/json' } }, 400, 'malformed_json'],
    ['wrong content type', { rawBody: 'hello', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
    ['body over 1 MiB', { rawBody: JSON.stringify({ ...valid(), payload: { s: 'x'.repeat(1_100_000) } }), headers: { 'content-type': 'application/json' } }, 413, 'payload_too_large'],
    ['payload over 128 KiB', { body: { ...valid(), payload: { s: 'x'.repeat(131_073) } } }, 413, 'payload_too_large'],
    ['schema-invalid body', { body: { intent_type: 'Bad Type', to_agent: 'agent://x', payload: [] } }, 422, 'validation_failed'],
    ['deadline_at and ttl_seconds together', { body: { ...valid(), deadline_at: '2030-01-01T00:00:00Z', ttl_seconds: 5 } }, 422, 'validation_failed'],
    ['missing body', { headers: { 'content-type': 'application/json' } }, 422, 'validation_failed'],
  ])('refuses %s and creates nothing', async (_name, options, status, code) => {
    const before = await count();
    const res = await server.request('POST', '/v1/intents', { key: senderKey, ...(options as object) });
    await expectProblem(res, status as number, code as string);
    expect(await count()).toBe(before);
  });

  // RFC 9112 §9.6: a 413 sent before the body is read, then a close with unread bytes, makes the
  // kernel reset the connection, and a client still writing can lose the 413 (EPIPE). The server
  // reads the body to its end first, so the connection even stays usable for the next request.
  it('reads an oversized body to its end before the 413, keeping the connection', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 'a');
    const { port } = new URL(server.url);
    const exchange = await new Promise<{ text: string; error?: string }>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      let error: string | undefined;
      socket.on('data', (chunk) => { text += chunk.toString('latin1'); });
      socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code ?? err.message; });
      socket.on('close', () => resolve({ text, error }));
      socket.write(`POST /v1/intents HTTP/1.1\r\nhost: test\r\nx-api-key: ${senderKey}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
      socket.write(body);
      socket.end('GET /health HTTP/1.1\r\nhost: test\r\n\r\n');
    });
    expect(exchange.error).toBeUndefined();
    expect([...exchange.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))).toEqual([413, 200]);
    expect(exchange.text).toContain('"code":"payload_too_large"');
  });

  it('locates schema violations with JSON pointers', async () => {
    const res = await server.request('POST', '/v1/intents', { key: senderKey, body: { intent_type: 'test.work.v1', payload: {}, bogus: 1 } });
    await expectProblem(res, 422, 'validation_failed');
    expect(res.body.errors).toEqual(expect.arrayContaining([
      expect.objectContaining({ pointer: '/to_agent', keyword: 'required', location: 'body' }),
      expect.objectContaining({ pointer: '/bogus', keyword: 'additionalProperties', location: 'body' }),
    ]));
  });

  it.each([
    ['/v1/intents?limit=0'], ['/v1/intents?limit=501'], ['/v1/intents?unknown=1'], ['/v1/intents?status=NOPE'],
  ])('validates query %s with location query', async (url) => {
    const res = await server.request('GET', url, { key: senderKey });
    await expectProblem(res, 422, 'validation_failed');
    expect(res.body.errors[0].location).toBe('query');
  });

  it('validates wait_seconds and since on SSE routes', async () => {
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    await expectProblem(await server.request('GET', `/v1/intents/${id}/events/stream?wait_seconds=61`, { key: senderKey }), 422, 'validation_failed');
    await expectProblem(await server.request('GET', `/v1/intents/${id}/events?since=-1`, { key: senderKey }), 422, 'validation_failed');
  });

  it('answers unknown routes 404 and wrong methods 405 with Allow', async () => {
    await expectProblem(await server.request('GET', '/v1/nothing-here'), 404, 'not_found');
    const res = await server.request('DELETE', '/v1/intents');
    await expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toBe('POST, GET');
  });

  it('answers 404 intent_not_found for an unknown intent and a bad address in a path', async () => {
    await expectProblem(await server.request('GET', `/v1/intents/${crypto.randomUUID()}`, { key: senderKey }), 404, 'intent_not_found');
    await expectProblem(await server.request('GET', '/v1/agents/UPPER/case'), 422, 'validation_failed');
  });

  it('answers 409 illegal_transition and stale_delivery without changing the intent', async () => {
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    await expectProblem(await server.request('POST', `/v1/intents/${id}/ack`), 409, 'illegal_transition');
    await expectProblem(await server.request('POST', `/v1/intents/${id}/ack`, { body: { delivery_id: crypto.randomUUID() } }), 409, 'stale_delivery');
    const events = await server.request('GET', `/v1/intents/${id}/events`, { key: senderKey });
    expect(events.body.events).toHaveLength(2);
  });

  it('accepts an empty body on an optional-body route whatever its content type', async () => {
    const id = (await server.send(senderKey, receiver)).body.intent_id;
    const res = await server.request('POST', `/v1/intents/${id}/cancel`, { key: senderKey, rawBody: '', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(200);
  });

  it('answers 404 agent_not_found in strict-address mode', async () => {
    const strict = await startServer(kind, { strictAddresses: true });
    try {
      await expectProblem(await strict.send(ADMIN(), uniqueAddress('nobody')), 404, 'agent_not_found');
    } finally {
      await strict.dispose();
    }
  });
});

function ADMIN(): string {
  return 'test-admin-key-0123456789';
}
