// Chapter 14: keys, scopes and callback URL rules.
import { NotApplicable, type CaseContext, type RegisteredAgent } from '../case.js';
import { agent, bogusKey, check, containsToken, hasCapability, equal, events, group, limits, needs, ok, pollFor, problem, send, validationError, write } from './support.js';
import { pair, polledIntent, sentIntent } from './flows.js';
import { routes } from '../../schemas/routes.js';

const pollCap = needs('binding.poll');

const getAgentAs = (ctx: CaseContext, who: RegisteredAgent, key: string) => ctx.request({ method: 'GET', path: `/v1/agents/${who.path}`, key });

export const securityCases = group('SEC', [
  {
    id: 'SEC-001',
    title: 'no key or an unknown key is 401 unauthorized with WWW-Authenticate: Bearer on every protected route',
    level: 'MUST',
    requirements: ['SEC-002'],
    ...pollCap,
    async run(ctx) {
      const worker = await agent(ctx, 'worker', 'poll');
      const id = crypto.randomUUID();
      const routes: [('GET' | 'POST' | 'PUT'), string, unknown?][] = [
        ['POST', '/v1/intents', {}], ['GET', '/v1/intents'], ['GET', `/v1/intents/${id}`], ['GET', `/v1/intents/${id}/events`],
        ['POST', `/v1/intents/${id}/ack`, {}], ['POST', `/v1/intents/${id}/resume`, { action: 'progress' }], ['POST', `/v1/intents/${id}/cancel`, {}],
        ['GET', `/v1/agents/${worker.path}`], ['GET', `/v1/agents/${worker.path}/intents`], ['PUT', `/v1/agents/${worker.path}`, { delivery: { binding: 'poll' } }],
        ['GET', '/v1/inbox'], ['GET', '/v1/dead-letters'], ['POST', `/v1/intents/${id}/redeliver`, {}], ['POST', '/v1/_test/clock', { advance_ms: 0 }],
      ];
      for (const [method, path, json] of routes) {
        for (const [what, key] of [['no key', undefined], ['an unknown key', bogusKey(ctx)]] as const) {
          const res = await ctx.request({ method, path, key, json });
          problem(res, 401, 'unauthorized', `${method} ${path} with ${what}`);
          check(/^bearer/i.test(res.headers['www-authenticate'] ?? ''), `${method} ${path}: a 401 needs WWW-Authenticate: Bearer`, 'Bearer', res.headers['www-authenticate']);
        }
      }
      for (const path of ['/health', '/v1/capabilities', '/.well-known/axp']) ok(await ctx.request({ method: 'GET', path }), `${path} without a key`);
    },
  },
  {
    id: 'SEC-002',
    title: 'Authorization: Bearer (any case of the scheme) works like x-api-key on a read and a write; two different keys are 401',
    level: 'MUST',
    requirements: ['SEC-001'],
    ...pollCap,
    forms: { 'SEC-001': ['x-api-key', 'Authorization: Bearer', 'Authorization: bearer', 'Authorization: BEARER', 'Authorization: BeArEr', 'both headers, same key', 'both headers, two keys (401)', 'on a read (getAgent)', 'on a write (createIntent)'] },
    async run(ctx) {
      const a = await agent(ctx, 'a', 'poll');
      const b = await agent(ctx, 'b', 'poll');
      equal(ok(await ctx.request({ method: 'GET', path: `/v1/agents/${a.path}`, headers: { authorization: `Bearer ${a.key}` } }), 'Bearer key').agent.address, a.address, 'agent read with a Bearer key');
      ok(await ctx.request({ method: 'GET', path: `/v1/agents/${a.path}`, key: a.key, headers: { authorization: `Bearer ${a.key}` } }), 'the same key in both headers');
      problem(await ctx.request({ method: 'GET', path: `/v1/agents/${a.path}`, key: a.key, headers: { authorization: `Bearer ${b.key}` } }), 401, 'unauthorized', 'two different keys');
      const sent = await send(ctx, `${a.key}`, b.address);
      equal(sent.from_agent, a.address, 'sender of an intent created with x-api-key');
      const viaBearer = ok(await ctx.request({ method: 'POST', path: '/v1/intents', headers: { authorization: `Bearer ${b.key}` }, json: { intent_type: 'conformance.check.v1', to_agent: a.address, payload: {} } }), 'create with a Bearer key');
      equal(viaBearer.intent.from_agent, b.address, 'sender of an intent created with a Bearer key');
      // SEC-001: the scheme name is case-insensitive (RFC 9110 11.1), on a read and on a write.
      for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
        equal(ok(await ctx.request({ method: 'GET', path: `/v1/agents/${a.path}`, headers: { authorization: `${scheme} ${a.key}` } }), `read with scheme ${scheme}`).agent.address, a.address, `agent read with scheme ${scheme}`);
        const created = ok(await ctx.request({ method: 'POST', path: '/v1/intents', headers: { authorization: `${scheme} ${b.key}` }, json: { intent_type: 'conformance.check.v1', to_agent: a.address, payload: {} } }), `create with scheme ${scheme}`);
        equal(created.intent.from_agent, b.address, `sender of an intent created with scheme ${scheme}`);
      }
    },
  },
  {
    id: 'SEC-003',
    title: 'an agent key on admin-only routes is 403 forbidden',
    level: 'MUST',
    requirements: ['SEC-003', 'CLK-003', 'AGT-004'],
    ...pollCap,
    async run(ctx) {
      const a = await agent(ctx, 'a', 'poll');
      const i = await send(ctx, a, a.address);
      problem(await ctx.request({ method: 'PUT', path: `/v1/agents/${ctx.unique('sec')}/x`, key: a.key, json: { delivery: { binding: 'poll' } } }), 403, 'forbidden', 'PUT /v1/agents with an agent key');
      problem(await ctx.request({ method: 'GET', path: '/v1/dead-letters', key: a.key }), 403, 'forbidden', 'GET /v1/dead-letters with an agent key');
      problem(await write(ctx, i.intent_id, 'redeliver', a.key, undefined), 403, 'forbidden', 'redeliver with an agent key');
      const clock = await ctx.request({ method: 'POST', path: '/v1/_test/clock', key: a.key, json: { advance_ms: 0 } });
      if (clock.status !== 404 || clock.body?.code !== 'extension_disabled') problem(clock, 403, 'forbidden', 'POST /v1/_test/clock with an agent key');
    },
  },
  {
    id: 'SEC-004',
    title: 'another agent\'s intent is 404 on every read and write; existence is not leaked',
    level: 'MUST',
    requirements: ['SEC-004', 'INT-022', 'EVT-007', 'SSE-012', 'RES-012', 'RES-021', 'DLV-016'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, stranger, i } = await polledIntent(ctx, { stranger: true, longLease: true });
      const id = i.intent_id;
      problem(await ctx.request({ method: 'GET', path: `/v1/intents/${id}`, key: stranger.key }), 404, 'intent_not_found', 'GET');
      problem(await ctx.request({ method: 'GET', path: `/v1/intents/${id}`, key: stranger.key, query: { wait_seconds: 1 } }), 404, 'intent_not_found', 'waiting GET');
      problem(await ctx.request({ method: 'GET', path: `/v1/intents/${id}/events`, key: stranger.key }), 404, 'intent_not_found', 'events');
      const observed = await ctx.sse(`/v1/intents/${id}/events/stream`, { key: stranger.key, query: { wait_seconds: 0 }, timeoutMs: 3000 });
      equal({ s: observed.status, c: observed.body?.code }, { s: 404, c: 'intent_not_found' }, 'observe');
      for (const [op, body] of [['ack', {}], ['resume', { action: 'complete' }], ['resolve', { status: 'COMPLETED' }], ['cancel', {}]] as const) {
        problem(await write(ctx, id, op, stranger.key, body), 404, 'intent_not_found', op);
      }
      const listed = ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: stranger.key }), 'list').intents;
      check(!listed.some((x: { intent_id: string }) => x.intent_id === id), 'another agent\'s intent is listed', 'absent', 'listed');
      equal((await events(ctx, id, sender.key)).at(-1).event_type, 'intent.delivered', 'the intent after the refused writes');
    },
  },
  {
    id: 'SEC-005',
    title: 'agent keys are axp_ + at least 128 bits of randomness (≥ 22 characters of [A-Za-z0-9_-])',
    level: 'MUST',
    requirements: ['SEC-005', 'AGT-002'],
    ...pollCap,
    async run(ctx) {
      const keys = [(await agent(ctx, 'a', 'poll')).key, (await agent(ctx, 'b', 'poll')).key, (await agent(ctx, 'c', 'poll')).key];
      for (const key of keys) {
        check(/^axp_[A-Za-z0-9_-]{22,}$/.test(key), 'a key needs ≥ 22 characters after axp_ to carry 128 bits from a 64-symbol alphabet', 'axp_ + 22+ chars', `${key.slice(0, 6)}… (${key.length - 4} chars)`);
      }
      equal(new Set(keys).size, 3, 'distinct keys');
    },
  },
  {
    id: 'SEC-006',
    title: 'keys never appear in events, intents or deliveries',
    level: 'MUST',
    requirements: ['SEC-009', 'AGT-011'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, i } = await sentIntent(ctx, { longLease: true });
      const texts = [
        JSON.stringify(await pollFor(ctx, worker, i.intent_id)),
        (await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events`, key: sender.key })).text,
        (await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: ctx.adminKey })).text,
        (await ctx.request({ method: 'GET', path: '/v1/intents', key: ctx.adminKey, query: { limit: 5 } })).text,
      ];
      for (const t of texts) for (const k of [sender.key, worker.key, ctx.adminKey ?? '']) check(!containsToken(t, k), 'an answer reveals an API key', 'no key', t.slice(0, 200));
    },
  },
  {
    id: 'SEC-007',
    title: 'callback URLs into private networks are refused with 422 callback_url_refused',
    level: 'MUST',
    requirements: ['SEC-020', 'HTTP-032'],
    ...needs('binding.http'),
    async run(ctx) {
      if (limits(ctx).allow_private_callbacks !== false) throw new NotApplicable('the target allows private callbacks (limits.allow_private_callbacks is not false); to run it, start the target without them (reference server: without --allow-private-callbacks)');
      for (const url of ['http://127.0.0.1:8080/hook', 'http://10.1.2.3/hook', 'http://192.168.0.10/hook', 'http://172.16.5.5/hook', 'http://169.254.169.254/latest', 'http://[::1]/hook', 'http://[::ffff:127.0.0.1]/hook', 'http://0.0.0.0/hook', 'http://100.64.0.1/hook', 'http://[fd00::1]/hook']) {
        const path = `${ctx.unique('sec')}/hook`;
        problem(await ctx.request({ method: 'PUT', path: `/v1/agents/${path}`, key: ctx.adminKey, json: { delivery: { binding: 'http', url } } }), 422, 'callback_url_refused', `url ${url}`);
        problem(await ctx.request({ method: 'GET', path: `/v1/agents/${path}`, key: ctx.adminKey }), 404, 'agent_not_found', `agent after a refused ${url}`);
      }
    },
  },
  {
    id: 'SEC-008',
    title: 'callback URLs with another scheme or with user information are 422 validation_failed',
    level: 'MUST',
    requirements: ['SEC-023'],
    ...needs('binding.http'),
    async run(ctx) {
      for (const url of ['ftp://198.51.100.7/hook', 'file:///etc/passwd', 'https://user:pass@198.51.100.7/hook', 'javascript:alert(1)']) {
        validationError(await ctx.request({ method: 'PUT', path: `/v1/agents/${ctx.unique('sec')}/hook`, key: ctx.adminKey, json: { delivery: { binding: 'http', url } } }), /^\/delivery(\/url)?$/, `url ${url}`);
      }
    },
  },
  {
    id: 'SEC-201',
    title: 'a key that was in use is refused right after rotate_key (no cached old key)',
    level: 'MUST',
    requirements: ['SEC-006', 'AGT-002'],
    ...needs('binding.poll'),
    async run(ctx) {
      const worker = await agent(ctx, 'worker', 'poll');
      // Use the key first, so a server that caches keys has this one cached.
      for (let n = 1; n <= 2; n++) ok(await getAgentAs(ctx, worker, worker.key), `GET the agent with its key (use ${n})`);
      const rotated = ok(await ctx.request({ method: 'PUT', path: `/v1/agents/${worker.path}`, key: ctx.adminKey, json: { delivery: worker.delivery, rotate_key: true } }), 'rotate_key');
      check(typeof rotated.api_key === 'string' && rotated.api_key !== worker.key, 'rotate_key must return a new api_key', 'a new key', rotated.api_key);
      problem(await getAgentAs(ctx, worker, worker.key), 401, 'unauthorized', 'the previous key, used before the rotation, right after it');
      problem(await ctx.request({ method: 'GET', path: `/v1/agents/${worker.path}/intents`, key: worker.key }), 401, 'unauthorized', 'a poll with the previous key');
      ok(await getAgentAs(ctx, worker, rotated.api_key), 'the new key');
    },
  },
  {
    id: 'SEC-009',
    title: 'every route but the public three answers 401 unauthorized with WWW-Authenticate to no key and to an unknown key',
    level: 'MUST',
    requirements: ['SEC-002'],
    ...pollCap,
    async run(ctx) {
      const { worker, i } = await ctx.setup('an intent to address the routes with', () => sentIntent(ctx, { longLease: true }));
      for (const route of routes) {
        // The test clock's route answers 404 extension_disabled where it is off (CLK-001).
        if (route.auth === 'none' || (route.path.startsWith('/v1/_test') && !hasCapability(ctx, 'ext.test-clock'))) continue;
        const path = route.path.replace('{address}', worker.path).replace('{intent_id}', i.intent_id).replace('{thread_id}', crypto.randomUUID());
        const json = route.body && route.method !== 'GET' ? {} : undefined;
        for (const [who, key] of [['no key', undefined], ['an unknown key', bogusKey(ctx)]] as const) {
          const res = await ctx.request({ method: route.method, path, key, json, query: typeof route.response === 'object' ? { wait_seconds: 0 } : undefined });
          problem(res, 401, 'unauthorized', `${route.method} ${route.path} with ${who}`);
          check(/^bearer/i.test(res.headers['www-authenticate'] ?? ''), `${route.method} ${route.path} with ${who}: a 401 must carry WWW-Authenticate: Bearer`, 'Bearer', res.headers['www-authenticate']);
        }
      }
    },
  },
  {
    id: 'SEC-010',
    title: 'roles on the reads of an intent: sender, receiver and admin read; another agent gets 404; no key 401',
    level: 'MUST',
    requirements: ['INT-021', 'INT-022', 'EVT-007', 'SEC-002', 'SEC-004'],
    ...pollCap,
    forms: { 'INT-021': ['sender', 'receiver', 'admin'], 'INT-022': ['another agent'], 'EVT-007': ['sender', 'receiver', 'admin', 'another agent', 'events list', 'events stream'], 'SEC-002': ['no key'] },
    async run(ctx) {
      const { sender, worker, stranger, i } = await ctx.setup('an intent delivered to its worker, and a third agent', () => polledIntent(ctx, { stranger: true, longLease: true }));
      const id = i.intent_id;
      const roles: [string, string | undefined, number][] = [['sender', sender.key, 200], ['receiver', worker.key, 200], ['admin', ctx.adminKey, 200], ['another agent', stranger.key, 404], ['no key', undefined, 401]];
      const reads: [string, string, Record<string, string | number>?][] = [
        ['GET /v1/intents/{id}', `/v1/intents/${id}`], ['GET /v1/intents/{id}/events', `/v1/intents/${id}/events`], ['GET /v1/intents/{id}/events/stream', `/v1/intents/${id}/events/stream`, { wait_seconds: 0 }],
      ];
      for (const [route, path, query] of reads) {
        for (const [role, key, status] of roles) {
          const what = `${route} as ${role}`;
          if (route.endsWith('/stream')) {
            const res = await ctx.sse(path, { key, query, frameSchema: 'event', timeoutMs: 5000 });
            equal({ status: res.status, code: status === 200 ? undefined : res.body?.code }, { status, code: status === 200 ? undefined : status === 404 ? 'intent_not_found' : 'unauthorized' }, what);
          } else if (status === 200) {
            equal(ok(await ctx.request({ method: 'GET', path, key, query }), what).intent_id ?? id, id, `${what}: intent_id`);
          } else {
            problem(await ctx.request({ method: 'GET', path, key, query }), status, status === 404 ? 'intent_not_found' : 'unauthorized', what);
          }
        }
      }
    },
  },
  {
    id: 'SEC-011',
    title: 'roles on the writes of an intent: ack, resume and resolve by receiver or admin, cancel by sender or admin; the other side 403, another agent 404, no key 401',
    level: 'MUST',
    requirements: ['RES-012', 'RES-020', 'RES-021', 'DLV-016', 'DLV-010', 'SEC-002'],
    ...pollCap,
    forms: { 'RES-012': ['receiver', 'admin', 'sender (403)', 'another agent (404)', 'ack', 'resume', 'resolve'], 'RES-021': ['receiver (403)', 'another agent (404)'], 'RES-020': ['sender', 'admin'], 'SEC-002': ['no key'] },
    async run(ctx) {
      const { sender, worker, stranger } = await ctx.setup('a sender, a worker and a third agent', () => pair(ctx, { stranger: true, longLease: true }));
      const delivered = (what: string) => ctx.setup(what, async () => {
        const i = await send(ctx, sender, worker.address);
        await pollFor(ctx, worker, i.intent_id);
        return i.intent_id as string;
      });
      const writes: { op: string; body: unknown; accepted: [string, string | undefined][]; other: [string, string] }[] = [
        { op: 'ack', body: {}, accepted: [['receiver', worker.key], ['admin', ctx.adminKey]], other: ['sender', sender.key] },
        { op: 'resume', body: { action: 'progress' }, accepted: [['receiver', worker.key], ['admin', ctx.adminKey]], other: ['sender', sender.key] },
        { op: 'resolve', body: { status: 'COMPLETED', result: {} }, accepted: [['receiver', worker.key], ['admin', ctx.adminKey]], other: ['sender', sender.key] },
        { op: 'cancel', body: {}, accepted: [['sender', sender.key], ['admin', ctx.adminKey]], other: ['receiver', worker.key] },
      ];
      for (const w of writes) {
        const refusedOn = await delivered(`an intent for the refused ${w.op}s`);
        problem(await write(ctx, refusedOn, w.op, w.other[1], w.body), 403, 'forbidden', `${w.op} by the ${w.other[0]}`);
        problem(await write(ctx, refusedOn, w.op, stranger.key, w.body), 404, 'intent_not_found', `${w.op} by another agent`);
        problem(await write(ctx, refusedOn, w.op, undefined, w.body), 401, 'unauthorized', `${w.op} without a key`);
        equal((await events(ctx, refusedOn, sender.key)).at(-1).event_type, 'intent.delivered', `the intent after the refused ${w.op}s`);
        for (const [role, key] of w.accepted) {
          const id = await delivered(`an intent for the ${w.op} by the ${role}`);
          ok(await write(ctx, id, w.op, key, w.body), `${w.op} by the ${role}`);
        }
      }
    },
  },
]);
