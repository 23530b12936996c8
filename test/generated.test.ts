// The committed generated artefacts (schemas/types.ts, openapi/openapi.json) are fresh, the OpenAPI
// document holds together, and the generated types accept every valid fixture.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { schemaNames, type SchemaName } from '../schemas/index.js';
import { routes } from '../schemas/routes.js';
import type { IntentCreateRequest, Problem } from '../schemas/types.js';
import { generateOpenApi, openapiPath } from '../scripts/gen-openapi.js';
import { generateTypes, typesPath } from '../scripts/gen-types.js';
import { bundleSchemas } from '../scripts/schema-bundle.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const REGENERATE = 'run npm run gen:types && npm run gen:openapi and commit the result';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// Compile-time use of the generated types (checked by npm run typecheck).
const sampleCreate = { intent_type: 'intent.order.process.v1', to_agent: 'agent://acme/prod/payments', payload: {} } satisfies IntentCreateRequest;
const sampleProblem = { type: 'about:blank', title: 'Unauthorized', status: 401, code: 'unauthorized' } satisfies Problem;

describe('generated files are fresh', () => {
  it('schemas/types.ts equals a fresh gen:types run', async () => {
    expect(await generateTypes(), REGENERATE).toBe(readFileSync(typesPath, 'utf8'));
  });

  it('openapi/openapi.json equals a fresh gen:openapi run', () => {
    expect(generateOpenApi(), REGENERATE).toBe(readFileSync(openapiPath, 'utf8'));
  });

  it('generation is deterministic', async () => {
    expect(await generateTypes()).toBe(await generateTypes());
    expect(generateOpenApi()).toBe(generateOpenApi());
  });
});

describe('openapi/openapi.json', () => {
  const doc = JSON.parse(readFileSync(openapiPath, 'utf8')) as { [key: string]: Json };
  const operations = Object.entries(doc.paths as Record<string, Record<string, Record<string, Json>>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op })),
  );

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('every $ref resolves inside the document', () => {
    const refs: string[] = [];
    const walk = (node: Json): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(50);
    const unresolved = refs.filter((ref) => {
      if (!ref.startsWith('#/')) return true;
      let node: Json | undefined = doc;
      for (const part of ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
        node = node && typeof node === 'object' && !Array.isArray(node) ? node[part] : undefined;
      }
      return node === undefined;
    });
    expect(unresolved).toEqual([]);
  });

  it('every route of schemas/routes.ts is documented, agent routes in both address forms', () => {
    for (const route of routes) {
      const matching = operations.filter((o) => o.op['x-axp-route-id'] === route.id && o.method === route.method.toLowerCase());
      expect(matching.length, route.id).toBe(route.path.includes('{address}') ? 2 : 1);
      for (const { path, op } of matching) {
        expect(path.replace(/\{org\}\/\{env\}(\/\{name\})?/, '{address}'), route.id).toBe(route.path);
        expect(op.requestBody !== undefined, `${route.id} request body`).toBe(route.body !== undefined);
        const content = Object.keys((op.responses as Record<string, Record<string, Json>>)['200'].content as object);
        expect(content, route.id).toEqual([typeof route.response === 'string' ? 'application/json' : 'text/event-stream']);
      }
    }
    expect(operations).toHaveLength(routes.reduce((n, r) => n + (r.path.includes('{address}') ? 2 : 1), 0));
  });

  it('operationIds are unique', () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every wire schema is a component, and errors are problem+json', () => {
    const components = Object.keys((doc.components as Record<string, Record<string, Json>>).schemas);
    const { componentOf } = bundleSchemas((name) => name);
    for (const name of schemaNames) expect(components).toContain(componentOf[name]);
    for (const { op } of operations) {
      const responses = op.responses as Record<string, Record<string, Json>>;
      expect(responses.default, `${op.operationId} lists its statuses, no default`).toBeUndefined();
      for (const [status, response] of Object.entries(responses).filter(([s]) => s !== '200')) {
        expect(Object.keys(response.content as object), `${op.operationId} ${status}`).toEqual(['application/problem+json']);
      }
    }
  });
});

describe('schemas/types.ts accepts the fixtures', () => {
  const { componentOf } = bundleSchemas((name) => name);
  const fixture = (...parts: string[]): string => readFileSync(join(repoRoot, 'fixtures', ...parts), 'utf8');

  /** Type-checks one in-memory module per entry against schemas/types.ts; returns diagnostics per module. */
  function typeCheck(modules: Record<string, string>): Record<string, string[]> {
    const options: ts.CompilerOptions = {
      strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: [],
    };
    const files = new Map(Object.entries(modules).map(([name, text]) => [join(repoRoot, 'test', `__typecheck_${name}.ts`), text]));
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
    host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
    host.getSourceFile = (f, language, ...rest) => {
      const text = files.get(f);
      return text === undefined ? getSourceFile.call(host, f, language, ...rest) : ts.createSourceFile(f, text, language);
    };
    const program = ts.createProgram([...files.keys()], options, host);
    const result: Record<string, string[]> = {};
    for (const [name] of Object.entries(modules)) {
      const source = program.getSourceFile(join(repoRoot, 'test', `__typecheck_${name}.ts`));
      result[name] = ts.getPreEmitDiagnostics(program, source).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    }
    return result;
  }

  const header = "import type * as T from '../schemas/types.js';\n";
  const valid = schemaNames.flatMap((name) =>
    readdirSync(join(repoRoot, 'fixtures', name, 'valid')).filter((f) => f.endsWith('.json')).sort()
      .map((file, i) => `// ${name}/valid/${file}\nexport const ${name.replace(/-/g, '_')}_${i}: T.${componentOf[name]} = ${fixture(name, 'valid', file)};`),
  );
  // Invalid fixtures whose mistake is visible to the type system: each must be rejected, which
  // shows the valid check above could fail.
  const rejected: Record<string, [SchemaName, string]> = {
    missingIntentType: ['intent-create-request', 'missing-intent-type.json'],
    lowercaseResolveStatus: ['resolve-request', 'lowercase-status.json'],
    unknownPriorityField: ['intent-create-request', 'unknown-priority-field.json'],
    okFalse: ['health-response', 'ok-false.json'],
  };
  const modules: Record<string, string> = { valid: header + valid.join('\n') };
  for (const [key, [name, file]] of Object.entries(rejected)) {
    const data = (JSON.parse(fixture(name, 'invalid', file)) as { data: Json }).data;
    modules[key] = `${header}export const x: T.${componentOf[name]} = ${JSON.stringify(data)};`;
  }
  const diagnostics = typeCheck(modules);

  it('every valid fixture is assignable to its generated type', () => {
    expect(valid.length).toBeGreaterThanOrEqual(schemaNames.length * 3);
    expect(diagnostics.valid).toEqual([]);
  });

  it.each(Object.keys(rejected))('the invalid fixture %s does not type-check', (key) => {
    expect(diagnostics[key].length).toBeGreaterThan(0);
  });

  it('compile-time samples use the generated types', () => {
    expect(sampleCreate.to_agent).toMatch(/^agent:\/\//);
    expect(sampleProblem.code).toBe('unauthorized');
  });
});
