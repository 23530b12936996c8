// Chapter 13: problem documents, status/code table, 400/413/415/404/405, precedence, no 500s.
import type { CaseContext, HttpResponse, RegisteredAgent } from '../case.js';
import { routes } from '../../schemas/routes.js';
import { agent, check, containsToken, equal, group, hasCapability, hasTestClock, intentBody, limits, needs, ok, problem, send, validationError } from './support.js';
import { pair, polledIntent, sentIntent } from './flows.js';

const pollCap = needs('binding.poll');

/** The table of chapter 13: code → status. */
/** A route's path with its parameters filled in. */
function concretePath(template: string, agentPath: string, intentId: string): string {
  return template.replace('{address}', agentPath).replace('{intent_id}', intentId).replace('{thread_id}', crypto.randomUUID());
}

const CODE_STATUS: Record<string, number> = {
  malformed_json: 400, idempotency_key_invalid: 400, unauthorized: 401, forbidden: 403, not_found: 404,
  agent_not_found: 404, intent_not_found: 404, thread_not_found: 404, extension_disabled: 404,
  method_not_allowed: 405, not_acceptable: 406, idempotency_key_conflict: 409, intent_terminal: 409,
  illegal_transition: 409, stale_delivery: 409, thread_closed: 409, payload_too_large: 413,
  unsupported_media_type: 415, validation_failed: 422, limit_exceeded: 422, outcome_not_allowed: 422,
  comment_required: 422, callback_url_refused: 422, rate_limited: 429, overloaded: 503,
};

function raw(ctx: CaseContext, method: 'POST' | 'PUT', path: string, key: string | undefined, body: string | Buffer, contentType = 'application/json'): Promise<HttpResponse> {
  return ctx.request({ method, path, key, raw: body, headers: { 'content-type': contentType }, timeoutMs: 20000 });
}

async function sentCount(ctx: CaseContext, sender: RegisteredAgent): Promise<number> {
  return ok(await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { role: 'sender', limit: 100 } }), 'list').intents.length;
}

/** A payload whose JSON serialization is exactly `bytes` long. */
function payloadOfSize(bytes: number): Record<string, string> {
  const overhead = JSON.stringify({ x: '' }).length;
  return { x: 'a'.repeat(bytes - overhead) };
}

/** One request that the target would accept: the base every one-defect probe changes in one place. */
interface ValidWrite { route: string; method: 'POST' | 'PUT'; path: string; key: string | undefined; body: unknown; query?: Record<string, string> }

/** The routes that take a request body: validWrites brings each into a state that accepts it. */
const BODY_ROUTES = ['putAgent', 'createIntent', 'ackIntent', 'resumeIntent', 'resolveIntent', 'cancelIntent', 'approveInboxThread', 'rejectInboxThread', 'replyInboxThread', 'advanceTestClock'];

/**
 * A valid request for every route of the table that takes a body, each addressed to a resource in
 * the state that route needs (ERR-014 leaves the order of two faults to a SHOULD, so a probe adds
 * exactly one fault to a request that is otherwise accepted). Routes that cannot be brought into
 * that state on this target are returned in `skipped` with the reason.
 */
async function validWrites(ctx: CaseContext): Promise<{ writes: ValidWrite[]; skipped: string[] }> {
  const { sender, worker, i } = await ctx.setup('an intent delivered to and held by its worker', () => polledIntent(ctx, { longLease: true }));
  const id = i.intent_id;
  const byRoute: Record<string, Omit<ValidWrite, 'route' | 'method' | 'path'> & { path?: string }> = {
    putAgent: { path: `/v1/agents/${ctx.unique('err')}/probe`, key: ctx.adminKey, body: { delivery: { binding: 'poll' } } },
    createIntent: { key: sender.key, body: intentBody(ctx, worker.address) },
    ackIntent: { key: worker.key, body: {} },
    resumeIntent: { key: worker.key, body: { action: 'progress' } },
    resolveIntent: { key: worker.key, body: { status: 'COMPLETED' } },
    cancelIntent: { key: sender.key, body: {} },
  };
  const skipped: string[] = [];
  if (hasCapability(ctx, 'binding.inbox')) {
    const inbox = await ctx.setup('an inbox agent', () => agent(ctx, 'inbox', 'inbox'));
    const task = await ctx.setup('an inbox task assigned to its owner', async () => {
      const t = await send(ctx, sender, inbox.address);
      return ctx.eventually('the inbox task assigned', async () => {
        const list = ok(await ctx.request({ method: 'GET', path: `/v1/intents/${t.intent_id}/events`, key: sender.key }), 'events').events as { event_type: string }[];
        return list.some((e) => e.event_type === 'intent.human_task_assigned') ? t : undefined;
      });
    });
    byRoute.approveInboxThread = { path: `/v1/inbox/${task.intent_id}/approve`, key: inbox.key, body: {} };
    byRoute.rejectInboxThread = { path: `/v1/inbox/${task.intent_id}/reject`, key: inbox.key, body: {} };
    byRoute.replyInboxThread = { path: `/v1/inbox/${task.intent_id}/reply`, key: inbox.key, body: { message: 'ok' } };
  } else {
    skipped.push('approve, reject and reply (the target does not advertise binding.inbox)');
  }
  if (hasTestClock(ctx)) byRoute.advanceTestClock = { key: ctx.adminKey, body: { advance_ms: 0 } };
  else skipped.push('POST /v1/_test/clock (the target does not advertise ext.test-clock)');
  const writes: ValidWrite[] = [];
  for (const route of routes) {
    if (route.method === 'GET') continue;
    const valid = byRoute[route.id];
    if (!valid) {
      // redeliver is valid only for a dead-lettered intent (DLV-022), which takes exhausting a policy.
      if (route.body) skipped.push(`${route.method} ${route.path} (no valid request known to the kit)`);
      continue;
    }
    writes.push({ route: route.id, method: route.method as 'POST' | 'PUT', path: valid.path ?? route.path.replace('{intent_id}', id), key: valid.key, body: valid.body });
  }
  return { writes, skipped };
}

export const errorCases = group('ERR', [
  {
    id: 'ERR-001',
    title: 'a body that is not JSON is 400 malformed_json as a problem document, and creates nothing',
    level: 'MUST',
    requirements: ['ERR-009', 'ERR-001', 'ERR-002', 'ERR-008'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      for (const body of ['{"intent_type": ', 'not json', '{"a":1}}', '']) {
        const res = await raw(ctx, 'POST', '/v1/intents', sender.key, body);
        if (body === '') {
          check(res.status === 400 || res.status === 422, 'an empty create body must be refused with 400 or 422', '400/422', res.status);
          continue;
        }
        problem(res, 400, 'malformed_json', `create with body ${JSON.stringify(body)}`);
        check(typeof res.body.detail === 'string' && typeof res.body.title === 'string' && typeof res.body.type === 'string', 'a problem needs type, title and detail (ERR-001)', 'type/title/detail', res.body);
      }
      problem(await raw(ctx, 'PUT', `/v1/agents/${ctx.unique('err')}/x`, ctx.adminKey, '{"delivery":'), 400, 'malformed_json', 'PUT agent with broken JSON');
      equal(await sentCount(ctx, sender), 0, 'intents created');
    },
  },
  {
    id: 'ERR-002',
    title: 'a non-JSON media type is 415; application/json with charset=utf-8 is accepted',
    level: 'MUST',
    requirements: ['ERR-010', 'TERM-013'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const body = JSON.stringify(intentBody(ctx, worker.address));
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        problem(await raw(ctx, 'POST', '/v1/intents', sender.key, body, type), 415, 'unsupported_media_type', `create as ${type}`);
      }
      equal(await sentCount(ctx, sender), 0, 'intents created by 415 answers');
      ok(await raw(ctx, 'POST', '/v1/intents', sender.key, body, 'application/json; charset=utf-8'), 'create as application/json; charset=utf-8');
    },
  },
  {
    id: 'ERR-003',
    title: 'a payload over max_payload_bytes is 413 before validation; one of exactly that size is accepted',
    level: 'MUST',
    requirements: ['INT-010', 'INT-012', 'ERR-020', 'ERR-008'],
    ...pollCap,
    bounds: { 'INT-010': ['max_payload_bytes accepted', 'max_payload_bytes + 1 refused (413)', 'over the limit in UTF-8 bytes, not characters'] },
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const max = Number(limits(ctx).max_payload_bytes ?? 131072);
      problem(await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, worker.address, { payload: payloadOfSize(max + 1) }) }), 413, 'payload_too_large', 'payload one byte over the limit');
      problem(await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: { ...intentBody(ctx, worker.address, { payload: payloadOfSize(max + 1) }), intent_type: 'BAD' } }), 413, 'payload_too_large', 'oversized payload with an invalid intent_type (size is checked first)');
      const multibyte = { x: 'é'.repeat(Math.ceil((max + 10) / 2)) };
      problem(await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: intentBody(ctx, worker.address, { payload: multibyte }) }), 413, 'payload_too_large', 'payload over the limit in UTF-8 bytes (not characters)');
      equal(await sentCount(ctx, sender), 0, 'intents created by 413 answers');
      const exact = await send(ctx, sender, worker.address, { payload: payloadOfSize(max) });
      equal(JSON.stringify(exact.payload).length, max, 'stored payload size');
    },
  },
  {
    id: 'ERR-004',
    title: 'a request body over 1 MiB is 413 on any route',
    level: 'MUST',
    requirements: ['INT-011'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const big = JSON.stringify({ delivery: { binding: 'poll' }, display_name: 'x'.repeat(1_048_600) });
      problem(await raw(ctx, 'PUT', `/v1/agents/${ctx.unique('err')}/big`, ctx.adminKey, big), 413, 'payload_too_large', 'PUT agent over 1 MiB');
      const id = (await send(ctx, sender, sender.address)).intent_id;
      problem(await raw(ctx, 'POST', `/v1/intents/${id}/cancel`, sender.key, JSON.stringify({ reason: 'x'.repeat(1_048_600) })), 413, 'payload_too_large', 'cancel over 1 MiB');
      problem(await raw(ctx, 'POST', `/v1/intents/${id}/cancel`, sender.key, `{"reason": "${'x'.repeat(1_048_600)}`), 413, 'payload_too_large', 'an unparseable body over 1 MiB is refused for size, unparsed');
    },
  },
  {
    id: 'ERR-005',
    title: 'an unknown path is 404 not_found; a known path with a wrong method is 405 with Allow',
    level: 'MUST',
    requirements: ['ERR-011'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      problem(await ctx.request({ method: 'GET', path: '/v1/no-such-route', key: sender.key }), 404, 'not_found', 'GET /v1/no-such-route');
      const res = await ctx.request({ method: 'DELETE', path: '/v1/intents', key: sender.key });
      problem(res, 405, 'method_not_allowed', 'DELETE /v1/intents');
      const allow = (res.headers.allow ?? '').toUpperCase();
      check(allow.includes('GET') && allow.includes('POST'), 'Allow must list the supported methods', 'GET, POST', res.headers.allow);
    },
  },
  {
    id: 'ERR-006',
    title: 'problem type is https://axp.dev/problems/<code>',
    level: 'SHOULD',
    requirements: ['ERR-003'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const samples = [
        await ctx.request({ method: 'GET', path: `/v1/intents/${crypto.randomUUID()}`, key: sender.key }),
        await raw(ctx, 'POST', '/v1/intents', sender.key, '{'),
        await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, json: {} }),
        await ctx.request({ method: 'GET', path: '/v1/intents' }),
      ];
      for (const res of samples) equal(res.body?.type, `https://axp.dev/problems/${res.body?.code}`, `type of a ${res.status} problem`);
    },
  },
  {
    id: 'ERR-007',
    title: 'with several faults the first of 401, 403, 415, 413, 400, 422, 404, 409 is reported',
    level: 'SHOULD',
    requirements: ['ERR-014'],
    ...pollCap,
    async run(ctx) {
      const sender = await agent(ctx, 'sender', 'poll');
      const unknown = crypto.randomUUID();
      problem(await raw(ctx, 'PUT', `/v1/agents/${ctx.unique('e')}/x`, undefined, '{', 'text/plain'), 401, 'unauthorized', 'no key + wrong media type + broken JSON');
      problem(await raw(ctx, 'PUT', `/v1/agents/${ctx.unique('e')}/x`, sender.key, '{', 'text/plain'), 403, 'forbidden', 'agent key on an admin route + wrong media type');
      problem(await raw(ctx, 'POST', '/v1/intents', sender.key, `{"payload": "${'x'.repeat(140_000)}`, 'text/plain'), 415, 'unsupported_media_type', 'wrong media type + oversized broken body');
      problem(await raw(ctx, 'POST', '/v1/intents', sender.key, `{"payload": {"x": "${'x'.repeat(1_100_000)}"}, "oops"`), 413, 'payload_too_large', 'body over 1 MiB + broken JSON');
      problem(await raw(ctx, 'POST', `/v1/intents/${unknown}/resume`, sender.key, '{'), 400, 'malformed_json', 'broken JSON on an unknown intent');
      validationError(await ctx.request({ method: 'POST', path: `/v1/intents/${unknown}/resume`, key: sender.key, json: { action: 'explode' } }), /.*/, 'invalid body on an unknown intent');
    },
  },
  {
    id: 'ERR-008',
    title: 'hostile inputs never produce a 500; every error answer matches its code\'s status',
    level: 'MUST',
    requirements: ['ERR-007', 'ERR-002', 'ERR-004', 'ERR-013'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker } = await pair(ctx);
      const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
      const bodies: string[] = [
        'null', '[]', '42', '"text"', deep, `{"payload": ${deep}}`, '{"__proto__": {"admin": true}, "intent_type": "a.b.v1"}',
        JSON.stringify({ ...intentBody(ctx, worker.address), payload: { n: 1e308, m: -0, s: '\u0000\ud800' } }),
        JSON.stringify({ ...intentBody(ctx, worker.address), metadata: { '': '' } }),
        '\uFEFF{"a": 1}',
      ];
      const answers: [string, HttpResponse][] = [];
      for (const b of bodies) answers.push([`POST /v1/intents ${b.slice(0, 60)}`, await ctx.request({ method: 'POST', path: '/v1/intents', key: sender.key, raw: b, headers: { 'content-type': 'application/json' }, validate: false })]);
      for (const path of ['/v1/intents/%00', '/v1/intents/..%2F..%2Fetc', `/v1/agents/${'a/'.repeat(50)}x`, '/v1/inbox/%ZZ']) {
        answers.push([`GET ${path}`, await ctx.request({ method: 'GET', path, key: sender.key, validate: false })]);
      }
      answers.push(['GET /v1/intents?limit=1e999', await ctx.request({ method: 'GET', path: '/v1/intents', key: sender.key, query: { limit: '1e999', cursor: '\u0000' }, validate: false })]);
      for (const [input, res] of answers) {
        check(res.status !== 500, `${input}: a hostile input produced a 500 (ERR-007)`, 'not 500', { status: res.status, body: res.text.slice(0, 200) });
        if (res.status === 503) {
          ctx.note(`${input} was answered 503 overloaded: allowed for an internal fault (ERR-007), but a malformed input should get a 4xx`);
          check(/^\d+$/.test(res.headers['retry-after'] ?? ''), `${input}: 503 needs Retry-After in whole seconds (ERR-013)`, 'Retry-After', res.headers['retry-after']);
        }
        if (res.status >= 400) {
          check((res.headers['content-type'] ?? '').startsWith('application/problem+json'), 'an error must be application/problem+json', 'application/problem+json', res.headers['content-type']);
          const code = String(res.body?.code);
          check(code in CODE_STATUS, `code ${code} is not in the table of chapter 13 (ERR-004)`, Object.keys(CODE_STATUS), code);
          equal({ http: res.status, body: res.body.status }, { http: CODE_STATUS[code], body: CODE_STATUS[code] }, `status of code ${code} (ERR-002)`);
        }
      }
    },
  },
  {
    id: 'ERR-009',
    title: 'error answers reveal no keys, no stack traces and nothing of another agent\'s intent',
    level: 'MUST',
    requirements: ['ERR-015', 'SEC-009'],
    ...pollCap,
    async run(ctx) {
      const { sender, worker, stranger, i } = await sentIntent(ctx, { stranger: true, longLease: true, intent: { payload: { card: '4111-1111' } } });
      // A near miss of the sender's key that never equals it (a key may itself end in zz).
      const guess = `${sender.key.slice(0, -2)}${sender.key.endsWith('zz') ? 'yy' : 'zz'}`;
      const answers: Array<[string, HttpResponse]> = [
        ['GET /v1/intents with a near miss of a key', await ctx.request({ method: 'GET', path: '/v1/intents', key: guess })],
        ['resume by an agent that is not the receiver', await ctx.request({ method: 'POST', path: `/v1/intents/${i.intent_id}/resume`, key: stranger.key, json: { action: 'complete' } })],
        ['resume with malformed JSON', await raw(ctx, 'POST', `/v1/intents/${i.intent_id}/resume`, worker.key, '{"action": complete}')],
        ['agent registration with an agent key', await ctx.request({ method: 'PUT', path: `/v1/agents/${worker.path}`, key: worker.key, json: { delivery: { binding: 'poll' } } })],
      ];
      for (const [what, res] of answers) {
        check(res.status >= 400, `${what}: expected an error answer`, '>= 400', res.status);
        for (const secret of [guess, sender.key, worker.key, stranger.key, ctx.adminKey ?? '', '4111-1111']) {
          check(!containsToken(res.text, secret), `${what}: the ${res.status} answer reveals a key or a hidden payload`, 'not present', res.text.slice(0, 200));
        }
        check(!/\bat .+:\d+:\d+\)?/.test(res.text) && !/node_modules|\.ts:\d+/.test(res.text), `${what}: the ${res.status} answer carries a stack trace`, 'no stack', res.text.slice(0, 300));
      }
    },
  },
  {
    id: 'ERR-010',
    title: 'an unknown query parameter is 422 validation_failed (location query) on every read route that takes a query',
    level: 'MUST',
    requirements: ['ERR-012'],
    ...needs('binding.poll'),
    forms: { 'ERR-012': ['streamDeliveries', 'pollDeliveries', 'listIntents', 'getIntent', 'listEvents', 'streamEvents', 'listDeadLetters', 'listInbox', 'getInboxThread'] },
    async run(ctx) {
      const { sender, worker, i } = await ctx.setup('an intent to address the routes with', () => sentIntent(ctx, { longLease: true }));
      for (const route of routes) {
        // Writes validate their body too, and which of two bad inputs is reported is not fixed: only reads here.
        if (!route.query || route.method !== 'GET') continue;
        const path = concretePath(route.path, worker.path, i.intent_id);
        const key = route.auth === 'admin' ? ctx.adminKey : route.path.startsWith('/v1/agents/') ? worker.key : sender.key;
        const res = route.response !== undefined && typeof route.response === 'object'
          ? await ctx.request({ method: route.method, path, key, query: { kit_unknown_parameter: 1, wait_seconds: 0 }, headers: { accept: 'text/event-stream' } })
          : await ctx.request({ method: route.method, path, key, query: { kit_unknown_parameter: 1 } });
        validationError(res, /kit_unknown_parameter|^\/?$/, `${route.method} ${route.path} with an unknown query parameter`, 'query');
      }
    },
  },
  {
    id: 'ERR-011',
    title: 'broken JSON in an otherwise valid request is 400 malformed_json on every route that takes a body',
    level: 'MUST',
    requirements: ['ERR-009'],
    ...needs('binding.poll'),
    forms: { 'ERR-009': BODY_ROUTES },
    async run(ctx) {
      const { writes, skipped } = await validWrites(ctx);
      for (const w of writes) {
        const text = JSON.stringify(w.body);
        for (const broken of [text.slice(0, -1), `${text},`]) {
          problem(await raw(ctx, w.method, w.path, w.key, broken), 400, 'malformed_json', `${w.method} ${w.path} (${w.route}) with body ${JSON.stringify(broken.slice(0, 60))}`);
        }
      }
      if (skipped.length) ctx.note(`not probed: ${skipped.join('; ')}`);
    },
  },
  {
    id: 'ERR-012',
    title: 'a valid JSON body sent as text/plain is 415 unsupported_media_type on every route that takes a body',
    level: 'MUST',
    requirements: ['ERR-010'],
    ...needs('binding.poll'),
    forms: { 'ERR-010': BODY_ROUTES },
    async run(ctx) {
      const { writes, skipped } = await validWrites(ctx);
      for (const w of writes) {
        for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
          problem(await raw(ctx, w.method, w.path, w.key, JSON.stringify(w.body), type), 415, 'unsupported_media_type', `${w.method} ${w.path} (${w.route}) as ${type}`);
        }
      }
      if (skipped.length) ctx.note(`not probed: ${skipped.join('; ')}`);
    },
  },
  {
    id: 'ERR-013',
    title: 'an unknown query parameter on an otherwise valid request is 422 validation_failed (location query) on every write and on the reads without query parameters',
    level: 'MUST',
    requirements: ['ERR-012'],
    ...needs('binding.poll'),
    forms: { 'ERR-012': [...BODY_ROUTES, 'health', 'getCapabilities', 'getWellKnown', 'getAgent'] },
    async run(ctx) {
      const { writes, skipped } = await validWrites(ctx);
      for (const w of writes) {
        const res = await ctx.request({ method: w.method, path: w.path, key: w.key, json: w.body, query: { kit_unknown_parameter: '1' } });
        validationError(res, /kit_unknown_parameter|^\/?$/, `${w.method} ${w.path} (${w.route}) with an unknown query parameter`, 'query');
      }
      // The reads that declare no query parameter at all (ERR-010 covers those that declare some).
      const { worker } = await ctx.setup('an agent to read', () => pair(ctx));
      for (const route of routes) {
        if (route.method !== 'GET' || route.query || typeof route.response === 'object') continue;
        const path = route.path.replace('{address}', worker.path);
        const res = await ctx.request({ method: 'GET', path, key: route.auth === 'none' ? undefined : worker.key, query: { kit_unknown_parameter: '1' } });
        validationError(res, /kit_unknown_parameter|^\/?$/, `GET ${route.path} with an unknown query parameter`, 'query');
      }
      if (skipped.length) ctx.note(`not probed: ${skipped.join('; ')}`);
    },
  },
  {
    id: 'ERR-014',
    title: 'limit and wait_seconds at, just inside and just past their advertised bounds on every route that takes them',
    level: 'MUST',
    requirements: ['ERR-020', 'ERR-012', 'CAP-020'],
    ...needs('binding.poll'),
    bounds: { 'ERR-020': ['limit: 1, max_list_limit - 1, max_list_limit accepted; 0 and max_list_limit + 1 refused (pollDeliveries, listIntents, listDeadLetters)', 'wait_seconds: min, max - 1, max accepted; max + 1 and min - 1 refused (getIntent, streamEvents, pollDeliveries)'] },
    async run(ctx) {
      const { sender, worker, i } = await ctx.setup('a terminal intent', async () => {
        const sent = await sentIntent(ctx, { longLease: true });
        ok(await ctx.request({ method: 'POST', path: `/v1/intents/${sent.i.intent_id}/resolve`, key: sent.worker.key, json: { status: 'COMPLETED', result: {} } }), 'resolve');
        return sent;
      });
      const l = limits(ctx);
      const maxList = Number(ctx.need(l.max_list_limit, 'limits.max_list_limit'));
      const wait = ctx.need(l.wait_seconds, 'limits.wait_seconds') as { min: number; max: number };
      const refusedQuery = (res: HttpResponse, what: string) => {
        check(res.status === 422 && ['validation_failed', 'limit_exceeded'].includes(res.body?.code), `${what} must be refused with 422 validation_failed or limit_exceeded (ERR-012, ERR-020)`, '422', { status: res.status, code: res.body?.code });
      };
      // limit: every list route with a limit, at 1 and the advertised max (and one below), refused at 0 and max + 1.
      for (const route of routes) {
        if (route.method !== 'GET' || !route.query?.properties.limit) continue;
        const path = route.path.replace('{address}', worker.path);
        const key = route.auth === 'admin' ? ctx.adminKey : route.path.startsWith('/v1/agents/') ? worker.key : sender.key;
        for (const n of [...new Set([1, maxList - 1, maxList])].filter((x) => x >= 1)) {
          ok(await ctx.request({ method: 'GET', path, key, query: { limit: n } }), `GET ${route.path}?limit=${n} (advertised max_list_limit ${maxList})`);
        }
        refusedQuery(await ctx.request({ method: 'GET', path, key, query: { limit: maxList + 1 } }), `GET ${route.path}?limit=${maxList + 1} (one past max_list_limit)`);
        refusedQuery(await ctx.request({ method: 'GET', path, key, query: { limit: 0 } }), `GET ${route.path}?limit=0`);
      }
      // wait_seconds at the advertised bounds, on answers that are due at once (a terminal intent, a ready delivery).
      const bounds = [...new Set([wait.min, wait.max - 1, wait.max])];
      const quick = { timeoutMs: 20_000 };
      for (const w of bounds) {
        ok(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: sender.key, query: { wait_seconds: w }, ...quick }), `GET /v1/intents/{id}?wait_seconds=${w} on a terminal intent`);
        const observed = await ctx.sse(`/v1/intents/${i.intent_id}/events/stream`, { key: sender.key, query: { wait_seconds: w }, frameSchema: 'event', ...quick });
        equal(observed.status, 200, `observe with wait_seconds=${w} on a terminal intent`);
        const ready = await send(ctx, sender, worker.address);
        const polled = ok(await ctx.request({ method: 'GET', path: `/v1/agents/${worker.path}/intents`, key: worker.key, query: { wait_seconds: w, limit: maxList }, ...quick }), `poll with wait_seconds=${w} and a delivery ready`);
        // With wait_seconds=0 the delivery may not be ready yet in real time: only a wait must return it (POLL-002).
        if (w > 0) check(polled.deliveries.some((d: { intent_id: string }) => d.intent_id === ready.intent_id), `poll with wait_seconds=${w} must return the ready delivery`, ready.intent_id, polled.deliveries.map((d: { intent_id: string }) => d.intent_id));
      }
      refusedQuery(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}`, key: sender.key, query: { wait_seconds: wait.max + 1 } }), `GET /v1/intents/{id}?wait_seconds=${wait.max + 1}`);
      refusedQuery(await ctx.request({ method: 'GET', path: `/v1/intents/${i.intent_id}/events/stream`, key: sender.key, query: { wait_seconds: wait.max + 1 }, headers: { accept: 'text/event-stream' } }), `observe with wait_seconds=${wait.max + 1}`);
      refusedQuery(await ctx.request({ method: 'GET', path: `/v1/agents/${worker.path}/intents`, key: worker.key, query: { wait_seconds: wait.max + 1 } }), `poll with wait_seconds=${wait.max + 1}`);
      refusedQuery(await ctx.request({ method: 'GET', path: `/v1/agents/${worker.path}/intents`, key: worker.key, query: { wait_seconds: wait.min - 1 } }), `poll with wait_seconds=${wait.min - 1}`);
    },
  },
]);
