// No rejection or exception inside a case may end the process. While a run is going, process-wide
// handlers take every unhandled rejection and uncaught exception and charge it to the case whose
// code it came from (found through the async context the case ran in, or the case-end abort
// reason it carries): that case is errored, or keeps its failure with a note. One that belongs to
// no case is a harness error (exit 2). The reports are written either way.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CaseResult } from './results.js';

/** The abort reason of a case that ended: promises the case left behind reject with it. */
export class CaseEnded extends Error {
  constructor(readonly tag: CaseTag) {
    super(`case ${tag.caseId} ended`);
    this.name = 'CaseEnded';
  }
}

/** One running (or just finished) case of one run. */
export class CaseTag {
  readonly strays: string[] = [];
  private result: CaseResult | undefined;

  constructor(readonly guard: StrayGuard, readonly caseId: string) {}

  /** The abort reason for the case's end. */
  ended(): CaseEnded {
    return new CaseEnded(this);
  }

  /** Runs the case's code inside this tag's async context. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return storage.run(this, () => Promise.resolve().then(fn));
  }

  /** The case's result: strays seen so far are applied, later ones change it in place. */
  end(result: CaseResult): void {
    this.result = result;
    for (const text of this.strays) apply(result, text);
    this.guard.finished(this);
  }

  charge(text: string): void {
    this.strays.push(text);
    if (this.result) apply(this.result, text);
  }
}

function apply(result: CaseResult, text: string): void {
  const note = `a promise or callback the case left behind failed: ${text}`;
  result.notes.push(note);
  result.transcript.push({ atMs: result.durationMs, kind: 'error', summary: note });
  // A real verdict (failed, blocked, not applicable) stands; a pass did not hold.
  if (result.outcome === 'passed' || result.outcome === 'skipped') {
    result.outcome = 'errored';
    delete result.reason;
    result.failure = { message: note };
  }
}

const storage = new AsyncLocalStorage<CaseTag>();
const guards = new Set<StrayGuard>();

function describe(kind: string, err: unknown): string {
  const e = err as Error | undefined;
  return `${kind}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(err)}`;
}

function onStray(kind: string, err: unknown): void {
  const text = describe(kind, err);
  const tag = storage.getStore();
  if (tag && guards.has(tag.guard)) return tag.charge(text);
  for (const guard of guards) if (guard.claim(err, text)) return;
  // Nobody's: with several runs in one process each hears of it.
  for (const guard of guards) guard.harness(`${text}${err instanceof Error && err.stack ? `\n${err.stack}` : ''}`);
}

const onRejection = (reason: unknown) => onStray('unhandled rejection', reason);
const onException = (err: unknown) => onStray('uncaught exception', err);

export class StrayGuard {
  private readonly running = new Set<CaseTag>();

  constructor(private readonly onHarness: (text: string) => void) {}

  install(): void {
    if (guards.size === 0) {
      process.on('unhandledRejection', onRejection);
      process.on('uncaughtException', onException);
    }
    guards.add(this);
  }

  uninstall(): void {
    guards.delete(this);
    if (guards.size === 0) {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    }
  }

  begin(caseId: string): CaseTag {
    const tag = new CaseTag(this, caseId);
    this.running.add(tag);
    return tag;
  }

  finished(tag: CaseTag): void {
    this.running.delete(tag);
  }

  /** A stray outside any case's async context: the case whose end it carries, or the only running case. */
  claim(err: unknown, text: string): boolean {
    if (err instanceof CaseEnded) {
      if (err.tag.guard !== this) return false;
      err.tag.charge(text);
      return true;
    }
    if (this.running.size === 1 && guards.size === 1) {
      [...this.running.values()][0].charge(text);
      return true;
    }
    return false;
  }

  harness(text: string): void {
    this.onHarness(text);
  }
}
