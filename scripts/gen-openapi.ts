// npm run gen:openapi: schemas/routes.ts + schemas/*.schema.json → openapi/openapi.json (OpenAPI 3.1).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { routes, type RouteSpec } from '../schemas/routes.js';
import { bundleSchemas, type JsonObject, type JsonValue } from './schema-bundle.js';

export const openapiPath = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url));

const ref = (component: string): JsonObject => ({ $ref: `#/components/schemas/${component}` });

/** One address segment (TERM-002); the address travels in the path without 'agent://'. */
const ADDRESS_SEGMENT: JsonObject = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' };
const ADDRESS_VARIANTS = [
  { params: ['org', 'env'], suffix: 'TwoSegments' },
  { params: ['org', 'env', 'name'], suffix: '' },
] as const;

const HEADERS: Record<string, JsonObject> = {
  'Idempotency-Key': {
    description: 'Repeating the request with the same key replays its first answer; the same key with a different body is 409 idempotency_key_conflict (IDEM-001, IDEM-005, IDEM-010).',
    schema: { type: 'string', minLength: 8, maxLength: 128, pattern: '^[\\x21-\\x7E]+$' },
  },
  'Last-Event-ID': {
    description: 'SSE resume cursor: the last seq received; used as since when the query has none.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
};

function tagOf(path: string): string {
  const segment = path.split('/')[2] ?? '';
  if (path === '/health' || path.startsWith('/.well-known') || segment === 'capabilities') return 'discovery';
  if (segment === '_test') return 'test-clock';
  return segment;
}

function sseDescription(frame: string): string {
  return frame === 'Delivery'
    ? 'Server-sent events: one frame per delivery (id: <agent seq>, event: intent.delivered, data: one-line JSON Delivery), `: keepalive` comments, and a final frame event: stream.timeout whose data is a StreamTimeoutFrame (no id).'
    : 'Server-sent events: one frame per event (id: <event seq>, event: <event_type>, data: one-line JSON Event), `: keepalive` comments; ends after a terminal event or with a final frame event: stream.timeout whose data is a StreamTimeoutFrame (no id).';
}

function responses(route: RouteSpec, componentOf: (name: RouteSpec['body'] & string) => string): JsonObject {
  let ok: JsonObject;
  if (typeof route.response === 'string') {
    ok = { description: 'Success', content: { 'application/json': { schema: ref(componentOf(route.response)) } } };
  } else {
    const frame = componentOf(route.response.sse);
    ok = {
      description: 'Success: an event stream',
      content: {
        'text/event-stream': {
          schema: { type: 'string', description: sseDescription(frame) },
          'x-axp-sse-frames': { data: ref(frame), final: { event: 'stream.timeout', data: ref('StreamTimeoutFrame') } },
        },
      },
    };
  }
  return { '200': ok, default: { $ref: '#/components/responses/Problem' } };
}

function operation(route: RouteSpec, pathParams: JsonObject[], operationId: string, componentOf: (name: string) => string): JsonObject {
  const parameters: JsonObject[] = [...pathParams];
  for (const [name, schema] of Object.entries(route.query?.properties ?? {})) {
    parameters.push({ name, in: 'query', required: false, schema: schema as JsonValue });
  }
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
    op.requestBody = { required: !route.bodyOptional, content: { 'application/json': { schema: ref(componentOf(route.body)) } } };
  }
  op.responses = responses(route, componentOf);
  op.security = route.auth === 'none' ? [] : [{ apiKey: [] }, { bearer: [] }];
  op['x-axp-auth'] = route.auth;
  op['x-axp-route-id'] = route.id;
  op['x-axp-spec'] = route.spec;
  return op;
}

function idParam(name: string, schema: JsonObject): JsonObject {
  return { name, in: 'path', required: true, schema };
}

/** The OpenAPI document as a JSON value (deterministic key and array order). */
export function buildOpenApi(): JsonObject {
  const bundle = bundleSchemas((name) => `#/components/schemas/${name}`);
  const componentOf = (name: string): string => {
    const component = (bundle.componentOf as Record<string, string>)[name];
    if (!component) throw new Error(`routes.ts names unknown schema ${name}`);
    return component;
  };

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
        const params = variant.params.map((p) => ({ ...idParam(p, ADDRESS_SEGMENT), description: `Segment of the agent address agent://${variant.params.map((q) => `{${q}}`).join('/')}.` }));
        addOperation(path, method, operation(route, params, `${route.id}${variant.suffix}`, componentOf));
      }
      continue;
    }
    const params = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => idParam(m[1], ref('Uuid')));
    addOperation(route.path, method, operation(route, params, route.id, componentOf));
  }

  const sortedPaths = Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]]));
  return {
    openapi: '3.1.0',
    info: {
      title: 'AXP v1 HTTP API',
      version: '1.0.0',
      summary: 'The AXP intent protocol: send intents, deliver them to agents over stream, poll, http, inbox or internal bindings, and observe their lifecycle.',
      description: 'Generated by npm run gen:openapi from schemas/routes.ts and schemas/*.schema.json. Do not edit. Agent addresses agent://a/b[/c] appear in paths without agent://, slashes kept, hence a two-segment and a three-segment variant of every agent route (x-axp-route-id names the route they share).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ apiKey: [] }, { bearer: [] }],
    tags: [...new Set(routes.map((r) => tagOf(r.path)))].sort().map((name) => ({ name })),
    paths: sortedPaths,
    components: {
      schemas: Object.fromEntries(bundle.components),
      responses: {
        Problem: {
          description: 'Any error: RFC 9457 problem details with a stable code (ERR-001).',
          content: { 'application/problem+json': { schema: ref('Problem') } },
        },
      },
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An agent key (axp_...) or the admin key.' },
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <agent key or admin key>.' },
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
