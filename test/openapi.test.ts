// openapi/openapi.json is usable by tools: every (operation, status, problem code) the reference
// server answers over the kit's full run and a set of bad requests is documented; links name real
// operations, parameters and values; examples match their schemas; parameters and security follow
// schemas/ and spec/. (test/generated.test.ts checks the document is fresh and valid OpenAPI 3.1.)
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../reference-server/index.js';
import { ERRORS } from '../reference-server/errors.js';
import { runConformance } from '../conformance/index.js';
import { problemCodesOf, routes } from '../schemas/routes.js';
import { openapiPath, problemStatuses } from '../scripts/gen-openapi.js';
import { bundleSchemas } from '../scripts/schema-bundle.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const doc = JSON.parse(readFileSync(openapiPath, 'utf8')) as JsonObject;
const paths = doc.paths as Record<string, Record<string, JsonObject>>;
const components = doc.components as Record<string, Record<string, JsonObject>>;
const requirementIds = new Set((JSON.parse(readFileSync(new URL('../spec/requirements.json', import.meta.url), 'utf8')) as { id: string }[]).map((r) => r.id));

interface Operation { path: string; method: string; op: JsonObject }
const operations: Operation[] = Object.entries(paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
const byOperationId = new Map(operations.map((o) => [String(o.op.operationId), o]));
const responsesOf = (op: JsonObject) => op.responses as Record<string, JsonObject>;
const parametersOf = (op: JsonObject) => (op.parameters ?? []) as JsonObject[];

/** Follows a local $ref ('#/a/b') inside the document. */
function deref(node: Json): Json {
  let current = node;
  for (let hops = 0; current && typeof current === 'object' && !Array.isArray(current) && typeof current.$ref === 'string'; hops += 1) {
    if (hops > 20) throw new Error('$ref cycle');
    let target: Json = doc;
    for (const part of current.$ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
      target = (target as JsonObject)[part];
    }
    current = target;
  }
  return current;
}

// Document schemas compiled by Ajv: components live under one $id, so '#/components/schemas/X'
// becomes '<base>#/$defs/X'.
const BASE = 'https://openapi.test/components.json';
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
function rebase(node: Json): Json {
  if (Array.isArray(node)) return node.map(rebase);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', `${BASE}#/$defs/`) : rebase(v)]));
}
ajv.addSchema({ $id: BASE, $defs: rebase(components.schemas as Json) as JsonObject });
const compiled = new Map<string, ValidateFunction>();
function validator(schema: Json): ValidateFunction {
  const key = JSON.stringify(schema);
  let fn = compiled.get(key);
  if (!fn) {
    fn = ajv.compile(rebase(schema) as JsonObject);
    compiled.set(key, fn);
  }
  return fn;
}

/** Fastify's route pattern → the OpenAPI path template. */
function openapiPathOf(pattern: string): string {
  return pattern.replace(':seg1/:seg2/:seg3', '{org}/{env}/{name}').replace(':seg1/:seg2', '{org}/{env}').replace(/:(\w+)/g, '{$1}');
}

interface Answer { method: string; path?: string; status: number; code?: string }
interface Recording { answers: Map<string, Answer>; bodies: Map<string, unknown[]> }

/** Records every answer as (method, OpenAPI path, status, problem code), and a few 200 bodies per operation. */
function record(app: FastifyInstance, recording: Recording): void {
  const codes = new WeakMap<FastifyRequest, string>();
  app.addHook('onSend', async (req, reply, payload) => {
    if (typeof payload !== 'string') return payload;
    const status = reply.statusCode;
    if (status >= 400 || status === 200) {
      let body: unknown;
      try { body = JSON.parse(payload); } catch { return payload; }
      if (status >= 400) codes.set(req, String((body as { code?: unknown }).code));
      const pattern = req.routeOptions.url;
      if (status === 200 && pattern) {
        const key = `${req.method.toLowerCase()} ${openapiPathOf(pattern)}`;
        const samples = recording.bodies.get(key) ?? [];
        if (samples.length < 25) recording.bodies.set(key, [...samples, body]);
      }
    }
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const pattern = req.routeOptions.url;
    const answer: Answer = { method: req.method.toLowerCase(), path: pattern ? openapiPathOf(pattern) : undefined, status: reply.statusCode, code: codes.get(req) };
    recording.answers.set(JSON.stringify(answer), answer);
  });
}

/** Why each answer is not covered by the document (empty when all are). */
function undocumented(answers: Iterable<Answer>, document: JsonObject): string[] {
  const docPaths = document.paths as Record<string, Record<string, JsonObject>>;
  const out: string[] = [];
  for (const a of answers) {
    if (a.path === undefined) {
      // No operation matched: only the answers info.description names (ERR-011, TERM-004).
      if (!['not_found', 'method_not_allowed', 'validation_failed'].includes(a.code ?? '')) out.push(`${a.method} (no route) ${a.status} ${a.code}`);
      continue;
    }
    const op = docPaths[a.path]?.[a.method];
    if (!op) { out.push(`${a.method} ${a.path}: no such operation`); continue; }
    const response = responsesOf(op)[String(a.status)];
    if (!response) { out.push(`${op.operationId} answered ${a.status} ${a.code ?? ''}: status not documented`); continue; }
    if (a.status >= 400) {
      const schema = (response.content as Record<string, JsonObject>)['application/problem+json'].schema as JsonObject;
      const codes = ((schema.allOf as JsonObject[])[1].properties as Record<string, JsonObject>).code.enum as string[];
      if (!codes.includes(a.code ?? '')) out.push(`${op.operationId} answered ${a.status} ${a.code}: code not documented (${codes.join(', ')})`);
    }
  }
  return out.sort();
}

const ADMIN_KEY = `adm_${'k'.repeat(30)}`;
const serverOptions = {
  store: 'memory', adminKey: ADMIN_KEY, testClock: true, allowPrivateCallbacks: true, logger: false,
  keepaliveSeconds: 2, pressure: { maxEventLoopDelayMs: 0 },
} as const;

/** Every route in every address form, with concrete paths (ids that exist nowhere). */
function concreteRoutes(address: string) {
  const NO_ID = '00000000-0000-4000-8000-000000000000';
  return routes.flatMap((route) => (route.path.includes('{address}') ? [address, `${address}/x`] : [''])
    .map((addr) => ({ route, url: route.path.replace('{address}', addr).replace(/\{\w+\}/g, NO_ID) })));
}

/** Bad requests of every kind on every operation: each must be answered with a documented status and code. */
async function probe(url: string, agentKey: string, agentAddress: string): Promise<void> {
  const send = (method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}) =>
    fetch(`${url}${path}`, { method, headers: init.headers, body: init.body }).then(async (res) => { await res.arrayBuffer(); });
  const admin = { 'x-api-key': ADMIN_KEY };
  const json = { 'content-type': 'application/json' };
  for (const { route, url: bare } of concreteRoutes(agentAddress)) {
    const m = route.method;
    // Long polls and streams answer at once.
    const path = route.query?.properties.wait_seconds ? `${bare}?wait_seconds=0` : bare;
    const withQuery = (q: string) => `${path}${path.includes('?') ? '&' : '?'}${q}`;
    const write = m !== 'GET';
    const body = write ? '{}' : undefined;
    await send(m, path, { headers: json, body }); // no key
    await send(m, path, { headers: { ...json, 'x-api-key': ADMIN_KEY, authorization: `Bearer ${agentKey}` }, body }); // two different keys
    await send(m, path, { headers: { ...json, 'x-api-key': agentKey }, body });
    await send(m, withQuery('unknown_parameter=1'), { headers: { ...json, ...admin }, body });
    for (const name of Object.keys(route.query?.properties ?? {})) await send(m, `${bare}?${name}=not-a-value`, { headers: { ...json, ...admin }, body });
    if (route.headers?.includes('Last-Event-ID')) await send(m, path, { headers: { ...admin, 'last-event-id': 'x' } });
    if (typeof route.response === 'object') await send(m, path, { headers: { ...admin, accept: 'application/json' } });
    if (!write) continue;
    await send(m, path, { headers: { ...json, ...admin }, body: '{"unterminated":' });
    await send(m, path, { headers: { 'content-type': 'text/plain', ...admin }, body: 'hello' });
    await send(m, path, { headers: { ...json, ...admin }, body: JSON.stringify({ filler: 'x'.repeat(1024 * 1024) }) });
    await send(m, path, { headers: { ...json, ...admin }, body: '{"no_such_field":true}' });
    if (route.headers?.includes('Idempotency-Key')) await send(m, path, { headers: { ...json, ...admin, 'idempotency-key': 'short' }, body });
  }
}

describe('the reference server answers only what openapi/openapi.json documents', () => {
  const recording: Recording = { answers: new Map(), bodies: new Map() };
  let kitPassed = 0;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    const app = await buildServer({ ...serverOptions });
    apps.push(app);
    record(app, recording);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    // The kit's full run: every binding, lifecycle path and error case it knows.
    const result = await runConformance({ target: url, adminKey: ADMIN_KEY });
    kitPassed = result.summary.passed;
    const agent = 'agent://openapi/probe';
    const registered = await fetch(`${url}/v1/agents/openapi/probe`, { method: 'PUT', headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ delivery: { binding: 'poll' } }) });
    const { api_key: agentKey } = (await registered.json()) as { api_key: string };
    await probe(url, agentKey, agent.slice('agent://'.length));

    // 429 on every operation: a per-key limit of one request.
    const limited = await buildServer({ ...serverOptions, rateLimit: { max: 1, timeWindowMs: 600_000 } });
    apps.push(limited);
    record(limited, recording);
    const limitedUrl = await limited.listen({ host: '127.0.0.1', port: 0 });
    for (const { route, url: path } of concreteRoutes('openapi/probe')) {
      for (let i = 0; i < 2; i += 1) {
        await fetch(`${limitedUrl}${path}?wait_seconds=0`, { method: route.method, headers: { 'x-api-key': ADMIN_KEY } }).then((r) => r.arrayBuffer());
      }
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  it('the kit ran its cases, and every route was answered 200 and with errors', () => {
    // Whether the kit passes is test/kit-stores.test.ts's business; here it is the source of traffic.
    expect(kitPassed).toBeGreaterThan(150);
    const answers = [...recording.answers.values()];
    for (const route of routes) {
      const ops = operations.filter((o) => o.op['x-axp-route-id'] === route.id);
      const seen = answers.filter((a) => ops.some((o) => o.path === a.path && o.method === a.method));
      expect(seen.some((a) => a.status === 200), `${route.id} answered 200`).toBe(true);
      expect(seen.some((a) => a.status === 429), `${route.id} answered 429`).toBe(true);
      expect(seen.filter((a) => a.status >= 400).length, `${route.id} error answers`).toBeGreaterThanOrEqual(route.auth === 'none' ? 1 : 3);
    }
  });

  it('every (operation, status, code) answered is documented', () => {
    expect(undocumented(recording.answers.values(), doc)).toEqual([]);
  });

  it('the check fails when the document leaves out a status or a code the server answered', () => {
    const answers = [...recording.answers.values()];
    const conflict = answers.find((a) => a.path === '/v1/intents/{intent_id}/ack' && a.status === 409 && a.code === 'illegal_transition');
    expect(conflict).toBeDefined();
    const narrowed = structuredClone(doc);
    const ack = ((narrowed.paths as JsonObject)['/v1/intents/{intent_id}/ack'] as JsonObject).post as JsonObject;
    const conflictSchema = ((((ack.responses as JsonObject)['409'] as JsonObject).content as JsonObject)['application/problem+json'] as JsonObject).schema as JsonObject;
    (((conflictSchema.allOf as JsonObject[])[1].properties as JsonObject).code as JsonObject).enum = ['stale_delivery'];
    expect(undocumented([conflict as Answer], narrowed)).toEqual([expect.stringContaining('illegal_transition: code not documented')]);
    delete (ack.responses as JsonObject)['409'];
    expect(undocumented([conflict as Answer], narrowed)).toEqual([expect.stringContaining('409 illegal_transition: status not documented')]);
  });

  it('every link resolves on real answers to a value its target parameter accepts', () => {
    let evaluated = 0;
    for (const { path, method, op } of operations) {
      for (const [name, link] of Object.entries((responsesOf(op)['200'].links ?? {}) as Record<string, JsonObject>)) {
        const target = byOperationId.get(String(link.operationId)) as Operation;
        for (const [param, expression] of Object.entries(link.parameters as Record<string, string>)) {
          const pointer = /^\$response\.body#(\/.*)$/.exec(expression)?.[1];
          if (!pointer) continue;
          const schema = parametersOf(target.op).find((p) => p.name === param)?.schema as Json;
          for (const body of recording.bodies.get(`${method} ${path}`) ?? []) {
            let value: unknown = body;
            for (const part of pointer.slice(1).split('/')) value = value === undefined || value === null ? undefined : (value as Record<string, unknown>)[part];
            if (value === undefined) continue; // e.g. /deliveries/0 on an empty poll answer
            evaluated += 1;
            expect(validator(schema)(value), `${op.operationId} → ${name}: ${param} = ${JSON.stringify(value)}`).toBe(true);
          }
        }
      }
    }
    expect(evaluated).toBeGreaterThan(100);
  });
});

describe('links', () => {
  /** The schema at a JSON pointer inside a schema (through $ref, properties, items, allOf). */
  function schemaAt(schema: Json, pointer: string): Json | undefined {
    let node = deref(schema);
    for (const part of pointer.slice(1).split('/')) {
      const obj = node as JsonObject;
      const next: Json | undefined = /^\d+$/.test(part) && obj.items ? obj.items
        : (obj.properties as JsonObject | undefined)?.[part]
          ?? ((obj.allOf ?? []) as JsonObject[]).map((s) => (deref(s) as JsonObject).properties as JsonObject | undefined).find((p) => p?.[part])?.[part];
      if (next === undefined) return undefined;
      node = deref(next);
    }
    return node;
  }

  it('name existing operations and parameters, with expressions that resolve in the answer schema or the request path', () => {
    let count = 0;
    for (const { op } of operations) {
      const ok = responsesOf(op)['200'];
      for (const [name, link] of Object.entries((ok.links ?? {}) as Record<string, JsonObject>)) {
        count += 1;
        const target = byOperationId.get(String(link.operationId));
        expect(target, `${op.operationId} → ${name}`).toBeDefined();
        const targetParams = parametersOf((target as Operation).op);
        for (const [param, expression] of Object.entries(link.parameters as Record<string, string>)) {
          const where = `${op.operationId} → ${name}.${param} = ${expression}`;
          expect(targetParams.some((p) => p.name === param), where).toBe(true);
          const body = /^\$response\.body#(\/.*)$/.exec(expression);
          const pathParam = /^\$request\.path\.(\w+)$/.exec(expression);
          expect(body ?? pathParam, where).not.toBeNull();
          if (body) {
            const schema = (ok.content as Record<string, JsonObject>)['application/json']?.schema as Json;
            expect(schema && schemaAt(schema, body[1]), where).toBeTruthy();
          }
          if (pathParam) expect(parametersOf(op).some((p) => p.in === 'path' && p.name === pathParam[1]), where).toBe(true);
        }
        // Every required parameter of the target is supplied.
        for (const p of targetParams.filter((q) => q.required)) expect(Object.keys(link.parameters as object), `${op.operationId} → ${name} sets ${p.name}`).toContain(p.name);
      }
    }
    expect(count).toBeGreaterThan(50);
  });

  it('lead from create intent to every per-intent and per-thread operation, and from agent registration to every per-agent one', () => {
    const targets = (id: string) => Object.values((responsesOf((byOperationId.get(id) as Operation).op)['200'].links ?? {}) as Record<string, JsonObject>).map((l) => String(l.operationId));
    const perItem = operations.filter((o) => /\{(intent_id|thread_id)\}/.test(o.path)).map((o) => String(o.op.operationId));
    expect(targets('createIntent').sort()).toEqual(expect.arrayContaining(perItem.sort()));
    for (const suffix of ['', 'TwoSegments']) {
      const sameForm = operations.filter((o) => o.path.startsWith('/v1/agents/') && String(o.op.operationId).endsWith(suffix) && o.op.operationId !== `putAgent${suffix}`)
        .map((o) => String(o.op.operationId)).filter((id) => suffix !== '' || !id.endsWith('TwoSegments'));
      expect(targets(`putAgent${suffix}`)).toEqual(expect.arrayContaining(sameForm));
    }
    expect(targets('pollDeliveriesTwoSegments')).toEqual(expect.arrayContaining(['ackIntent', 'resumeIntent', 'resolveIntent']));
    expect(targets('listInbox')).toEqual(expect.arrayContaining(['getInboxThread', 'approveInboxThread', 'rejectInboxThread', 'replyInboxThread']));
  });
});

describe('examples', () => {
  it('every example of a parameter, a body or an answer is valid against its schema (SSE: the event and its data)', () => {
    let count = 0;
    const check = (media: JsonObject, where: string) => {
      for (const [name, example] of Object.entries((media.examples ?? {}) as Record<string, Json>)) {
        const { value } = deref(example) as { value: Json };
        const validate = validator(media.schema as Json);
        expect(validate(value), `${where} example ${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        const event = value as JsonObject;
        if (typeof event.data === 'string' && typeof event.event === 'string') {
          const branch = ((media.schema as JsonObject).oneOf as JsonObject[]).find((b) => validator(b)(value)) as JsonObject;
          const data = validator(((branch.properties as JsonObject).data as JsonObject).contentSchema as Json);
          expect(data(JSON.parse(event.data)), `${where} example ${name} data: ${ajv.errorsText(data.errors)}`).toBe(true);
        }
        count += 1;
      }
    };
    for (const { op } of operations) {
      for (const param of parametersOf(op).filter((p) => p.example !== undefined)) {
        expect(validator(param.schema as Json)(param.example), `${op.operationId} parameter ${param.name} example`).toBe(true);
        count += 1;
      }
      for (const [type, media] of Object.entries(((op.requestBody as JsonObject | undefined)?.content ?? {}) as Record<string, JsonObject>)) check(media, `${op.operationId} request ${type}`);
      for (const [status, response] of Object.entries(responsesOf(op))) {
        for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, JsonObject>)) check(media, `${op.operationId} ${status} ${type}`);
      }
    }
    expect(count).toBeGreaterThan(200);
  });

  it('every operation with a body or a 200 answer has examples from fixtures/', () => {
    for (const { op } of operations) {
      const body = op.requestBody as JsonObject | undefined;
      if (body) expect(Object.keys(((body.content as JsonObject)['application/json'] as JsonObject).examples as object).length, `${op.operationId} body`).toBeGreaterThan(0);
      const ok = Object.values(responsesOf(op)['200'].content as Record<string, JsonObject>)[0];
      expect(Object.keys(ok.examples as object).length, `${op.operationId} 200`).toBeGreaterThan(0);
    }
    for (const example of Object.values(components.examples)) expect(String(example.summary)).toMatch(/^fixtures\/[a-z-]+\/valid\/[^/]+\.json$/);
  });
});

describe('statuses, parameters and security', () => {
  it('each response lists codes of its status (spec/13-errors.md, the server\'s table) and existing requirements', () => {
    const statusOf = problemStatuses();
    expect(statusOf).toEqual(Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status])));
    for (const route of routes) {
      for (const [code, requirements] of Object.entries(problemCodesOf(route))) {
        expect(code in ERRORS, `${route.id} ${code}`).toBe(true);
        for (const id of requirements ?? []) expect(requirementIds.has(id), `${route.id} ${code} cites ${id}`).toBe(true);
      }
    }
    for (const { op } of operations) {
      for (const [status, response] of Object.entries(responsesOf(op)).filter(([s]) => s !== '200')) {
        const extra = ((response.content as Record<string, JsonObject>)['application/problem+json'].schema as JsonObject).allOf as JsonObject[];
        const props = extra[1].properties as Record<string, JsonObject>;
        expect(props.status.const, `${op.operationId} ${status}`).toBe(Number(status));
        for (const code of props.code.enum as string[]) expect(statusOf[code as keyof typeof statusOf], `${op.operationId} ${status} ${code}`).toBe(Number(status));
      }
      // Every operation names 422 (ERR-012), 429 and 503 with Retry-After (ERR-013).
      for (const status of ['422', '429', '503']) expect(responsesOf(op)[status], `${op.operationId} ${status}`).toBeDefined();
      expect(Object.keys((responsesOf(op)['503'].headers ?? {}) as object)).toEqual(['Retry-After']);
    }
  });

  it('query parameters carry the constraints of schemas/routes.ts, shared values as references to the wire schemas', () => {
    const { rewrite } = bundleSchemas((name) => `#/components/schemas/${name}`);
    for (const route of routes) {
      const ops = operations.filter((o) => o.op['x-axp-route-id'] === route.id);
      for (const { op } of ops) {
        for (const [name, schema] of Object.entries(route.query?.properties ?? {})) {
          const param = parametersOf(op).find((p) => p.name === name && p.in === 'query');
          const { description, ...expected } = rewrite(schema as Json) as JsonObject;
          expect(param, `${op.operationId} ${name}`).toMatchObject({ required: false, schema: expected, ...(description ? { description } : {}) });
        }
      }
    }
    const listIntents = (byOperationId.get('listIntents') as Operation).op;
    expect(parametersOf(listIntents).find((p) => p.name === 'status')?.schema).toEqual({ $ref: '#/components/schemas/Status' });
    expect((deref({ $ref: '#/components/schemas/Status' }) as JsonObject).enum).toContain('TIMED_OUT');
    const poll = (byOperationId.get('pollDeliveries') as Operation).op;
    expect(parametersOf(poll).find((p) => p.name === 'wait_seconds')?.schema).toMatchObject({ minimum: 0, maximum: 60, default: 0 });
    for (const id of ['listInbox', 'getInboxThread', 'listDeadLetters']) {
      const param = parametersOf((byOperationId.get(id) as Operation).op).find((p) => p.name === 'owner_agent' || p.name === 'agent');
      expect(param?.schema, id).toEqual({ $ref: '#/components/schemas/Address' });
    }
  });

  it('has one security scheme per credential, and 401/403 exactly where the key rules say', () => {
    const schemes = components.securitySchemes as Record<string, JsonObject>;
    expect(Object.keys(schemes).sort()).toEqual(['adminKey', 'agentKey']);
    for (const scheme of Object.values(schemes)) {
      expect(scheme).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
      expect(String(scheme.description)).toMatch(/Authorization: Bearer/);
      expect(String(scheme.description)).toMatch(/two different keys are 401/);
    }
    for (const route of routes) {
      for (const { op } of operations.filter((o) => o.op['x-axp-route-id'] === route.id)) {
        const expected = { none: [], agent: [{ agentKey: [] }, { adminKey: [] }], admin: [{ adminKey: [] }] }[route.auth];
        expect(op.security, String(op.operationId)).toEqual(expected);
        expect(responsesOf(op)['401'] !== undefined, `${op.operationId} 401`).toBe(route.auth !== 'none');
        if (route.auth === 'admin') expect(JSON.stringify(responsesOf(op)['403'])).toContain('forbidden');
      }
    }
  });
});
