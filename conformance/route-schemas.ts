// Which schema an answer must match, found from schemas/routes.ts by method and path, so every
// 2xx body and SSE frame is validated even when a case names no schema.
import type { SchemaName } from '../schemas/index.js';
import { routes, type RouteSpec } from '../schemas/routes.js';

interface CompiledRoute {
  route: RouteSpec;
  pattern: RegExp;
  /** Literal characters in the template: the more, the more specific. */
  weight: number;
}

function compile(route: RouteSpec): CompiledRoute {
  const parts = route.path.split(/(\{[a-z_]+\})/);
  let source = '';
  let weight = 0;
  for (const part of parts) {
    if (part === '{address}') source += '(.+?)';
    else if (/^\{[a-z_]+\}$/.test(part)) source += '([^/]+)';
    else {
      source += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      weight += part.length;
    }
  }
  return { route, pattern: new RegExp(`^${source}$`), weight };
}

const compiled = routes.map(compile).sort((a, b) => b.weight - a.weight);

export function routeFor(method: string, path: string): RouteSpec | undefined {
  const bare = path.split('?')[0];
  return compiled.find((c) => c.route.method === method && c.pattern.test(bare))?.route;
}

/** The JSON schema of a route's 200 answer (undefined for SSE routes and unknown paths). */
export function responseSchemaFor(method: string, path: string): SchemaName | undefined {
  const response = routeFor(method, path)?.response;
  return typeof response === 'string' ? response : undefined;
}

/** The schema each SSE frame's data must match on a route (stream.timeout frames aside). */
export function frameSchemaFor(path: string): SchemaName | undefined {
  const response = routeFor('GET', path)?.response;
  return response && typeof response === 'object' ? response.sse : undefined;
}
