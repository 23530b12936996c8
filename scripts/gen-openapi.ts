// npm run gen:openapi: schemas/routes.ts + schemas/*.schema.json + spec/13-errors.md + fixtures/
// → openapi/openapi.json (OpenAPI 3.1): every status each operation may answer, links that chain
// operations through the ids they return, and examples taken from the valid fixtures.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonDefs from '../schemas/common.defs.json' with { type: 'json' };
import { problemCodesOf, routes, type ProblemCode, type RouteSpec } from '../schemas/routes.js';
import type { SchemaName } from '../schemas/index.js';
import { bundleSchemas, type JsonObject, type JsonValue } from './schema-bundle.js';

export const openapiPath = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url));
const errorsChapter = fileURLToPath(new URL('../spec/13-errors.md', import.meta.url));
const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

const ref = (component: string): JsonObject => ({ $ref: `#/components/schemas/${component}` });

/** One address segment (TERM-001), cut from the address pattern of common.defs.json; the address travels in the path without 'agent://' (TERM-003). */
const ADDRESS_SEGMENT: JsonObject = (() => {
  const segment = /^\^agent:\/\/(.+)\(\/\1\)\{1,2\}\$$/.exec(commonDefs.$defs.address.pattern)?.[1];
  if (!segment) throw new Error(`common.defs.json: the address pattern is no longer agent://<segment>(/<segment>){1,2}`);
  return { type: 'string', pattern: `^${segment}$` };
})();
const ADDRESS_VARIANTS = [
  { params: ['org', 'env'], suffix: 'TwoSegments' },
  { params: ['org', 'env', 'name'], suffix: '' },
] as const;
type AddressVariant = (typeof ADDRESS_VARIANTS)[number];

const HEADERS: Record<string, JsonObject> = {
  'Idempotency-Key': {
    description: 'Repeating the request with the same key replays its first answer (with Idempotent-Replayed: true); the same key with a different body is 409 idempotency_key_conflict; a key that is not 8 to 128 visible ASCII characters is 400 idempotency_key_invalid (IDEM-001, IDEM-003, IDEM-005, IDEM-010).',
    schema: { type: 'string', minLength: 8, maxLength: 128, pattern: '^[\\x21-\\x7E]+$' },
  },
  'Last-Event-ID': {
    description: 'SSE resume cursor: the last seq received; wins over since when both are given (SSE-004, SSE-005). Not a non-negative integer: 422 validation_failed with location headers.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
};

/** Response headers, as components/headers. */
const RESPONSE_HEADERS: Record<string, JsonObject> = {
  RetryAfter: { description: 'Whole seconds to wait before retrying (ERR-013).', required: true, schema: { type: 'integer', minimum: 0 } },
  WwwAuthenticate: { description: 'Names the scheme the key travels in: Bearer (SEC-002).', required: true, schema: { type: 'string', pattern: '^Bearer' } },
  IdempotentReplayed: { description: 'true when this answer is the replay of an earlier request with the same Idempotency-Key; absent on a first answer (IDEM-002).', schema: { const: 'true' } },
  CacheControl: { description: 'SSE responses are never cached (SSE-002).', required: true, schema: { type: 'string', pattern: 'no-cache' } },
};
const headerRef = (name: keyof typeof RESPONSE_HEADERS): JsonObject => ({ $ref: `#/components/headers/${name}` });

/** code → HTTP status, read from the code table of spec/13-errors.md (ERR-002). */
export function problemStatuses(): Record<ProblemCode, number> {
  const rows = [...readFileSync(errorsChapter, 'utf8').matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)];
  if (rows.length === 0) throw new Error(`no code table in ${errorsChapter}`);
  return Object.fromEntries(rows.map((m) => [m[1], Number(m[2])])) as Record<ProblemCode, number>;
}

/** The valid fixtures of a wire schema, by file name without .json (sorted, so output is stable). */
function fixtures(name: SchemaName): [string, JsonValue][] {
  const dir = join(fixturesDir, name, 'valid');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => [f.slice(0, -'.json'.length), JSON.parse(readFileSync(join(dir, f), 'utf8')) as JsonValue]);
}

/** Collects examples once under components/examples; operations refer to them by name. */
class ExampleStore {
  readonly components = new Map<string, JsonObject>();

  /** `{name: {$ref}}` for the entries, stored as `<group>.<name>`; undefined when there are none. */
  refs(group: string, entries: [string, JsonValue][], source: string): JsonObject | undefined {
    if (entries.length === 0) return undefined;
    const out: JsonObject = {};
    for (const [name, value] of entries) {
      const key = `${group}.${name}`;
      this.components.set(key, { summary: `${source}/valid/${name}.json`, value });
      out[name] = { $ref: `#/components/examples/${key}` };
    }
    return out;
  }

  sorted(): JsonObject {
    return Object.fromEntries([...this.components.keys()].sort().map((k) => [k, this.components.get(k) as JsonObject]));
  }
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  'agents': 'Registering agents and pulling their deliveries (spec/02-agents.md, 07-stream.md, 08-poll.md).',
  'dead-letters': 'Intents whose delivery attempts were exhausted (spec/06-delivery.md).',
  'discovery': 'Health and the capabilities document (spec/15-discovery.md).',
  'inbox': 'Inbox threads and the decisions people take on them (spec/10-inbox.md).',
  'intents': 'Sending, reading, observing and resolving intents (spec/03-intents.md, 05-events.md, 06-delivery.md, 12-results.md).',
  'test-clock': 'The optional test-clock extension (spec/16-test-clock.md).',
};

function tagOf(path: string): string {
  const segment = path.split('/')[2] ?? '';
  if (path === '/health' || path.startsWith('/.well-known') || segment === 'capabilities') return 'discovery';
  if (segment === '_test') return 'test-clock';
  return segment;
}

function sseDescription(frame: string): string {
  return frame === 'Delivery'
    ? 'Server-sent events: one frame per delivery (id: <agent seq>, event: intent.delivered, data: one-line JSON Delivery), `: keepalive` comments, and a final frame event: stream.timeout whose data is a StreamTimeoutFrame (no id). The schema describes one event as OpenAPI 3.2 itemSchema does (fields id, event, data; data is JSON text, its contentSchema the frame object).'
    : 'Server-sent events: one frame per event (id: <event seq>, event: <event_type>, data: one-line JSON Event), `: keepalive` comments; ends after a terminal event or with a final frame event: stream.timeout whose data is a StreamTimeoutFrame (no id). The schema describes one event as OpenAPI 3.2 itemSchema does (fields id, event, data; data is JSON text, its contentSchema the frame object).';
}

const jsonText = (component: string): JsonObject => ({ type: 'string', contentMediaType: 'application/json', contentSchema: ref(component) });

/** One SSE event of a stream whose frames carry `frame` (SSE-003, SSE-008, STR-001). */
function sseEventSchema(frame: string): JsonObject {
  const dataFrame: JsonObject = {
    type: 'object',
    required: ['id', 'event', 'data'],
    properties: {
      id: { type: 'string', pattern: '^[0-9]+$', description: frame === 'Delivery' ? 'The delivery seq (the agent\'s cursor).' : 'The event seq (the intent\'s cursor).' },
      event: frame === 'Delivery' ? { const: 'intent.delivered' } : ref('EventType'),
      data: jsonText(frame),
    },
  };
  const finalFrame: JsonObject = {
    type: 'object',
    required: ['event', 'data'],
    properties: {
      // The final frame has no id: line; SSE parsers carry the previous id over (WHATWG), so any is allowed.
      id: { type: 'string' },
      event: { const: 'stream.timeout' },
      data: jsonText('StreamTimeoutFrame'),
    },
  };
  return { description: sseDescription(frame), oneOf: [dataFrame, finalFrame] };
}

/** One SSE event per frame fixture, then the final frames, as the event schema reads them. */
function sseExamples(frameSchema: SchemaName, frame: string, store: ExampleStore): JsonObject {
  const frames: [string, JsonObject][] = fixtures(frameSchema).map(([name, value]) => {
    const data = value as JsonObject;
    const event = frameSchema === 'delivery' ? 'intent.delivered' : String(data.event_type);
    return [name, { id: String(data.seq), event, data: JSON.stringify(data) }];
  });
  const finals: [string, JsonObject][] = fixtures('stream-timeout').map(([name, value]) => [`final-${name}`, { event: 'stream.timeout', data: JSON.stringify(value) }]);
  return { ...store.refs(`${frame}SseEvent`, frames, `fixtures/${frameSchema}`), ...store.refs('StreamTimeoutSseEvent', finals, 'fixtures/stream-timeout') };
}

type ComponentOf = (name: SchemaName) => string;

interface Context {
  componentOf: ComponentOf;
  statusOf: Record<ProblemCode, number>;
  rewrite: (schema: JsonValue) => JsonValue;
  examples: ExampleStore;
}

function okResponse(route: RouteSpec, { componentOf, examples: store }: Context): JsonObject {
  const headers: JsonObject = {};
  if (route.headers?.includes('Idempotency-Key')) headers['Idempotent-Replayed'] = headerRef('IdempotentReplayed');
  if (typeof route.response === 'string') {
    const media: JsonObject = { schema: ref(componentOf(route.response)) };
    const examples = store.refs(componentOf(route.response), fixtures(route.response), `fixtures/${route.response}`);
    if (examples) media.examples = examples;
    return { description: 'Success', ...(Object.keys(headers).length ? { headers } : {}), content: { 'application/json': media } };
  }
  const frame = componentOf(route.response.sse);
  return {
    description: 'Success: an event stream',
    headers: { 'Cache-Control': headerRef('CacheControl') },
    content: {
      'text/event-stream': {
        schema: sseEventSchema(frame),
        examples: sseExamples(route.response.sse, frame, store),
        'x-axp-sse-frames': { data: ref(frame), final: { event: 'stream.timeout', data: ref('StreamTimeoutFrame') } },
      },
    },
  };
}

/** One response per status the route may answer: its codes, their requirements, the problem schema narrowed to them. */
function problemResponses(route: RouteSpec, { statusOf, examples: store }: Context): Record<string, JsonObject> {
  const byStatus = new Map<number, [ProblemCode, readonly string[]][]>();
  for (const [code, requirements] of Object.entries(problemCodesOf(route)) as [ProblemCode, readonly string[]][]) {
    const status = statusOf[code];
    if (status === undefined) throw new Error(`${route.id}: code ${code} is not in the table of spec/13-errors.md`);
    byStatus.set(status, [...(byStatus.get(status) ?? []), [code, requirements]]);
  }
  const problems = fixtures('problem');
  const out: Record<string, JsonObject> = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const entries = (byStatus.get(status) ?? []).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const codes = entries.map(([code]) => code);
    const media: JsonObject = {
      schema: { allOf: [ref('Problem'), { required: ['status', 'code'], properties: { status: { type: 'integer', const: status }, code: { type: 'string', enum: codes } } }] },
    };
    const examples = store.refs('Problem', problems.filter(([, p]) => (p as JsonObject).status === status && codes.includes((p as JsonObject).code as ProblemCode)), 'fixtures/problem');
    if (examples) media.examples = examples;
    const response: JsonObject = {
      description: `${STATUS_CODES[status]}: ${entries.map(([code, reqs]) => `${code} (${reqs.join(', ')})`).join('; ')}.`,
      content: { 'application/problem+json': media },
    };
    if (status === 401) response.headers = { 'WWW-Authenticate': headerRef('WwwAuthenticate') };
    if (status === 429 || status === 503) response.headers = { 'Retry-After': headerRef('RetryAfter') };
    out[String(status)] = response;
  }
  return out;
}

// Links (OpenAPI 3.1 §4.8.20): each answer that names an intent, a thread or an agent leads to the
// operations on it, so stateful tools (e.g. Schemathesis) chain real ids instead of guessing.
const PER_INTENT = ['getIntent', 'listEvents', 'streamEvents', 'ackIntent', 'resumeIntent', 'resolveIntent', 'cancelIntent', 'redeliverIntent'];
const PER_DELIVERY = ['getIntent', 'listEvents', 'streamEvents', 'ackIntent', 'resumeIntent', 'resolveIntent'];
const PER_THREAD = ['getInboxThread', 'approveInboxThread', 'rejectInboxThread', 'replyInboxThread'];
const PER_AGENT = ['getAgent', 'streamDeliveries', 'pollDeliveries'];

interface LinkSet { targets: string[]; parameters: Record<string, string>; description: string }

/** The links of a route's 200 answer (agent routes: within the same address form). */
function linkSets(route: RouteSpec): LinkSet[] {
  const intentLinks = (pointer: string, description: string, targets = PER_INTENT): LinkSet => ({ targets, parameters: { intent_id: `$response.body#${pointer}` }, description });
  const threadLinks = (threadPointer: string, ownerPointer: string, description: string, targets = PER_THREAD): LinkSet => ({
    targets, parameters: { thread_id: `$response.body#${threadPointer}`, owner_agent: `$response.body#${ownerPointer}` }, description,
  });
  switch (route.id) {
    case 'createIntent':
      return [
        intentLinks('/intent_id', 'The intent just created.'),
        // INBOX-001: an intent delivered to an inbox agent opens a task thread with thread_id = intent_id.
        threadLinks('/intent_id', '/intent/to_agent', 'The receiver\'s task thread of the intent just created (when the receiver is an inbox agent).'),
      ];
    case 'getIntent':
      return [intentLinks('/intent_id', 'The intent just read.')];
    case 'listIntents':
      return [intentLinks('/intents/0/intent_id', 'The first intent of the page.')];
    case 'pollDeliveries':
      return [intentLinks('/deliveries/0/intent_id', 'The intent of the first delivery of the answer.', PER_DELIVERY)];
    case 'listDeadLetters':
      return [intentLinks('/dead_letters/0/intent_id', 'The intent of the first dead letter.', ['getIntent', 'listEvents', 'redeliverIntent'])];
    case 'listInbox':
      return [
        threadLinks('/threads/0/thread_id', '/threads/0/owner_agent', 'The first thread of the inbox.'),
        intentLinks('/threads/0/thread_id', 'The intent of the first thread (thread_id = intent_id).', ['getIntent', 'listEvents']),
      ];
    case 'getInboxThread':
      return [
        threadLinks('/thread/thread_id', '/thread/owner_agent', 'The thread just read.', PER_THREAD.filter((t) => t !== 'getInboxThread')),
        intentLinks('/thread/thread_id', 'The intent of the thread (thread_id = intent_id).', ['getIntent', 'listEvents']),
      ];
    case 'putAgent':
      return [
        { targets: PER_AGENT, parameters: {}, description: 'The agent just registered (same address).' },
        { targets: ['listInbox'], parameters: { owner_agent: '$response.body#/agent/address' }, description: 'The inbox of the agent just registered.' },
        { targets: ['listDeadLetters'], parameters: { agent: '$response.body#/agent/address' }, description: 'The dead letters of the agent just registered.' },
      ];
    case 'getAgent':
      return [{ targets: ['streamDeliveries', 'pollDeliveries'], parameters: {}, description: 'The deliveries of the agent just read (same address).' }];
    default:
      if (route.response === 'intent-write-response') return [intentLinks('/intent/intent_id', 'The intent just written.', PER_INTENT.filter((t) => t !== route.id))];
      return [];
  }
}

function links(route: RouteSpec, variant: AddressVariant | undefined): JsonObject | undefined {
  const out: JsonObject = {};
  for (const set of linkSets(route)) {
    for (const target of set.targets) {
      const targetRoute = routes.find((r) => r.id === target);
      if (!targetRoute) throw new Error(`link to unknown route ${target}`);
      const parameters: JsonObject = { ...set.parameters };
      let operationId = target;
      if (targetRoute.path.includes('{address}')) {
        // Agent routes: the same address, taken from this request's path.
        if (!variant) throw new Error(`${route.id} links to agent route ${target} but has no address`);
        for (const p of variant.params) parameters[p] = `$request.path.${p}`;
        operationId = `${target}${variant.suffix}`;
      }
      out[operationId] = { operationId, parameters, description: set.description };
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function parameterOf(name: string, location: 'query' | 'header', schema: JsonValue, rewrite: (s: JsonValue) => JsonValue): JsonObject {
  const rewritten = rewrite(schema) as JsonObject;
  const { description, ...rest } = rewritten;
  return { name, in: location, required: false, ...(typeof description === 'string' ? { description } : {}), schema: rest };
}

function operation(route: RouteSpec, pathParams: JsonObject[], operationId: string, variant: AddressVariant | undefined, ctx: Context): JsonObject {
  const parameters: JsonObject[] = [...pathParams];
  for (const [name, schema] of Object.entries(route.query?.properties ?? {})) parameters.push(parameterOf(name, 'query', schema as JsonValue, ctx.rewrite));
  for (const header of route.headers ?? []) {
    const known = HEADERS[header];
    if (!known) throw new Error(`routes.ts names undocumented header ${header}`);
    parameters.push({ name: header, in: 'header', required: false, ...known });
  }
  const op: JsonObject = {
    operationId,
    summary: route.summary,
    description: `${route.summary} Requirements: ${route.spec.join(', ')}.`,
    tags: [tagOf(route.path)],
  };
  if (parameters.length > 0) op.parameters = parameters;
  if (route.body) {
    const media: JsonObject = { schema: ref(ctx.componentOf(route.body)) };
    const examples = ctx.examples.refs(ctx.componentOf(route.body), fixtures(route.body), `fixtures/${route.body}`);
    if (examples) media.examples = examples;
    op.requestBody = {
      required: !route.bodyOptional,
      ...(route.bodyOptional ? { description: 'Optional: an empty body or none at all is accepted whatever its Content-Type (ERR-010).' } : {}),
      content: { 'application/json': media },
    };
  }
  const ok = okResponse(route, ctx);
  const okLinks = links(route, variant);
  if (okLinks) ok.links = okLinks;
  op.responses = { '200': ok, ...problemResponses(route, ctx) };
  op.security = route.auth === 'none' ? [] : route.auth === 'admin' ? [{ adminKey: [] }] : [{ agentKey: [] }, { adminKey: [] }];
  op['x-axp-auth'] = route.auth;
  op['x-axp-route-id'] = route.id;
  op['x-axp-spec'] = route.spec;
  return op;
}

/**
 * Segments of the first receiver address with `count` segments among the create-request fixtures,
 * so an example registration and an example intent meet at the same agent.
 */
function addressExample(count: number): string[] | undefined {
  for (const [, body] of fixtures('intent-create-request')) {
    const segments = String((body as JsonObject).to_agent).replace(/^agent:\/\//, '').split('/');
    if (segments.length === count && segments[0] !== 'system') return segments;
  }
  return undefined;
}

function idParam(name: string, schema: JsonObject): JsonObject {
  return { name, in: 'path', required: true, schema };
}

const KEY_TRANSPORT = 'It travels in x-api-key, or equally in Authorization: Bearer <key> (scheme name case-insensitive); a request carrying both headers must carry the same key in each, and two different keys are 401 unauthorized: a request never acts under two identities (SEC-001). A missing or unknown key is 401 with WWW-Authenticate: Bearer (SEC-002). Send it one way: this scheme names x-api-key.';

/** The OpenAPI document as a JSON value (deterministic key and array order). */
export function buildOpenApi(): JsonObject {
  const bundle = bundleSchemas((name) => `#/components/schemas/${name}`);
  const componentOf: ComponentOf = (name) => {
    const component = bundle.componentOf[name];
    if (!component) throw new Error(`routes.ts names unknown schema ${name}`);
    return component;
  };
  const ctx: Context = { componentOf, statusOf: problemStatuses(), rewrite: bundle.rewrite, examples: new ExampleStore() };

  const paths: Record<string, JsonObject> = {};
  const addOperation = (path: string, method: string, op: JsonObject): void => {
    paths[path] ??= {};
    if (paths[path][method]) throw new Error(`two routes for ${method.toUpperCase()} ${path}`);
    paths[path][method] = op;
  };

  for (const route of routes) {
    const method = route.method.toLowerCase();
    if (route.path.includes('{address}')) {
      for (const variant of ADDRESS_VARIANTS) {
        const path = route.path.replace('{address}', variant.params.map((p) => `{${p}}`).join('/'));
        const last = variant.params[variant.params.length - 1];
        const example = addressExample(variant.params.length);
        const params = variant.params.map((p, i) => ({
          ...(example ? { example: example[i] } : {}),
          // TERM-003: the last segment of an address is never 'intents', which agent paths reserve.
          ...idParam(p, p === last ? { ...ADDRESS_SEGMENT, not: { const: 'intents' } } : ADDRESS_SEGMENT),
          description: `Segment of the agent address agent://${variant.params.map((q) => `{${q}}`).join('/')} (TERM-001${p === last ? '; never intents, TERM-003' : ''}); not an address: 422 validation_failed (TERM-004).`,
        }));
        addOperation(path, method, operation(route, params, `${route.id}${variant.suffix}`, variant, ctx));
      }
      continue;
    }
    const params = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({
      ...idParam(m[1], ref('Uuid')),
      description: m[1] === 'thread_id' ? 'The thread id, which is the intent id (INBOX-004); unknown or malformed: 404 thread_not_found.' : 'The intent id; unknown, malformed or not visible to the caller: 404 intent_not_found (INT-022).',
    }));
    addOperation(route.path, method, operation(route, params, route.id, undefined, ctx));
  }

  const sortedPaths = Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]]));
  return {
    openapi: '3.1.0',
    info: {
      title: 'AXP v1 HTTP API',
      version: '1.0.0',
      summary: 'The AXP intent protocol: send intents, deliver them to agents over stream, poll, http, inbox or internal bindings, and observe their lifecycle.',
      description: [
        'Generated by npm run gen:openapi from schemas/routes.ts, schemas/*.schema.json, the code table of spec/13-errors.md and fixtures/. Do not edit.',
        'Agent addresses agent://a/b[/c] appear in paths without agent://, slashes kept, hence a two-segment and a three-segment variant of every agent route (x-axp-route-id names the route they share).',
        'Every operation lists each status it may answer under spec/; each error is an RFC 9457 problem document (application/problem+json) whose code is one of those its response names (ERR-001, ERR-002). A status an operation does not list is not conformant.',
        'Requests that match no operation: 404 not_found (no such path), 405 method_not_allowed with Allow (a known path with another method), and 422 validation_failed for an agent path whose address part is not an address (TERM-004, ERR-011).',
        'Links chain the ids an answer returns (intent_id, thread_id, the agent address) to the operations on them.',
      ].join('\n\n'),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ agentKey: [] }, { adminKey: [] }],
    servers: [{ url: '{origin}', description: 'An AXP server, e.g. npx axp-server --port 8080.', variables: { origin: { default: 'http://127.0.0.1:8080', description: 'Scheme, host and port of the server.' } } }],
    tags: [...new Set(routes.map((r) => tagOf(r.path)))].sort().map((name) => {
      const description = TAG_DESCRIPTIONS[name];
      if (!description) throw new Error(`no description for tag ${name}`);
      return { name, description };
    }),
    paths: sortedPaths,
    components: {
      schemas: Object.fromEntries(bundle.components),
      headers: RESPONSE_HEADERS,
      examples: ctx.examples.sorted(),
      securitySchemes: {
        agentKey: {
          type: 'apiKey', in: 'header', name: 'x-api-key',
          description: `An agent key (axp_<random>, issued once by PUT /v1/agents/{address}, AGT-002): acts as that agent only (SEC-004). ${KEY_TRANSPORT}`,
        },
        adminKey: {
          type: 'apiKey', in: 'header', name: 'x-api-key',
          description: `The server's one admin key (set by configuration): required on admin-only routes, where an agent key is 403 forbidden (SEC-003), and accepted on every agent route, acting on any agent or intent. ${KEY_TRANSPORT}`,
        },
      },
    },
  };
}

/** The full text of openapi/openapi.json. */
export function generateOpenApi(): string {
  return `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(openapiPath), { recursive: true });
  writeFileSync(openapiPath, generateOpenApi());
  console.log(`wrote ${openapiPath}`);
}
