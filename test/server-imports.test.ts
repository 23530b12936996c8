// The reference server's import graph: one direction of flow (routes → services → engine →
// bindings → store), no cycles, and no production module that reaches the fault modes. Imports
// are read with the TypeScript compiler's own pre-processor (type-only imports count too: a cycle
// of types still ties two modules together for a reader).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve('reference-server');
const FAULTS = resolve('reference-server-faults');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** module (path relative to reference-server/) → the modules it imports (same form; other folders as ../x). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(ROOT)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((f) => f.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(ROOT, resolve(dirname(file), name.replace(/\.js$/, '.ts'))));
    graph.set(relative(ROOT, file), targets);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, as `a → b → a`. */
function findCycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const cycles: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const graph = importGraph();
const importers = (predicate: (target: string) => boolean, from: (module: string) => boolean): string[] =>
  [...graph].filter(([module]) => from(module)).flatMap(([module, targets]) => targets.filter(predicate).map((t) => `${module} → ${t}`));

describe('the reference server import graph', () => {
  it('reads every module', () => {
    expect(graph.size).toBeGreaterThan(40);
    expect(graph.get('app.ts')).toContain('delivery/engine.ts');
  });

  it('finds a cycle when there is one (the walk itself)', () => {
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual(['a → b → c → a']);
    expect(findCycles(new Map([['a', ['b']], ['b', []], ['c', ['a', 'b']]]))).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('no production module imports the fault modes (the CLI loads them on request only)', () => {
    const faulty = (target: string) => resolve(ROOT, target).startsWith(FAULTS);
    expect(importers(faulty, (m) => m !== 'cli.ts')).toEqual([]);
    const cli = readFileSync(join(ROOT, 'cli.ts'), 'utf8');
    expect(cli).not.toMatch(/^import .*reference-server-faults/m);
    for (const file of sources(ROOT)) expect(readFileSync(file, 'utf8'), file).not.toMatch(/faults\.has\(|FaultSet/);
  });

  it('flows one way: bindings, timers, wire and store never import routes or services', () => {
    const routes = (t: string) => t.startsWith('routes/');
    const services = (t: string) => ['intents.ts', 'idempotency.ts', 'event-feed.ts', 'app.ts'].includes(t);
    const below = (m: string) => /^(delivery|timers|wire|store|security)\//.test(m) || ['transitions.ts', 'lifecycle.ts', 'scheduler.ts', 'model.ts', 'limits.ts', 'policies.ts'].includes(m);
    expect(importers(routes, below)).toEqual([]);
    expect(importers(services, below)).toEqual([]);
  });

  it('the engine does not import the intent service, and the wire/store layers import no engine', () => {
    expect(graph.get('delivery/engine.ts')).not.toContain('intents.ts');
    expect(importers((t) => t === 'delivery/engine.ts', (m) => /^(wire|store)\//.test(m))).toEqual([]);
  });
});
