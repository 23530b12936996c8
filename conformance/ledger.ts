// The run's ledger of response-shape violations. The client validates every answer it reads
// (2xx bodies and SSE frames against their route's schema, error answers against `problem`) and
// records what breaks here instead of failing the case that happened to read it: one missing field
// in an answer many cases read is one root cause, reported once by the response-conformance cases
// (shapes.ts) and charged to the requirements that own the shape.
import type { RootCause, SchemaViolationSeen } from './case.js';

export type { RootCause };

/** Array indices in a pointer are one place: `/deliveries/3/intent_id` and `/deliveries/0/intent_id` are the same field. */
export function normalizePointer(pointer: string): string {
  return (pointer || '/').replace(/\/\d+(?=\/|$)/g, '/*');
}

export class ViolationLedger {
  private readonly seen: SchemaViolationSeen[] = [];

  record(violation: SchemaViolationSeen): void {
    this.seen.push(violation);
  }

  get size(): number {
    return this.seen.length;
  }

  all(): readonly SchemaViolationSeen[] {
    return this.seen;
  }

  /** Root causes of the violations `kinds` selects, in order of first sight. */
  rootCauses(kinds: ReadonlyArray<SchemaViolationSeen['kind']>): RootCause[] {
    const causes = new Map<string, RootCause>();
    for (const v of this.seen) {
      if (!kinds.includes(v.kind)) continue;
      const pointer = normalizePointer(v.pointer);
      const key = JSON.stringify([v.route, v.schema, pointer, v.keyword, v.message]);
      let cause = causes.get(key);
      if (!cause) {
        cause = { route: v.route, schema: v.schema, pointer, keyword: v.keyword, message: v.message, kind: v.kind, owners: v.owners, count: 0, cases: [], firstRequest: v.request };
        causes.set(key, cause);
      }
      cause.count++;
      if (!cause.cases.includes(v.caseId)) cause.cases.push(v.caseId);
    }
    return [...causes.values()];
  }
}
