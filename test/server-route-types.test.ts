// The request types route handlers see are the generated types of the schemas their bodies are
// validated against: the registrar's table of them must name each route's body schema exactly.
import { describe, expect, it } from 'vitest';
import { routes } from '../schemas/routes.js';
import { BODY_SCHEMAS } from '../reference-server/routes/registrar.js';

describe('route body types', () => {
  it('cover every route with a body, with the schema schemas/routes.ts validates it against', () => {
    const withBody = Object.fromEntries(routes.filter((r) => r.body !== undefined).map((r) => [r.id, r.body]));
    expect(BODY_SCHEMAS).toEqual(withBody);
  });
});
