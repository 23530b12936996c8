// PROP-001 and PROP-002: generated create bodies. Every valid body (any shape the schema allows,
// unicode, nesting, payloads up to the advertised limit) is accepted and stored as sent; every
// mutation is refused with its rule's status and code, never a 5xx, and creates nothing.

import type { CaseContext, ConformanceCase, HttpResponse, RegisteredAgent } from '../case.js';
import { canonicalize } from '../wire/idempotency.js';
import { createBodyArb, limitsFrom, type CreateBody } from './arbitraries.js';
import { checkProperty, RunLog, type PropertyPlan } from './harness.js';
import { mutationArb, type Mutation } from './mutations.js';
import { CaseFailure } from '../case.js';

const PLACEHOLDER = 'agent://kit/placeholder';

function fail(log: RunLog, message: string, expected?: unknown, actual?: unknown): never {
  log.add(`FAILED: ${message}`);
  throw new CaseFailure(message, expected, actual);
}

async function post(ctx: CaseContext, log: RunLog, sender: RegisteredAgent, m: { json?: unknown; raw?: string; contentType?: string; idempotencyKey?: string }): Promise<HttpResponse> {
  const headers: Record<string, string> = { 'content-type': m.contentType ?? 'application/json' };
  if (m.idempotencyKey !== undefined) headers['idempotency-key'] = m.idempotencyKey;
  const res = await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: m.raw === undefined ? m.json : undefined, raw: m.raw, headers });
  const sent = m.raw ?? JSON.stringify(m.json);
  log.add(`POST /v1/intents (${Buffer.byteLength(sent ?? '')} bytes${m.contentType ? `, ${m.contentType}` : ''}${m.idempotencyKey !== undefined ? `, Idempotency-Key ${JSON.stringify(m.idempotencyKey)}` : ''}) → ${res.status} ${res.text.slice(0, 300)}`);
  if (res.status >= 500) fail(log, `POST /v1/intents answered ${res.status}: no input may yield a 5xx (ERR-007)`, '< 500', res.body ?? res.text.slice(0, 300));
  return res;
}

function placed(body: CreateBody, address: string): CreateBody {
  return JSON.parse(JSON.stringify(body).split(PLACEHOLDER).join(address)) as CreateBody;
}

const VALID: PropertyPlan = { caseId: 'PROP-001', runs: 60, deepRuns: 600, budgetMs: 2_500 };

const validCase: ConformanceCase = {
  id: 'PROP-001',
  group: 'PROP',
  title: 'every create body the schema allows (unicode, nesting, payloads up to max_payload_bytes) is accepted and stored as sent',
  level: 'MUST',
  requirements: ['INT-001', 'INT-004', 'INT-005', 'INT-007', 'INT-012', 'INT-014', 'LC-004', 'ERR-007', 'TERM-012', 'RES-020'],
  needsAdmin: true,
  needsCapabilities: ['binding.poll'],
  timeoutMs: 60_000,
  async run(ctx) {
    const limits = limitsFrom(ctx.capabilities);
    const sender = await ctx.agent({ role: 'sender', delivery: { binding: 'poll' } });
    const worker = await ctx.agent({ role: 'worker', delivery: { binding: 'poll' } });
    const policyAttempts = Number(worker.delivery.max_delivery_attempts ?? 3);
    await checkProperty(ctx, VALID, createBodyArb({ toAgent: PLACEHOLDER, limits }), async (generated, log) => {
      const body = placed(generated, worker.address);
      const res = await post(ctx, log, sender, { json: body });
      if (res.status !== 200) fail(log, `a schema-valid body was refused ${res.status} ${res.body?.code ?? ''} (INT-001, INT-012)`, 200, res.body ?? res.text.slice(0, 500));
      const intent = res.body.intent as Record<string, unknown>;
      const same = (field: string) => {
        if (body[field] !== undefined && canonicalize(intent[field]) !== canonicalize(body[field])) fail(log, `the stored ${field} differs from the one sent (INT-001)`, body[field], intent[field]);
      };
      for (const f of ['intent_type', 'to_agent', 'payload', 'correlation_id', 'reply_to', 'escalate_to', 'human_task', 'metadata', 'remind_after_seconds', 'remind_interval_seconds', 'max_reminders']) same(f);
      if (intent.from_agent !== sender.address) fail(log, `from_agent must be the sender's address, whatever the body says (INT-004)`, sender.address, intent.from_agent);
      if (intent.status === 'CREATED') fail(log, 'the create answer shows CREATED (LC-004)', 'SUBMITTED or later', intent.status);
      const attempts = body.max_delivery_attempts ?? policyAttempts;
      if (intent.max_delivery_attempts !== attempts) fail(log, `max_delivery_attempts must be the intent's own or the receiver's (INT-014)`, attempts, intent.max_delivery_attempts);
      const deadline = Date.parse(String(intent.deadline_at));
      if (typeof body.deadline_at === 'string' && deadline !== Date.parse(body.deadline_at)) fail(log, 'deadline_at must be stored as sent', body.deadline_at, intent.deadline_at);
      if (typeof body.ttl_seconds === 'number' && deadline !== Date.parse(String(intent.created_at)) + body.ttl_seconds * 1000) {
        fail(log, 'ttl_seconds must be stored as deadline_at = created_at + ttl_seconds (INT-007)', body.ttl_seconds * 1000, deadline - Date.parse(String(intent.created_at)));
      }
      // Leave no reminders or deadlines behind to fire in later cases' clock moves (LC-015).
      const cancel = await ctx.request({ method: 'POST', path: `/v1/intents/${String(intent.intent_id)}/cancel`, key: sender.key, json: { reason: 'property run done' } });
      if (cancel.status !== 200) fail(log, `canceling the accepted intent answered ${cancel.status} (RES-020)`, 200, cancel.body);
    });
  },
};

const INVALID: PropertyPlan = { caseId: 'PROP-002', runs: 80, deepRuns: 800, budgetMs: 2_500 };

/** The refusal a mutation must get, with the 422 error list pointing at the broken rule (ERR-006). */
function checkRefusal(log: RunLog, m: Mutation, res: HttpResponse): void {
  if (res.status !== m.expect.status || res.body?.code !== m.expect.code) {
    fail(log, `breaking ${m.rule} must be answered ${m.expect.status} ${m.expect.code} (${m.requirements.join(', ')}), got ${res.status} ${res.body?.code ?? ''}`, m.expect, { status: res.status, body: res.body ?? res.text.slice(0, 300) });
  }
  if (m.expect.code !== 'validation_failed' || !m.pointers) return;
  const errors = Array.isArray(res.body.errors) ? (res.body.errors as Array<{ pointer?: string; location?: string }>) : [];
  if (!errors.some((e) => m.pointers!.includes(String(e.pointer)) && e.location === 'body')) {
    fail(log, `the 422 for ${m.rule} must list an error at ${m.pointers.join(' or ')} (location body) (ERR-006)`, m.pointers, errors);
  }
}

const invalidCase: ConformanceCase = {
  id: 'PROP-002',
  group: 'PROP',
  title: 'every mutation of a valid create body is refused with its rule\'s status and code (400/413/415/422), never a 5xx, and creates nothing',
  level: 'MUST',
  requirements: ['INT-003', 'INT-006', 'INT-007', 'INT-008', 'INT-009', 'INT-010', 'INT-011', 'IDEM-005', 'ERR-006', 'ERR-007', 'ERR-008', 'ERR-009', 'ERR-010', 'TERM-002', 'TERM-015', 'INTL-011'],
  needsAdmin: true,
  needsCapabilities: ['binding.poll'],
  timeoutMs: 60_000,
  async run(ctx) {
    const limits = limitsFrom(ctx.capabilities);
    const worker = await ctx.agent({ role: 'worker', delivery: { binding: 'poll' } });
    const small = createBodyArb({ toAgent: PLACEHOLDER, limits: { ...limits, maxPayloadBytes: Math.min(limits.maxPayloadBytes, 2048) } });
    await checkProperty(ctx, INVALID, mutationArb(small, limits), async (mutation, log) => {
      // A fresh sender per run: "nothing was created" then speaks of this run alone.
      const sender = await ctx.agent({ role: 'sender', delivery: { binding: 'poll' } });
      log.add(`mutation ${mutation.rule} (${mutation.layer}), expecting ${mutation.expect.status} ${mutation.expect.code}`);
      const m: Mutation = { ...mutation, json: mutation.json === undefined ? undefined : placed(mutation.json as CreateBody, worker.address), raw: mutation.raw?.split(PLACEHOLDER).join(worker.address) };
      checkRefusal(log, m, await post(ctx, log, sender, m));
      const list = await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { role: 'sender', limit: 1 } });
      const created = (list.body?.intents as unknown[] | undefined)?.length ?? -1;
      if (list.status !== 200 || created !== 0) fail(log, `a refused create left ${created} intent(s) behind (ERR-008)`, 0, list.body);
    });
  },
};

export const inputCases: ConformanceCase[] = [validCase, invalidCase];
