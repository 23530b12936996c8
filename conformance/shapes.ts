// The response-conformance cases. Every answer any case reads is validated by the client, and a
// violation lands in the run's ledger (ledger.ts) instead of failing the behavioural case that read
// it. These cases run after all others and report the ledger: each root cause once (route, JSON
// pointer, schema keyword), with the requests and cases that observed it, charged to the
// requirements that define the route's answer (schemas/routes.ts) besides the general ones.
import { CaseFailure, type CaseContext, type ConformanceCase, type SchemaViolationSeen } from './case.js';
import { ERROR_SHAPE_REQUIREMENT, SUCCESS_SHAPE_REQUIREMENT } from './client.js';
import type { RootCause } from './ledger.js';

const LISTED_CASES = 6;

function describe(cause: RootCause): string {
  const cases = cause.cases.length > LISTED_CASES ? `${cause.cases.slice(0, LISTED_CASES).join(', ')} and ${cause.cases.length - LISTED_CASES} more` : cause.cases.join(', ');
  return `${cause.route} (schema ${cause.schema}) ${cause.pointer} ${cause.message} [${cause.keyword}]; owner ${cause.owners.join(', ')}; ` +
    `${cause.count} answer(s), observed by ${cases}; first: ${cause.firstRequest}`;
}

async function report(ctx: CaseContext, kinds: Array<SchemaViolationSeen['kind']>, what: string): Promise<void> {
  const causes = ctx.rootCauses(kinds);
  if (causes.length === 0) {
    ctx.note(`no ${what} broke its schema`);
    return;
  }
  ctx.cite(...causes.flatMap((c) => c.owners));
  const answers = causes.reduce((n, c) => n + c.count, 0);
  const lines = causes.map((c) => `- ${describe(c)}`);
  throw new CaseFailure(
    `${causes.length} ${what} shape violation(s) (root causes), seen in ${answers} answer(s); the cases that read them were not failed for it:\n${lines.join('\n')}`,
    'every answer valid against its schema',
    causes.map((c) => ({ route: c.route, schema: c.schema, pointer: c.pointer, keyword: c.keyword, message: c.message, owners: c.owners, answers: c.count, cases: c.cases, first: c.firstRequest })),
  );
}

export const shapeCases: ConformanceCase[] = [
  {
    id: 'SHAPE-001',
    group: 'SHAPE',
    title: 'every 200 answer and SSE frame the run read is valid against its route\'s schema',
    level: 'MUST',
    requirements: [SUCCESS_SHAPE_REQUIREMENT],
    runsLast: true,
    run: (ctx) => report(ctx, ['response', 'sse-frame'], 'success answer or SSE frame'),
  },
  {
    id: 'SHAPE-002',
    group: 'SHAPE',
    title: 'every error answer the run read is an application/problem+json problem document',
    level: 'MUST',
    requirements: [ERROR_SHAPE_REQUIREMENT],
    runsLast: true,
    run: (ctx) => report(ctx, ['error'], 'error answer'),
  },
];
