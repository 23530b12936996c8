// Every wire schema compiles, every valid fixture passes it, and every invalid fixture fails on
// exactly the rule it names ("<ajv keyword> at <JSON pointer>").
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { createAjv, schemaId, schemaNames, toViolations, type SchemaName } from '../schemas/index.js';

const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));
const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url));
/** Fixture folders that are not per-schema (vectors: the vector tests; scenarios: axp-demo --scenario files). */
const NON_SCHEMA_FOLDERS = new Set(['vectors', 'scenarios']);

interface InvalidFixture {
  rule: string;
  data: unknown;
}

function jsonFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function parseRule(rule: string): { keyword: string; pointer: string } {
  const match = /^([A-Za-z]+) at (.*)$/.exec(rule);
  if (!match) throw new Error(`rule "${rule}" is not "<keyword> at <pointer>"`);
  return { keyword: match[1], pointer: match[2] };
}

function pointerOf(error: ErrorObject): string {
  return toViolations([error])[0].pointer;
}

/**
 * An error "from the same root cause" is a combinator's summary (if/oneOf/anyOf) or an error
 * raised inside a oneOf/anyOf branch that the document was never meant to match.
 */
function isSameRootCause(error: ErrorObject): boolean {
  return ['if', 'oneOf', 'anyOf'].includes(error.keyword) || /\/(oneOf|anyOf)\/\d+\//.test(error.schemaPath);
}

const ajv = createAjv();

describe('schemas', () => {
  it('the schema files on disk are exactly the registered wire schemas', () => {
    const onDisk = readdirSync(schemasDir).filter((f) => f.endsWith('.schema.json')).map((f) => f.replace(/\.schema\.json$/, '')).sort();
    expect(onDisk).toEqual([...schemaNames].sort());
  });

  it.each(schemaNames)('%s compiles under ajv 2020-12 strict mode', (name) => {
    expect(ajv.getSchema(schemaId(name))).toBeTypeOf('function');
  });
});

describe('fixture folders', () => {
  it('every fixture folder belongs to a schema', () => {
    const folders = readdirSync(fixturesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    const orphans = folders.filter((f) => !NON_SCHEMA_FOLDERS.has(f) && !(schemaNames as string[]).includes(f));
    expect(orphans).toEqual([]);
  });

  it.each(schemaNames)('%s has at least 3 valid and 3 invalid fixtures and nothing else', (name) => {
    expect(jsonFiles(join(fixturesDir, name, 'valid')).length).toBeGreaterThanOrEqual(3);
    expect(jsonFiles(join(fixturesDir, name, 'invalid')).length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(join(fixturesDir, name)).sort()).toEqual(['invalid', 'valid']);
  });
});

for (const name of schemaNames as SchemaName[]) {
  describe(`fixtures/${name}`, () => {
    const validate = () => {
      const fn = ajv.getSchema(schemaId(name));
      if (!fn) throw new Error(`schema ${name} not registered`);
      return fn;
    };

    const validDir = join(fixturesDir, name, 'valid');
    it.each(jsonFiles(validDir))('valid/%s passes', (file) => {
      const fn = validate();
      const ok = fn(readJson(join(validDir, file)));
      expect(ok ? [] : toViolations(fn.errors)).toEqual([]);
    });

    const invalidDir = join(fixturesDir, name, 'invalid');
    it.each(jsonFiles(invalidDir))('invalid/%s fails on its named rule only', (file) => {
      const fixture = readJson(join(invalidDir, file)) as InvalidFixture;
      expect(Object.keys(fixture).sort()).toEqual(['data', 'rule']);
      const { keyword, pointer } = parseRule(fixture.rule);
      const fn = validate();
      expect(fn(fixture.data)).toBe(false);
      const errors = fn.errors ?? [];
      const named = errors.filter((e) => e.keyword === keyword && pointerOf(e) === pointer);
      expect(named, `no "${fixture.rule}" among ${JSON.stringify(toViolations(errors))}`).not.toHaveLength(0);
      const unrelated = errors.filter((e) => !named.includes(e) && !isSameRootCause(e));
      expect(toViolations(unrelated), 'breaks more than its one rule').toEqual([]);
    });
  });
}
