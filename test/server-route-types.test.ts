// The request types route handlers see are the generated types of the schemas their bodies are
// validated against, and query types with the parameters of each route's query schema: the
// registrar's tables of them must match schemas/routes.ts exactly.
import { describe, expect, it } from 'vitest';
import { routes } from '../schemas/routes.js';
import { BODY_SCHEMAS, QUERY_PARAMETERS } from '../reference-server/routes/registrar.js';

describe('route request types', () => {
  it('cover every route with a body, with the schema schemas/routes.ts validates it against', () => {
    const withBody = Object.fromEntries(routes.filter((r) => r.body !== undefined).map((r) => [r.id, r.body]));
    expect(BODY_SCHEMAS).toEqual(withBody);
  });

  it('cover every route with a query string, with exactly the parameters its query schema declares', () => {
    const withQuery = Object.fromEntries(routes.filter((r) => r.query !== undefined).map((r) => [r.id, Object.keys(r.query!.properties).sort()]));
    const typed = Object.fromEntries(Object.entries(QUERY_PARAMETERS).map(([id, names]) => [id, [...names].sort()]));
    expect(typed).toEqual(withQuery);
  });
});
