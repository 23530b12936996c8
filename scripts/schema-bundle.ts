// Turns schemas/*.schema.json + common.defs.json into one flat set of named components, with every
// $ref rewritten to point at another component. Both generators (types, OpenAPI) start from here,
// so a wire object has the same name in schemas/types.ts and in openapi/openapi.json.
import { definitionSchemas, schemaNames, schemas, type SchemaName } from '../schemas/index.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface SchemaBundle {
  /** Component name → schema (no $schema/$id/$defs; $refs point at components). */
  components: Map<string, JsonObject>;
  /** Wire schema name (file name without .schema.json) → component name. */
  componentOf: Record<SchemaName, string>;
  /** Rewrites a schema written outside the bundle (e.g. a route's query) so its absolute $refs point at components. */
  rewrite(schema: JsonValue): JsonValue;
}

interface SourceDocument {
  id: string;
  /** Component name of the document itself; undefined for pure $defs holders. */
  name?: string;
  /** Prefix for its local $defs' component names. */
  defsPrefix: string;
  schema: JsonObject;
}

const pascal = (key: string): string => key.split(/[^A-Za-z0-9]+/).filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('');

function asObject(value: unknown, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} is not a JSON object`);
  return value as JsonObject;
}

function sourceDocuments(): SourceDocument[] {
  const docs: SourceDocument[] = [];
  for (const defs of definitionSchemas) {
    const schema = asObject(defs, 'definition schema');
    docs.push({ id: String(schema.$id), defsPrefix: '', schema });
  }
  for (const name of schemaNames) {
    const schema = asObject(schemas[name], name);
    if (typeof schema.title !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(schema.title)) throw new Error(`${name}: title must be a PascalCase type name`);
    docs.push({ id: String(schema.$id), name: schema.title, defsPrefix: schema.title, schema });
  }
  return docs;
}

/**
 * Builds the bundle. refTo(componentName) gives the replacement $ref target (e.g.
 * '#/components/schemas/Intent'); componentNames are stable, so output is deterministic.
 */
export function bundleSchemas(refTo: (component: string) => string): SchemaBundle {
  const docs = sourceDocuments();
  const byId = new Map(docs.map((d) => [d.id, d]));

  const componentForRef = (ref: string, base: string): string => {
    const url = new URL(ref, base);
    const fragment = decodeURIComponent(url.hash.replace(/^#/, ''));
    url.hash = '';
    const doc = byId.get(url.href);
    if (!doc) throw new Error(`$ref ${ref} (from ${base}) points outside the AXP schemas`);
    if (fragment === '') {
      if (!doc.name) throw new Error(`$ref ${ref} names a definitions-only document`);
      return doc.name;
    }
    const def = /^\/\$defs\/([^/]+)$/.exec(fragment);
    if (!def) throw new Error(`$ref ${ref}: only whole documents and /$defs/<name> are supported`);
    return doc.defsPrefix + pascal(def[1]);
  };

  const rewrite = (node: JsonValue, base: string): JsonValue => {
    if (Array.isArray(node)) return node.map((item) => rewrite(item, base));
    if (node === null || typeof node !== 'object') return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$schema' || key === '$id' || key === '$defs') continue;
      out[key] = key === '$ref' && typeof value === 'string' ? refTo(componentForRef(value, base)) : rewrite(value, base);
    }
    return out;
  };

  const components = new Map<string, JsonObject>();
  const add = (name: string, schema: JsonObject): void => {
    if (components.has(name)) throw new Error(`duplicate component name ${name}`);
    components.set(name, schema);
  };
  for (const doc of docs) {
    const defs = doc.schema.$defs === undefined ? {} : asObject(doc.schema.$defs, `${doc.id} $defs`);
    for (const [key, def] of Object.entries(defs)) {
      const name = doc.defsPrefix + pascal(key);
      const rewritten = asObject(rewrite(def, doc.id), name);
      add(name, { title: name, ...rewritten });
    }
    if (doc.name) add(doc.name, asObject(rewrite(doc.schema, doc.id), doc.name));
  }

  const componentOf = {} as Record<SchemaName, string>;
  for (const name of schemaNames) componentOf[name] = String(asObject(schemas[name], name).title);
  return {
    components: new Map([...components.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    componentOf,
    rewrite: (schema) => rewrite(schema, docs[0].id),
  };
}
