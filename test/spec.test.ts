// The spec's requirement registry stays equal to the chapters, well-formed, and complete with
// respect to every requirement ID the code, schemas and kit cite.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import problemSchema from '../schemas/problem.schema.json' with { type: 'json' };
import { OPERATIONS, STATUSES, transition } from '../reference-server/lifecycle.js';
import {
  AREAS, CHAPTER_FILE, ID_IN_TEXT, ID_PATTERN, LEVELS, chapterFiles, parseChapter, parseErrorTable,
  parseSpec, serializeRegistry, type Requirement,
} from '../scripts/requirements.js';

const root = join(import.meta.dirname, '..');
const specDir = join(root, 'spec');
const registryPath = join(specDir, 'requirements.json');
const registry = JSON.parse(readFileSync(registryPath, 'utf8')) as Requirement[];
const parsed = parseSpec(specDir);
const ids = new Set(registry.map((r) => r.id));
/** A case declaring its own ID, e.g. `id: 'AGT-009',`. */
const CASE_ID_DECLARATION = /\bid:\s*(['"`])[A-Z]+-\d{3}\1/g;
const KEYWORDS = ['MUST', 'SHOULD', 'MAY', 'SHALL', 'REQUIRED', 'RECOMMENDED', 'OPTIONAL'];

function filesUnder(dir: string, accept: (name: string) => boolean): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : filesUnder(path, accept);
    return accept(name) ? [path] : [];
  });
}

describe('spec/requirements.json', () => {
  it('equals a fresh parse of the chapters (run npm run gen:requirements)', () => {
    expect(readFileSync(registryPath, 'utf8')).toBe(serializeRegistry(parsed));
  });

  it('has unique, well-formed IDs from the known areas', () => {
    const seen = new Set<string>();
    for (const r of registry) {
      expect(r.id, r.anchor).toMatch(ID_PATTERN);
      expect(AREAS as readonly string[], r.id).toContain(r.id.split('-')[0]);
      expect(seen.has(r.id), `duplicate ${r.id}`).toBe(false);
      seen.add(r.id);
    }
  });

  it('gives every requirement a valid level, an anchor into its chapter, and text carrying exactly its own level word', () => {
    for (const r of registry) {
      expect(LEVELS as readonly string[], r.id).toContain(r.level);
      expect(r.chapter).toMatch(CHAPTER_FILE);
      expect(r.anchor).toBe(`${r.chapter}#${r.id}`);
      const words = new Set(KEYWORDS.filter((k) => new RegExp(`\\b${k}\\b`).test(r.text)));
      expect([...words], `${r.id}: ${r.text}`).toEqual([r.level]);
    }
  });

  it('covers every chapter and holds well over 150 requirements', () => {
    const chapters = chapterFiles(specDir);
    expect(chapters.length).toBe(17);
    for (const chapter of chapters) {
      expect(registry.some((r) => r.chapter === chapter), `${chapter} has no requirement`).toBe(true);
    }
    expect(registry.length).toBeGreaterThan(150);
  });

  it('uses RFC 2119 key words in the chapters only inside numbered requirements', () => {
    for (const chapter of chapterFiles(specDir)) {
      const lines = readFileSync(join(specDir, chapter), 'utf8').split('\n');
      let inFence = false;
      lines.forEach((line, i) => {
        if (line.startsWith('```')) inFence = !inFence;
        if (inFence || line.startsWith('- <a id=')) return;
        const stray = KEYWORDS.filter((k) => new RegExp(`\\b${k}\\b`).test(line));
        expect(stray, `${chapter}:${i + 1} uses ${stray.join(', ')} outside a requirement`).toEqual([]);
      });
    }
  });

  it('contains every requirement ID cited by schemas, reference server and conformance kit', () => {
    const isSource = (name: string) => name.endsWith('.ts') || name.endsWith('.json');
    const files = [
      ...filesUnder(join(root, 'schemas'), (n) => n.endsWith('.json') || n.endsWith('.ts')).filter((f) => !relative(join(root, 'schemas'), f).includes('/')),
      ...filesUnder(join(root, 'reference-server'), (n) => n.endsWith('.ts')),
      ...filesUnder(join(root, 'conformance'), isSource),
    ];
    expect(files.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const file of files) {
      // Conformance case IDs share the `<GROUP>-<NNN>` shape (`id: 'AGT-009'`); they name cases, not requirements.
      const text = readFileSync(file, 'utf8').replace(CASE_ID_DECLARATION, '');
      for (const m of text.matchAll(ID_IN_TEXT)) {
        if (!(AREAS as readonly string[]).includes(m[1]!)) continue; // e.g. SHA-256
        if (!ids.has(m[0])) missing.push(`${relative(root, file)}: ${m[0]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('spec chapters', () => {
  it('lists in 13-errors.md exactly the problem codes of schemas/problem.schema.json, each once', () => {
    const rows = parseErrorTable(readFileSync(join(specDir, '13-errors.md'), 'utf8'));
    const codes = rows.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual([...problemSchema.properties.code.enum].sort());
    for (const row of rows) expect(row.status, row.code).toBeGreaterThanOrEqual(400);
  });

  it('states in 04-lifecycle.md exactly the state table that reference-server/lifecycle.ts encodes', () => {
    const text = readFileSync(join(specDir, '04-lifecycle.md'), 'utf8');
    const header = text.split('\n').find((l) => l.startsWith('| operation ↓ / status →'));
    expect(header).toBeDefined();
    const columns = header!.split('|').slice(2, -1).map((c) => c.trim());
    expect(columns).toEqual([...STATUSES]);
    for (const operation of OPERATIONS) {
      const row = text.split('\n').find((l) => l.startsWith(`| \`${operation}\` |`) && l.split('|').length === columns.length + 3);
      expect(row, `state table row for ${operation}`).toBeDefined();
      const cells = row!.split('|').slice(2, -1).map((c) => c.trim());
      const expected = STATUSES.map((status) => {
        const r = transition(status, operation);
        return r.ok ? r.to : r.code === 'intent_terminal' ? '409 T' : '409 I';
      });
      expect(cells, operation).toEqual(expected);
    }
  });

  it('rejects malformed requirement lines instead of skipping them', () => {
    expect(() => parseChapter('99-x.md', '- <a id="LC-1"></a>**LC-1** MUST: x MUST y.')).toThrow();
    expect(() => parseChapter('99-x.md', '- <a id="LC-001"></a>**LC-002** MUST: x MUST y.')).toThrow();
    expect(parseChapter('99-x.md', '- <a id="LC-001"></a>**LC-001** SHOULD: The [server](x.md) SHOULD **do** it.')).toEqual([
      { id: 'LC-001', level: 'SHOULD', chapter: '99-x.md', anchor: '99-x.md#LC-001', text: 'The server SHOULD do it.' },
    ]);
    expect(parseChapter('99-x.md', '- <a id="LC-002"></a>**LC-002** MAY: It MAY accept `*/*` and `**x**`.')[0]!.text).toBe('It MAY accept `*/*` and `**x**`.');
  });
});
