// A small AXP client written independently of client/, in plain JavaScript with fetch, driven by
// the client kit's contract (README, "Test your SDK"). Without a flaw it implements every role
// correctly; `node fetch-client.mjs <flaw>` switches on one deliberate bug, so that the tests can
// show each scenario fails for the bug it is about (test/kit-clients.test.ts). Never use it as an SDK.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

const FLAW = process.argv[2] ?? 'none';
export const FLAWS = [
  'none', 'new-key-per-retry', 'retry-4xx', 'ignore-retry-after', 'no-backoff', 'drop-problem-code',
  'observe-from-zero', 'skip-after-cut', 'timeout-as-event', 'wait-for-close', 'wait-gives-up',
  'ack-without-id', 'stale-ack', 'stop-on-409', 'no-dedupe', 'receiver-from-zero', 'wrong-delivery-id',
  'reserialize-body', 'first-entry-only', 'accept-missing-signature', 'no-timestamp-window', 'string-compare',
];
if (!FLAWS.includes(FLAW)) throw new Error(`unknown flaw ${FLAW}`);

const base = process.env.AXP_BASE_URL;
const key = process.env.AXP_API_KEY;
const out = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT'];

class ApiError extends Error {
  constructor(status, code, retryAfter) {
    super(`${status} ${code}`);
    Object.assign(this, { status, code, retryAfter });
  }
}

function retryAfterMs(value) {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function call(method, path, { body, idempotencyKey, headers = {} } = {}) {
  let res;
  try {
    res = await fetch(base + path, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (cause) {
    throw new ApiError(0, 'network_error');
  }
  const text = await res.text().catch(() => { throw new ApiError(0, 'network_error'); });
  if (res.ok) return JSON.parse(text);
  let code = 'http_error';
  try { code = JSON.parse(text).code ?? code; } catch { /* not a problem document */ }
  if (FLAW === 'drop-problem-code') code = 'http_error';
  throw new ApiError(res.status, code, retryAfterMs(res.headers.get('retry-after')));
}

/** Keyed create with bounded, growing, jittered retries that honour Retry-After. */
async function send(intent) {
  let idempotencyKey = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call('POST', '/v1/intents', { body: intent, idempotencyKey });
    } catch (error) {
      const retryable = error.status === 0 || error.status === 429 || error.status >= 500 || (FLAW === 'retry-4xx' && error.status >= 400);
      const maxAttempts = FLAW === 'no-backoff' ? 1000 : 5;
      if (!retryable || attempt >= maxAttempts) throw error;
      let delay = FLAW === 'no-backoff' ? 0 : 200 * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
      if (error.retryAfter !== undefined && FLAW !== 'ignore-retry-after') delay = Math.max(delay, Math.ceil(error.retryAfter));
      if (FLAW === 'new-key-per-retry') idempotencyKey = randomUUID();
      await sleep(delay);
    }
  }
}

/** One SSE response: yields {id, event, data} frames; throws ApiError(0) when it is cut. */
async function* sse(path, cursor) {
  const headers = { accept: 'text/event-stream', 'x-api-key': key };
  if (cursor > 0) headers['last-event-id'] = String(cursor);
  let res;
  try {
    res = await fetch(`${base}${path}`, { headers });
  } catch {
    throw new ApiError(0, 'network_error');
  }
  if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => ({}))).code ?? 'http_error');
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let at;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const frame = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [field, ...rest] = line.split(':');
          frame[field] = rest.join(':').replace(/^ /, '');
        }
        if (frame.data !== undefined) yield { id: frame.id, event: frame.event, data: JSON.parse(frame.data) };
      }
    }
  } catch {
    throw new ApiError(0, 'network_error');
  } finally {
    res.body.cancel().catch(() => undefined);
  }
}

async function observe(intentId, onEvent) {
  let cursor = 0;
  let last;
  let failures = 0;
  for (;;) {
    let cut = false;
    try {
      const from = FLAW === 'observe-from-zero' ? 0 : cursor;
      for await (const frame of sse(`/v1/intents/${intentId}/events/stream?wait_seconds=5`, from)) {
        if (frame.event === 'stream.timeout') {
          if (FLAW === 'timeout-as-event' && last) onEvent({ ...last, seq: frame.data.next_seq, event_type: 'stream.timeout' });
          break;
        }
        const event = frame.data;
        if (FLAW !== 'observe-from-zero' && event.seq <= cursor) continue;
        cursor = event.seq;
        last = event;
        onEvent(event);
        if (TERMINAL.includes(event.status) && FLAW !== 'wait-for-close') return event;
      }
      if (FLAW === 'wait-for-close' && last && TERMINAL.includes(last.status)) return last;
    } catch (error) {
      if (error.status !== 0 || ++failures > 5) throw error;
      cut = true;
      if (FLAW === 'skip-after-cut') cursor += 1;
      await sleep(100 * failures);
    }
    if (!cut) failures = 0;
  }
}

async function receive(agent, onDelivery) {
  const path = `/v1/agents/${agent.address.slice('agent://'.length)}/intents/stream?wait_seconds=5`;
  let cursor = 0;
  const handled = new Set();
  const firstDeliveryOf = new Map();
  for (;;) {
    try {
      for await (const frame of sse(path, FLAW === 'receiver-from-zero' ? 0 : cursor)) {
        if (frame.event === 'stream.timeout') {
          cursor = Math.max(cursor, frame.data.next_seq);
          continue;
        }
        const d = frame.data;
        cursor = Math.max(cursor, d.seq);
        if (handled.has(d.delivery_id) && FLAW !== 'no-dedupe') continue;
        handled.add(d.delivery_id);
        if (!firstDeliveryOf.has(d.intent_id)) firstDeliveryOf.set(d.intent_id, d.delivery_id);
        out({ type: 'delivery', intent_id: d.intent_id, delivery_id: d.delivery_id, attempt: d.attempt, seq: d.seq });
        const deliveryId = FLAW === 'stale-ack' ? firstDeliveryOf.get(d.intent_id) : d.delivery_id;
        try {
          if (onDelivery === 'complete') await call('POST', `/v1/intents/${d.intent_id}/resume`, { body: { action: 'complete', result: { handled: true }, delivery_id: FLAW === 'wrong-delivery-id' ? d.intent_id : deliveryId } });
          else await call('POST', `/v1/intents/${d.intent_id}/ack`, { body: FLAW === 'ack-without-id' ? {} : { delivery_id: deliveryId } });
        } catch (error) {
          out({ type: 'error', code: error.code, status: error.status, intent_id: d.intent_id, delivery_id: d.delivery_id });
          if (FLAW === 'stop-on-409' && error.status === 409) return;
        }
      }
    } catch (error) {
      if (error.status !== 0) throw error;
      await sleep(100);
    }
  }
}

function verify(push, toleranceSeconds) {
  const header = (name) => push.headers[name];
  const body = FLAW === 'reserialize-body' ? JSON.stringify(JSON.parse(push.body)) : push.body;
  const keys = push.secrets.map((s) => Buffer.from(s.slice('whsec_'.length), 'base64'));
  const same = (a, b) => (FLAW === 'string-compare' ? a === b : a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b)));
  const anyMatch = (entries, expected) => {
    const list = FLAW === 'first-entry-only' ? entries.slice(0, 1) : entries;
    const macs = FLAW === 'first-entry-only' ? expected.slice(0, 1) : expected;
    return list.some((entry) => macs.some((mac) => same(entry, mac)));
  };
  if (header('webhook-signature') !== undefined) {
    const id = header('webhook-id');
    const ts = header('webhook-timestamp');
    if (!id || !/^\d+$/.test(ts ?? '')) return false;
    if (FLAW !== 'no-timestamp-window' && Math.abs(Math.floor(Date.now() / 1000) - Number(ts)) > toleranceSeconds) return false;
    const expected = keys.map((k) => `v1,${createHmac('sha256', k).update(`${id}.${ts}.${body}`).digest('base64')}`);
    return anyMatch(header('webhook-signature').split(' ').filter((e) => e.startsWith('v1,')), expected);
  }
  if (header('x-axme-signature') !== undefined) {
    const expected = keys.map((k) => `sha256=${createHmac('sha256', k).update(body).digest('hex')}`);
    return anyMatch(header('x-axme-signature').split(' '), expected);
  }
  return FLAW === 'accept-missing-signature';
}

async function main() {
  if (process.env.AXP_CONFORMANCE_SCENARIO === 'capabilities') {
    out({ type: 'capabilities', roles: ['sender', 'observer', 'wait_for', 'receiver', 'webhook_verifier'], webhook_schemes: ['standard-webhooks', 'axme'], sdk: `fetch-client (flaw: ${FLAW})` });
    return;
  }
  const ctx = JSON.parse(process.env.AXP_SCENARIO_CONTEXT);
  switch (ctx.action) {
    case 'send':
      try {
        out({ type: 'sent', intent_id: (await send(ctx.intent)).intent_id });
      } catch (error) {
        out({ type: 'error', code: error.code, status: error.status });
      }
      break;
    case 'observe':
      await observe(ctx.intent_id, (e) => out({ type: 'event', seq: e.seq, event_type: e.event_type, status: e.status }));
      break;
    case 'wait':
      try {
        if (FLAW === 'wait-gives-up') {
          const answer = await call('GET', `/v1/intents/${ctx.intent_id}?wait_seconds=20`);
          out({ type: 'terminal', intent_id: ctx.intent_id, status: answer.status });
        } else {
          const last = await observe(ctx.intent_id, () => undefined);
          out({ type: 'terminal', intent_id: ctx.intent_id, status: last.status });
        }
      } catch (error) {
        out({ type: 'error', code: error.code, status: error.status });
      }
      break;
    case 'receive':
      await receive(ctx.agent, ctx.on_delivery);
      return;
    case 'verify':
      for (const push of ctx.webhooks) out({ type: 'verdict', id: push.id, valid: verify(push, ctx.tolerance_seconds ?? 300) });
      break;
  }
  out({ type: 'done' });
}

main().catch((error) => {
  process.stderr.write(`fetch-client: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
