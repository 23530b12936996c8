// Routes are data (schemas/routes.ts); modules only supply handlers by route id. Mounting adds
// auth (before the body is read), schemas, body-size and header checks, and a fallback for ids
// no module handles.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { routes, type RouteSpec } from '../../schemas/routes.js';
import { definitionSchemas, schemaId, schemas, type SchemaName } from '../../schemas/index.js';
import type * as Wire from '../../schemas/types.js';
import { Problem } from '../errors.js';
import type { Authenticator } from '../auth.js';
import type { Caller } from '../model.js';
import type { ServerContext } from '../context.js';
import { MAX_PAYLOAD_BYTES } from '../limits.js';

declare module 'fastify' {
  interface FastifyRequest { caller?: Caller }
}

/** The body of every route that has one, as generated from its schema (schemas/types.ts). */
export interface RouteBodies {
  putAgent: Wire.AgentRegistrationRequest;
  createIntent: Wire.IntentCreateRequest;
  ackIntent: Wire.AckRequest;
  resumeIntent: Wire.ResumeRequest;
  resolveIntent: Wire.ResolveRequest;
  cancelIntent: Wire.CancelRequest;
  approveInboxThread: Wire.InboxDecisionRequest;
  rejectInboxThread: Wire.InboxDecisionRequest;
  replyInboxThread: Wire.InboxReplyRequest;
  advanceTestClock: Wire.TestClockRequest;
}

/** The schema each of those types is generated from (a test holds it to schemas/routes.ts). */
export const BODY_SCHEMAS: { readonly [Id in keyof RouteBodies]: SchemaName } = {
  putAgent: 'agent-registration-request',
  createIntent: 'intent-create-request',
  ackIntent: 'ack-request',
  resumeIntent: 'resume-request',
  resolveIntent: 'resolve-request',
  cancelIntent: 'cancel-request',
  approveInboxThread: 'inbox-decision-request',
  rejectInboxThread: 'inbox-decision-request',
  replyInboxThread: 'inbox-reply-request',
  advanceTestClock: 'test-clock-request',
};

/**
 * The query string of every route that has one, as its schema in schemas/routes.ts leaves it
 * after validation with type coercion ("5" → 5; absent parameters stay absent: no defaults).
 */
export interface RouteQueries {
  streamDeliveries: { since?: number; wait_seconds?: number };
  pollDeliveries: { wait_seconds?: number; limit?: number };
  listIntents: { status?: Wire.Status; role?: 'sender' | 'receiver' | 'any'; limit?: number; cursor?: string };
  getIntent: { wait_seconds?: number };
  listEvents: { since?: number };
  streamEvents: { since?: number; wait_seconds?: number };
  listDeadLetters: { agent?: Wire.Address; limit?: number; cursor?: string };
  listInbox: { owner_agent?: Wire.Address; open?: boolean };
  getInboxThread: { owner_agent?: Wire.Address };
  approveInboxThread: { owner_agent?: Wire.Address };
  rejectInboxThread: { owner_agent?: Wire.Address };
  replyInboxThread: { owner_agent?: Wire.Address };
}

/** The parameters of each of those types (a test holds them to the query schemas of schemas/routes.ts). */
export const QUERY_PARAMETERS: { readonly [Id in keyof RouteQueries]-?: readonly (keyof RouteQueries[Id])[] } = {
  streamDeliveries: ['since', 'wait_seconds'],
  pollDeliveries: ['wait_seconds', 'limit'],
  listIntents: ['status', 'role', 'limit', 'cursor'],
  getIntent: ['wait_seconds'],
  listEvents: ['since'],
  streamEvents: ['since', 'wait_seconds'],
  listDeadLetters: ['agent', 'limit', 'cursor'],
  listInbox: ['owner_agent', 'open'],
  getInboxThread: ['owner_agent'],
  approveInboxThread: ['owner_agent'],
  rejectInboxThread: ['owner_agent'],
  replyInboxThread: ['owner_agent'],
};

export type BodyOf<Id extends string> = Id extends keyof RouteBodies ? RouteBodies[Id] : unknown;
export type QueryOf<Id extends string> = Id extends keyof RouteQueries ? RouteQueries[Id] : unknown;
export type RouteRequest<Id extends string> = FastifyRequest<{ Body: BodyOf<Id>; Querystring: QueryOf<Id> }>;
export type RouteHandler<Id extends string = string> = (req: RouteRequest<Id>, reply: FastifyReply, caller: Caller) => Promise<unknown>;
export type RouteModule = (r: RouteRegistrar, ctx: ServerContext) => void;

export class RouteRegistrar {
  readonly handlers = new Map<string, RouteHandler>();
  private readonly known = new Set(routes.map((r) => r.id));

  handle<Id extends string>(id: Id, handler: RouteHandler<Id>): void {
    if (!this.known.has(id)) throw new Error(`route ${id} is not in schemas/routes.ts`);
    if (this.handlers.has(id)) throw new Error(`route ${id} handled twice`);
    // mountOne gives the route its body schema, so the body a handler sees has been validated
    // against the schema its type is generated from (ERR-006); a body-optional route gets {}.
    this.handlers.set(id, handler as RouteHandler);
  }
}

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SUBSCHEMAS = new Set(['items', 'additionalProperties', 'if', 'then', 'else', 'not', 'contains', 'propertyNames']);

/**
 * A wire schema as the response serializer (fast-json-stringify) must see it to write exactly
 * what JSON.stringify would: $refs made absolute (it resolves them only by registered id, not
 * relative to the enclosing $id); `default` removed (it writes defaults into absent properties);
 * additionalProperties spelled out as true where JSON Schema leaves it implicit (it drops
 * undeclared properties unless told otherwise, which would empty `payload` and `details`).
 */
export function serializerSchema<T>(schema: T): T {
  const base = (schema as { $id: string }).$id;
  const walk = (node: unknown): unknown => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === 'default') continue;
      if (key === '$ref' && typeof value === 'string') out[key] = new URL(value, base).href;
      else if (SCHEMA_MAPS.has(key) && value !== null && typeof value === 'object') out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, walk(sub)]));
      else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) out[key] = value.map(walk);
      else if (SUBSCHEMAS.has(key)) out[key] = walk(value);
      else out[key] = value;
    }
    const objectSchema = out.type === 'object' || (Array.isArray(out.type) && out.type.includes('object')) || 'properties' in out;
    if (objectSchema && !('additionalProperties' in out)) out.additionalProperties = true;
    return out;
  };
  return walk(schema) as T;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,128}$/;

/** `{address}` holds slashes: mount one Fastify route per address length (2 or 3 segments). */
function fastifyPaths(path: string): string[] {
  const withParams = path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'address' ? '{address}' : `:${name}`));
  if (!withParams.includes('{address}')) return [withParams];
  return [withParams.replace('{address}', ':seg1/:seg2'), withParams.replace('{address}', ':seg1/:seg2/:seg3')];
}

/** ERR-011: which methods a concrete path supports (for 405 and its Allow header). */
const ROUTE_PATTERNS = routes.map((spec) => ({
  method: spec.method,
  pattern: new RegExp(`^${spec.path.replace(/\{address\}/g, '[^/]+/[^/]+(?:/[^/]+)?').replace(/\{\w+\}/g, '[^/]+')}$`),
}));

export function methodsFor(path: string): string[] {
  return [...new Set(ROUTE_PATTERNS.filter((r) => r.pattern.test(path)).map((r) => r.method))];
}

export function mountRoutes(app: FastifyInstance, registrar: RouteRegistrar, fallbacks: RouteRegistrar, auth: Authenticator): void {
  // Every wire schema under its $id, for the response serializer (fast-json-stringify), which
  // resolves a $ref only by a registered id, not relative to the $id of the schema it sits in.
  for (const schema of [...definitionSchemas, ...Object.values(schemas)]) app.addSchema(serializerSchema(schema));
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0];
    const allowed = methodsFor(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      throw new Problem('method_not_allowed', `${req.method} is not supported on ${path}`);
    }
    // TERM-004: an agent path whose address has the wrong segment count is a bad address, not an unknown route.
    if ((req.method === 'GET' || req.method === 'PUT') && path.startsWith('/v1/agents/')) {
      await auth.authenticate(req.headers);
      throw new Problem('validation_failed', `not an agent address: ${path.slice('/v1/agents/'.length)}`, [{ pointer: '/address', message: 'must be agent://<seg>/<seg>[/<seg>]', keyword: 'pattern', location: 'params' }]);
    }
    throw new Problem('not_found', `no route ${req.method} ${path}`);
  });
  for (const spec of routes) {
    const handler = registrar.handlers.get(spec.id) ?? fallbacks.handlers.get(spec.id);
    if (!handler) throw new Error(`no handler for route ${spec.id}`);
    for (const url of fastifyPaths(spec.path)) mountOne(app, spec, url, handler, auth);
  }
}

function mountOne(app: FastifyInstance, spec: RouteSpec, url: string, handler: RouteHandler, auth: Authenticator): void {
  const schema: Record<string, unknown> = {};
  if (spec.body) schema.body = { $ref: schemaId(spec.body) };
  // ERR-012: a route without query parameters refuses any parameter, like one with a schema.
  schema.querystring = spec.query ?? { type: 'object', properties: {}, additionalProperties: false };
  // The 200 and every problem+json answer are written by the serializer compiled from their
  // schemas (faster than JSON.stringify). SSE routes hijack the reply and write their frames.
  if (typeof spec.response === 'string') schema.response = { 200: { $ref: schemaId(spec.response) }, '4xx': { $ref: schemaId('problem') }, '5xx': { $ref: schemaId('problem') } };
  const options: RouteShorthandOptions = {
    schema,
    // SEC-001/002: 401 and 403 come before any parsing or validation.
    onRequest: async (req, reply) => {
      // Set here rather than in an onSend hook: one hook less per request, same header on every answer.
      const trace = req.headers['x-trace-id'];
      if (typeof trace === 'string') reply.header('x-trace-id', trace);
      if (spec.auth === 'none') return;
      req.caller = await auth.authenticate(req.headers);
      if (spec.auth === 'admin' && !req.caller.admin) throw new Problem('forbidden', 'this route needs the admin key');
    },
    // Only routes with something to check get the hook (each async hook costs every request).
    preValidation: !(spec.bodyOptional || spec.headers?.includes('Idempotency-Key') || spec.body === 'intent-create-request') ? undefined : async (req) => {
      if (spec.bodyOptional && req.body === undefined) req.body = {};
      if (spec.headers?.includes('Idempotency-Key')) {
        const key = req.headers['idempotency-key'];
        if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))) {
          throw new Problem('idempotency_key_invalid', 'Idempotency-Key must be 8 to 128 visible ASCII characters');
        }
      }
      // The payload's serialization can outgrow its text only through numbers ("1e20" prints 21
      // characters): a body under a sixth of the limit cannot hold a payload over it (no re-serializing).
      const bodyBytes = Number(req.headers['content-length'] ?? Number.POSITIVE_INFINITY);
      if (spec.body === 'intent-create-request' && !(bodyBytes * 6 <= MAX_PAYLOAD_BYTES)) {
        const body: unknown = req.body;
        const payload = typeof body === 'object' && body !== null && 'payload' in body ? body.payload : undefined;
        if (payload !== undefined && Buffer.byteLength(JSON.stringify(payload)) > MAX_PAYLOAD_BYTES) {
          throw new Problem('payload_too_large', `payload exceeds ${MAX_PAYLOAD_BYTES} bytes serialized`);
        }
      }
    },
  };
  app.route<{ Body: unknown; Querystring: unknown }>({
    method: spec.method, url, ...options,
    handler: async (req, reply) => {
      const body = await handler(req, reply, req.caller ?? { address: 'anonymous', admin: false });
      if (reply.sent) return reply;
      return body;
    },
  });
}
