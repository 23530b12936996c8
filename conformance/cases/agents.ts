// Chapter 2: agent registration, reading agents, delivery policy, unregistered receivers.
import { NotApplicable, type CaseContext, type HttpResponse } from '../case.js';
import deliveryPolicy from '../../schemas/delivery-policy.schema.json' with { type: 'json' };
import {
  agent, callbackRefused, check, containsToken, equal, needs, fastPolicy, getIntent, group, hasCapability, httpReceiver, intentBody, limits, ok, parkedCallbackUrl, PARKED_PUBLIC_URL, passTime, poll, pollFor, problem, send, validationError,
} from './support.js';
import { pair } from './flows.js';

const API_KEY = /^axp_[A-Za-z0-9_-]{20,}$/;
const SECRET = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;
/** Any URL for a field the server must refuse before it looks at the URL (a url on a poll agent). */
const UNUSED_URL = PARKED_PUBLIC_URL;

/** PUT of an http agent at a parked callback URL; not applicable when the target refuses the URL. */
async function putHttp(ctx: CaseContext, path: string, delivery: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ res: HttpResponse; url: string }> {
  const url = await parkedCallbackUrl(ctx);
  const res = await put(ctx, path, { delivery: { binding: 'http', url, ...delivery }, ...extra });
  callbackRefused(res, url);
  return { res, url };
}

function put(ctx: CaseContext, path: string, body: unknown, key = ctx.adminKey): Promise<HttpResponse> {
  return ctx.request({ method: 'PUT', path: `/v1/agents/${path}`, key, json: body, expectSchema: 'agent-registration-response' });
}

function getAgent(ctx: CaseContext, path: string, key: string | undefined): Promise<HttpResponse> {
  return ctx.request({ method: 'GET', path: `/v1/agents/${path}`, key, expectSchema: 'agent-response' });
}

async function expectAbsent(ctx: CaseContext, path: string, what: string): Promise<void> {
  problem(await getAgent(ctx, path, ctx.adminKey), 404, 'agent_not_found', `${what}: the agent must not exist afterwards (ERR-008)`);
}

const admin = { needsAdmin: true } as const;
const pollCap = needs('binding.poll');

export const agentCases = group('AGT', [
  {
    id: 'AGT-001',
    title: 'PUT /v1/agents/{three-segment path} registers the agent and returns a working axp_ key',
    level: 'MUST',
    requirements: ['AGT-001', 'AGT-002', 'TERM-003', 'AGT-010'],
    ...pollCap,
    async run(ctx) {
      const path = `${ctx.unique('agt')}/prod/worker`;
      const body = ok(await put(ctx, path, { delivery: { binding: 'poll' } }), 'registering a new agent');
      equal(body.created, true, 'created for a new agent');
      equal(body.agent.address, `agent://${path}`, 'agent.address');
      check(API_KEY.test(body.api_key ?? ''), 'api_key must match axp_<random>', String(API_KEY), body.api_key);
      const self = ok(await getAgent(ctx, path, body.api_key), 'GET the agent with its own key');
      equal(self.agent.address, `agent://${path}`, 'GET agent address');
      ok(await ctx.request({ method: 'GET', path: `/v1/agents/${path}/intents`, key: body.api_key }), 'poll on the three-segment path (TERM-003)');
    },
  },
  {
    id: 'AGT-002',
    title: 'an update without rotate_key keeps the key and does not show it',
    level: 'MUST',
    requirements: ['AGT-001', 'AGT-003'],
    ...pollCap,
    async run(ctx) {
      const path = `${ctx.unique('agt')}/upd`;
      const first = ok(await put(ctx, path, { delivery: { binding: 'poll' } }), 'first registration');
      const second = ok(await put(ctx, path, { delivery: { binding: 'poll', max_delivery_attempts: 2 } }), 'update');
      equal(second.created, false, 'created on an update');
      check(second.api_key === undefined, 'an update without rotate_key must not include api_key', undefined, second.api_key);
      ok(await getAgent(ctx, path, first.api_key), 'the original key still works after the update');
      equal(second.agent.delivery.max_delivery_attempts, 2, 'updated policy value');
    },
  },
  {
    id: 'AGT-003',
    title: 'an update replaces the whole policy: omitted fields fall back to defaults',
    level: 'MUST',
    requirements: ['AGT-006', 'AGT-020'],
    ...pollCap,
    async run(ctx) {
      const path = `${ctx.unique('agt')}/replace`;
      const lease = limits(ctx).lease_seconds?.default ?? 30;
      const attempts = limits(ctx).max_delivery_attempts?.default ?? 3;
      ok(await put(ctx, path, { delivery: fastPolicy(ctx, 'poll', { max_delivery_attempts: attempts === 2 ? 1 : 2 }) }), 'registration with a custom policy');
      const after = ok(await put(ctx, path, { delivery: { binding: 'poll' } }), 'update with a bare policy');
      equal(after.agent.delivery.max_delivery_attempts, attempts, 'max_delivery_attempts after a policy without it');
      equal(after.agent.delivery.lease_seconds, lease, 'lease_seconds after a policy without it');
      equal(after.agent.delivery.initial_delay_ms, limits(ctx).initial_delay_ms?.default ?? 1000, 'initial_delay_ms after a policy without it');
    },
  },
  {
    id: 'AGT-004',
    title: 'GET /v1/agents/{address} shows the effective policy with every default filled in',
    level: 'MUST',
    requirements: ['AGT-010', 'AGT-020'],
    ...needs('binding.poll', 'binding.http'),
    async run(ctx) {
      const pollPath = `${ctx.unique('agt')}/eff`;
      ok(await put(ctx, pollPath, { delivery: { binding: 'poll' } }), 'registering a poll agent');
      const p = ok(await getAgent(ctx, pollPath, ctx.adminKey), 'admin GET of the agent').agent.delivery;
      equal({ b: p.binding, a: p.max_delivery_attempts, i: p.initial_delay_ms, m: p.max_delay_ms, x: p.multiplier, l: p.lease_seconds }, { b: 'poll', a: 3, i: 1000, m: 60000, x: 2, l: 30 }, 'effective poll policy defaults');
      const httpPath = `${ctx.unique('agt')}/effh`;
      const reg = await putHttp(ctx, httpPath, {});
      ok(reg.res, 'registering an http agent');
      const h = ok(await getAgent(ctx, httpPath, ctx.adminKey), 'admin GET of the http agent').agent.delivery;
      equal({ t: h.timeout_ms, c: h.max_concurrency, u: h.url }, { t: 15000, c: 8, u: reg.url }, 'effective http policy defaults');
    },
  },
  {
    id: 'AGT-005',
    title: 'policies violating delivery-policy are refused with 422 and register nothing',
    level: 'MUST',
    requirements: ['AGT-005', 'ERR-008', 'ERR-006'],
    ...admin,
    async run(ctx) {
      const bad: [string, Record<string, unknown>, RegExp][] = [
        ['unknown binding', { binding: 'smtp' }, /^\/delivery(\/binding)?$/],
        ['url on a poll agent', { binding: 'poll', url: UNUSED_URL }, /^\/delivery(\/url)?$/],
        ['http without url', { binding: 'http' }, /^\/delivery(\/url)?$/],
        ['timeout_ms on a stream agent', { binding: 'stream', timeout_ms: 500 }, /^\/delivery(\/timeout_ms)?$/],
        ['max_concurrency on a poll agent', { binding: 'poll', max_concurrency: 2 }, /^\/delivery(\/max_concurrency)?$/],
        ['lease_seconds 0', { binding: 'poll', lease_seconds: 0 }, /^\/delivery\/lease_seconds$/],
        ['multiplier 11', { binding: 'poll', multiplier: 11 }, /^\/delivery\/multiplier$/],
      ];
      for (const [what, delivery, pointer] of bad) {
        const path = `${ctx.unique('agt')}/bad`;
        validationError(await put(ctx, path, { delivery }), pointer, what);
        await expectAbsent(ctx, path, what);
      }
      const path = `${ctx.unique('agt')}/bad`;
      validationError(await put(ctx, path, { delivery: { binding: 'poll' }, nickname: 'x' }), /^(\/nickname)?$/, 'unknown top-level field (TERM-015)');
    },
  },
  {
    id: 'AGT-006',
    title: 'max_delay_ms below initial_delay_ms is refused pointing at /delivery/max_delay_ms',
    level: 'MUST',
    requirements: ['AGT-022'],
    ...admin,
    async run(ctx) {
      const initial = limits(ctx).initial_delay_ms?.default ?? 1000;
      const path = `${ctx.unique('agt')}/delays`;
      validationError(await put(ctx, path, { delivery: { binding: 'poll', initial_delay_ms: initial, max_delay_ms: initial - 1 } }), '/delivery/max_delay_ms', 'max_delay_ms < initial_delay_ms');
      await expectAbsent(ctx, path, 'refused policy');
    },
  },
  {
    id: 'AGT-007',
    title: 'a policy value outside the advertised limits is 422 limit_exceeded; the limit itself is accepted',
    level: 'MUST',
    requirements: ['AGT-021', 'ERR-020'],
    ...pollCap,
    async run(ctx) {
      const l = limits(ctx);
      const props = deliveryPolicy.properties as Record<string, { minimum?: number; maximum?: number; exclusiveMinimum?: number }>;
      let probed = 0;
      for (const field of ['lease_seconds', 'max_delivery_attempts', 'initial_delay_ms']) {
        const r = l[field];
        if (!r) continue;
        const bound = props[field];
        const extra = field === 'initial_delay_ms' ? { max_delay_ms: Math.max(r.max, l.max_delay_ms?.min ?? 1) } : {};
        if (field !== 'initial_delay_ms' || (l.max_delay_ms?.max ?? Infinity) >= r.max) {
          const atLimit = ok(await put(ctx, `${ctx.unique('agt')}/lim`, { delivery: { binding: 'poll', [field]: r.max, ...extra } }), `${field} = advertised max ${r.max}`);
          equal(atLimit.agent.delivery[field], r.max, `${field} stored at the advertised max`);
        }
        if (field !== 'initial_delay_ms' && bound.maximum !== undefined && r.max < bound.maximum) {
          const path = `${ctx.unique('agt')}/lim`;
          const value = Math.min(bound.maximum, r.max + 1);
          const body = problem(await put(ctx, path, { delivery: { binding: 'poll', [field]: value } }), 422, 'limit_exceeded', `${field} = ${value} above the advertised max`);
          check(JSON.stringify(body).includes(field), `limit_exceeded must name the field ${field}`, field, body);
          await expectAbsent(ctx, path, `${field} above the limit`);
          probed++;
        }
        const low = bound.minimum ?? bound.exclusiveMinimum ?? 0;
        if (r.min > low + (field === 'lease_seconds' ? 0.01 : 1)) {
          const path = `${ctx.unique('agt')}/lim`;
          const value = field === 'lease_seconds' ? Math.max(low + 0.001, r.min / 2) : r.min - 1;
          const body = problem(await put(ctx, path, { delivery: { binding: 'poll', [field]: value } }), 422, 'limit_exceeded', `${field} = ${value} below the advertised min`);
          check(JSON.stringify(body).includes(field), `limit_exceeded must name the field ${field}`, field, body);
          await expectAbsent(ctx, path, `${field} below the limit`);
          probed++;
        }
      }
      if (probed === 0) throw new NotApplicable('the advertised limits equal the protocol bounds, so no value lies between them');
    },
  },
  {
    id: 'AGT-008',
    title: 'an http agent gets a whsec_ secret once; updates omit it; rotate_secret issues a new one',
    level: 'MUST',
    requirements: ['AGT-007', 'HTTP-014', 'HTTP-012'],
    ...needs('binding.http'),
    async run(ctx) {
      const path = `${ctx.unique('agt')}/hook`;
      const first = ok((await putHttp(ctx, path, {})).res, 'registering an http agent');
      check(SECRET.test(first.secret ?? ''), 'the first http registration must include a whsec_ secret', String(SECRET), first.secret);
      const bytes = Buffer.from(String(first.secret).slice(6), 'base64');
      check(bytes.length >= 24, 'the secret must carry at least 24 bytes (HTTP-014)', '>= 24', bytes.length);
      const update = ok((await putHttp(ctx, path, { timeout_ms: 1000 })).res, 'update');
      check(update.secret === undefined, 'an update without rotate_secret must not include secret', undefined, update.secret);
      const rotated = ok((await putHttp(ctx, path, {}, { rotate_secret: true })).res, 'rotate_secret');
      check(SECRET.test(rotated.secret ?? '') && rotated.secret !== first.secret, 'rotate_secret must return a new secret', 'a new whsec_ secret', rotated.secret);
    },
  },
  {
    id: 'AGT-009',
    title: 'rotate_secret on a non-http agent is 422 pointing at /rotate_secret',
    level: 'MUST',
    requirements: ['AGT-008'],
    ...pollCap,
    async run(ctx) {
      const path = `${ctx.unique('agt')}/norot`;
      ok(await put(ctx, path, { delivery: { binding: 'poll' } }), 'registration');
      validationError(await put(ctx, path, { delivery: { binding: 'poll' }, rotate_secret: true }), '/rotate_secret', 'rotate_secret on a poll agent');
    },
  },
  {
    id: 'AGT-010',
    title: 'rotate_key returns a new key once and the previous key is refused at once',
    level: 'MUST',
    requirements: ['SEC-006', 'AGT-002'],
    ...pollCap,
    async run(ctx) {
      const path = `${ctx.unique('agt')}/rot`;
      const first = ok(await put(ctx, path, { delivery: { binding: 'poll' } }), 'registration');
      const rotated = ok(await put(ctx, path, { delivery: { binding: 'poll' }, rotate_key: true }), 'rotate_key');
      check(typeof rotated.api_key === 'string' && rotated.api_key !== first.api_key, 'rotate_key must return a new api_key', 'a new key', rotated.api_key);
      problem(await getAgent(ctx, path, first.api_key), 401, 'unauthorized', 'the previous key after rotation');
      ok(await getAgent(ctx, path, rotated.api_key), 'the new key');
    },
  },
  {
    id: 'AGT-011',
    title: 'no read answer shows an agent key or signing secret again',
    level: 'MUST',
    requirements: ['AGT-011', 'SEC-007', 'SEC-010'],
    ...needs('binding.http'),
    async run(ctx) {
      const path = `${ctx.unique('agt')}/quiet`;
      const reg = ok((await putHttp(ctx, path, {})).res, 'registration');
      for (const [who, key] of [['admin', ctx.adminKey], ['itself', reg.api_key]] as const) {
        const res = await getAgent(ctx, path, key);
        ok(res, `GET agent as ${who}`);
        check(!containsToken(res.text, reg.api_key), `GET agent as ${who} reveals the API key`, 'no key', 'key present');
        check(!containsToken(res.text, reg.secret) && !containsToken(res.text, String(reg.secret).slice(6)), `GET agent as ${who} reveals the signing secret`, 'no secret', 'secret present');
      }
      const update = (await putHttp(ctx, path, {})).res;
      check(!containsToken(update.text, reg.api_key) && !containsToken(update.text, reg.secret), 'a plain update reveals the key or secret', 'neither', update.text.slice(0, 200));
    },
  },
  {
    id: 'AGT-012',
    title: 'GET of an unknown agent is 404 agent_not_found; another agent\'s address is 403',
    level: 'MUST',
    requirements: ['AGT-012'],
    ...pollCap,
    async run(ctx) {
      problem(await getAgent(ctx, `${ctx.unique('agt')}/nobody`, ctx.adminKey), 404, 'agent_not_found', 'GET unknown agent (admin)');
      const a = await agent(ctx, 'a', 'poll');
      const b = await agent(ctx, 'b', 'poll');
      problem(await getAgent(ctx, b.path, a.key), 403, 'forbidden', 'GET another agent with an agent key');
    },
  },
  {
    id: 'AGT-013',
    title: 'an agent key cannot register or update agents (403) and changes nothing',
    level: 'MUST',
    requirements: ['AGT-004', 'SEC-003', 'ERR-008'],
    ...pollCap,
    async run(ctx) {
      const a = await agent(ctx, 'a', 'poll', { max_delivery_attempts: 2 });
      const path = `${ctx.unique('agt')}/intruder`;
      problem(await put(ctx, path, { delivery: { binding: 'poll' } }, a.key), 403, 'forbidden', 'agent key registering a new agent');
      await expectAbsent(ctx, path, 'agent key registration');
      problem(await put(ctx, a.path, { delivery: { binding: 'poll', max_delivery_attempts: 5 } }, a.key), 403, 'forbidden', 'agent key updating itself');
      const after = ok(await getAgent(ctx, a.path, ctx.adminKey), 'GET agent').agent.delivery;
      equal(after.max_delivery_attempts, 2, 'policy after a refused update');
    },
  },
  {
    id: 'AGT-014',
    title: 'reserved and malformed addresses are refused: system/…, wrong segment count, upper case',
    level: 'MUST',
    requirements: ['TERM-006', 'TERM-004', 'TERM-001'],
    ...admin,
    async run(ctx) {
      const seg = ctx.unique('agt');
      validationError(await put(ctx, `system/${seg}`, { delivery: { binding: 'poll' } }), /.*/, 'registering agent://system/…', 'params');
      for (const bad of [seg, `${seg}/a/b/c`, `${seg}/Upper`, `${seg}//x`, `-${seg}/x`]) {
        validationError(await put(ctx, bad, { delivery: { binding: 'poll' } }), /.*/, `path address "${bad}"`, 'params');
      }
      validationError(await getAgent(ctx, `${seg}/A`, ctx.adminKey), /.*/, 'GET with an upper-case address', 'params');
    },
  },
  {
    id: 'AGT-015',
    title: 'an intent to an unregistered address is accepted, waits in SUBMITTED, and is delivered once the agent registers',
    level: 'MUST',
    requirements: ['AGT-030', 'INT-015', 'DLV-006'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const path = `${ctx.unique('agt')}/late`;
      const res = await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, `agent://${path}`), expectSchema: 'intent-response' });
      if (res.status === 404 && res.body?.code === 'agent_not_found') throw new NotApplicable('the target runs in strict-address mode (AGT-031); to run it, start the target without it (reference server: without --strict-addresses)');
      const intent = ok(res, 'create to an unregistered address').intent;
      equal(intent.status, 'SUBMITTED', 'status');
      equal(intent.pending_with, `agent://${path}`, 'pending_with');
      await passTime(ctx, 5000);
      const still = await getIntent(ctx, intent.intent_id, sender.key);
      equal({ s: still.status, a: still.delivery_attempt }, { s: 'SUBMITTED', a: 0 }, 'status and delivery_attempt while nobody is registered');
      const reg = ok(await put(ctx, path, { delivery: fastPolicy(ctx, 'poll') }), 'registering the receiver');
      const d = await pollFor(ctx, { role: 'late', address: `agent://${path}`, path, key: reg.api_key, delivery: {} }, intent.intent_id);
      equal(d.attempt, 1, 'first delivery attempt after late registration');
    },
  },
  {
    id: 'AGT-016',
    title: 'in strict-address mode a create to an unregistered address is 404 agent_not_found',
    level: 'MUST',
    requirements: ['AGT-031', 'ERR-008'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const res = await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, `agent://${ctx.unique('agt')}/nobody`) });
      if (res.status === 200) throw new NotApplicable('the target accepts unregistered addresses (not in strict-address mode); to run it, start the target in strict-address mode (reference server: --strict-addresses)');
      problem(res, 404, 'agent_not_found', 'create to an unregistered address in strict mode');
      const list = ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { role: 'sender' } }), 'list sent intents');
      equal(list.intents.length, 0, 'intents created by the refused request');
    },
  },
  {
    id: 'AGT-017',
    title: 'a binding change applies from the next attempt: a poll intent is retried over http',
    level: 'MUST',
    requirements: ['AGT-023', 'AGT-024'],
    ...needs('binding.poll', 'binding.http'),
    async run(ctx) {
      const receiver = await httpReceiver(ctx, [{ status: 200 }]);
      const { sender, worker } = await pair(ctx);
      const intent = await send(ctx, sender, worker.address);
      const first = await pollFor(ctx, worker, intent.intent_id);
      equal(first.attempt, 1, 'first attempt over poll');
      const policy = fastPolicy(ctx, 'http', { url: receiver.url });
      ok(await put(ctx, worker.path, { delivery: policy }), 'switching the agent to http');
      const lease = Number(worker.delivery.lease_seconds ?? 0.5) * 1000;
      await passTime(ctx, lease + 1.2 * Number(worker.delivery.max_delay_ms ?? 2000) + 10);
      const hits = await receiver.waitForHits(1, lease + 5000);
      const pushed = hits[0].json;
      equal({ id: pushed?.intent_id, attempt: pushed?.attempt }, { id: intent.intent_id, attempt: 2 }, 'the next attempt arrives over http');
      check(pushed.delivery_id !== first.delivery_id, 'the http attempt has a new delivery_id', 'new id', pushed.delivery_id);
      const done = await ctx.eventually('the intent acknowledged by the http 2xx', async () => {
        const i = await getIntent(ctx, intent.intent_id, sender.key);
        return i.status === 'ACKNOWLEDGED' ? i : undefined;
      });
      equal(done.delivery_attempt, 2, 'delivery_attempt');
    },
  },
  {
    id: 'AGT-018',
    title: 'addresses are compared exactly: an upper-case variant is refused, not folded onto the agent',
    level: 'MUST',
    requirements: ['TERM-005', 'TERM-002'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const upper = `agent://${worker.path.toUpperCase()}`;
      const res = await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, upper) });
      validationError(res, '/to_agent', 'create to an upper-case variant of a registered address');
      const other = `${worker.address}x`;
      const accepted = await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, other) });
      if (accepted.status === 200) {
        equal(accepted.body.intent.pending_with, other, 'pending_with of a near-miss address');
        const got = await poll(ctx, worker, { limit: 50 });
        check(!got.deliveries.some((d: { intent_id: string }) => d.intent_id === accepted.body.intent.intent_id), 'an intent to a different address was delivered to this agent', 'not delivered', 'delivered');
      } else problem(accepted, 404, 'agent_not_found', 'near-miss address in strict mode');
    },
  },
  {
    id: 'AGT-019',
    title: 'every advertised delivery-policy range at, just inside and just past both its bounds',
    level: 'MUST',
    requirements: ['ERR-020', 'CAP-020'],
    ...pollCap,
    bounds: { 'ERR-020': ['lease_seconds, max_delivery_attempts, initial_delay_ms, max_delay_ms, timeout_ms (http): min, min + 1, max - 1, max accepted and stored; min - 1 and max + 1 refused with 422'] },
    async run(ctx) {
      const l = limits(ctx);
      const props = deliveryPolicy.properties as unknown as Record<string, { type: string }>;
      const range = (field: string) => l[field] as { min: number; max: number } | undefined;
      const initial = range('initial_delay_ms');
      const maxDelay = range('max_delay_ms');
      const httpUrl = hasCapability(ctx, 'binding.http') ? await parkedCallbackUrl(ctx) : undefined;
      const skipped: string[] = [];
      for (const field of ['lease_seconds', 'max_delivery_attempts', 'initial_delay_ms', 'max_delay_ms', 'timeout_ms']) {
        const r = range(field);
        if (!r) { skipped.push(`${field} (not advertised)`); continue; }
        if (field === 'timeout_ms' && !httpUrl) { skipped.push('timeout_ms (the target has no http binding)'); continue; }
        const base = field === 'timeout_ms' ? { binding: 'http', url: httpUrl } : { binding: 'poll' };
        // AGT-022: max_delay_ms may not be below initial_delay_ms; the partner field is set to a value that keeps that true.
        const partner = (value: number): Record<string, number> | undefined => {
          if (field === 'initial_delay_ms' && maxDelay) return value <= maxDelay.max ? { max_delay_ms: Math.max(value, maxDelay.min) } : undefined;
          if (field === 'max_delay_ms' && initial) return value >= initial.min ? { initial_delay_ms: initial.min } : undefined;
          return {};
        };
        const step = props[field].type === 'integer' ? 1 : Math.min(1, (r.max - r.min) / 2);
        for (const value of [...new Set([r.min, r.min + step, r.max - step, r.max])].filter((v) => v >= r.min && v <= r.max)) {
          const extra = partner(value);
          if (!extra) { skipped.push(`${field} = ${value} (no ${field === 'initial_delay_ms' ? 'max_delay_ms' : 'initial_delay_ms'} in range fits it)`); continue; }
          const res = await put(ctx, `${ctx.unique('agt')}/bound`, { delivery: { ...base, ...extra, [field]: value } });
          if (field === 'timeout_ms') callbackRefused(res, String(httpUrl));
          equal(ok(res, `${field} = ${value} (advertised ${r.min}..${r.max})`).agent.delivery[field], value, `${field} stored at ${value}`);
        }
        // Past the advertised range; where that is also past the protocol bound the schema refuses it (422 either way).
        const past = props[field].type === 'integer' ? [r.min - 1, r.max + 1] : [r.min / 2, r.max + Math.max(step, 0.5)];
        for (const value of past) {
          const extra = partner(value) ?? {};
          const res = await put(ctx, `${ctx.unique('agt')}/bound`, { delivery: { ...base, ...extra, [field]: value } });
          if (field === 'timeout_ms') callbackRefused(res, String(httpUrl));
          check(res.status === 422 && ['limit_exceeded', 'validation_failed'].includes(res.body?.code), `${field} = ${value} outside the advertised ${r.min}..${r.max} must be refused with 422 limit_exceeded (or validation_failed past the protocol bound)`, '422', { status: res.status, code: res.body?.code });
        }
      }
      if (skipped.length) ctx.note(`not probed: ${skipped.join('; ')}`);
    },
  },
]);
