// The HTTP API as data: every route, who may call it, the schemas of what goes in and out, and
// the problem codes it may answer. The reference server registers its routes from this table and
// gen:openapi documents it, so the two cannot drift apart.
import commonDefs from './common.defs.json' with { type: 'json' };
import type { SchemaName } from './index.js';
import type { Problem } from './types.js';

export type Auth = 'none' | 'agent' | 'admin';

/** A stable problem code (spec/13-errors.md; its HTTP status comes from the table there). */
export type ProblemCode = Problem['code'];

/** Problem codes, each with the requirement IDs in spec/ that make the route answer it. */
export type ProblemCodes = Partial<Record<ProblemCode, readonly string[]>>;

export interface QuerySchema {
  type: 'object';
  properties: Record<string, object>;
  additionalProperties: boolean;
}

export interface RouteSpec {
  /** Stable operation id (OpenAPI operationId). */
  id: string;
  method: 'GET' | 'POST' | 'PUT';
  /** Path with {name} parameters; {address} is an agent address without 'agent://', slashes kept. */
  path: string;
  /** Lowest credential that may call; 'agent' routes also accept the admin key. */
  auth: Auth;
  summary: string;
  body?: SchemaName;
  /** Routes that accept an empty body or none at all. */
  bodyOptional?: boolean;
  query?: QuerySchema;
  /** The 200 answer: a JSON schema, or an SSE stream whose frames carry the named schema. */
  response: SchemaName | { sse: SchemaName };
  headers?: string[];
  /** Requirement IDs in spec/ that define the route. */
  spec: string[];
  /**
   * Problem codes this route answers beyond those every route of its kind answers (auth, body,
   * query, Idempotency-Key, SSE, overload: see problemCodesOf), each with its requirements.
   */
  problems?: ProblemCodes;
}

/** A JSON Schema reference to a definition of common.defs.json (one source for shared values). */
const def = (name: keyof typeof commonDefs.$defs, extra: Record<string, unknown> = {}): object => ({ $ref: `${commonDefs.$id}#/$defs/${name}`, ...extra });

// Bounds of spec/13-errors.md's limits table; defaults as each route's requirement says.
const waitSeconds = (defaultSeconds: number, requirement: string) => ({ type: 'integer', minimum: 0, maximum: 60, default: defaultSeconds, description: `Seconds to wait (${requirement}; limits.wait_seconds).` });
const since = { type: 'integer', minimum: 0, default: 0, description: 'Exclusive cursor: only items with seq > since.' };
const limit = (defaultLimit: number) => ({ type: 'integer', minimum: 1, maximum: 500, default: defaultLimit, description: 'Page size (limits.max_list_limit).' });
const cursor = { type: 'string', maxLength: 512, description: 'Opaque: the next_cursor of the previous page (INT-023); an unknown cursor is 422.' };
const ownerAgent = def('address', { description: 'The inbox owner (INBOX-003, INBOX-004); defaults to the caller\'s own address.' });

/** INBOX-006..INBOX-011: what a decision on a thread can run into. */
const inboxDecisionProblems: ProblemCodes = { forbidden: ['INBOX-011'], thread_not_found: ['INBOX-011'], thread_closed: ['INBOX-010', 'LC-023'], outcome_not_allowed: ['INBOX-006'], comment_required: ['INBOX-009'], validation_failed: ['TERM-002'] };

const query = (properties: Record<string, object>): QuerySchema => ({ type: 'object', properties, additionalProperties: false });

export const routes: readonly RouteSpec[] = [
  { id: 'health', method: 'GET', path: '/health', auth: 'none', summary: 'Liveness; no key needed.', response: 'health-response', spec: ['CAP-010'] },
  { id: 'getCapabilities', method: 'GET', path: '/v1/capabilities', auth: 'none', summary: 'What this server supports.', response: 'capabilities', spec: ['CAP-001'] },
  { id: 'getWellKnown', method: 'GET', path: '/.well-known/axp', auth: 'none', summary: 'Same document as /v1/capabilities.', response: 'capabilities', spec: ['CAP-002'] },

  {
    id: 'putAgent', method: 'PUT', path: '/v1/agents/{address}', auth: 'admin', summary: 'Register or update an agent; the API key (and http secret) are shown once.', body: 'agent-registration-request', response: 'agent-registration-response', spec: ['AGT-001'],
    problems: { forbidden: ['AGT-004'], validation_failed: ['AGT-005', 'AGT-008', 'AGT-022', 'CAP-006', 'SEC-023', 'TERM-006'], limit_exceeded: ['AGT-021'], callback_url_refused: ['SEC-020'] },
  },
  {
    id: 'getAgent', method: 'GET', path: '/v1/agents/{address}', auth: 'agent', summary: 'An agent, read by itself or the admin.', response: 'agent-response', spec: ['AGT-010'],
    problems: { forbidden: ['AGT-012'], agent_not_found: ['AGT-012'] },
  },
  {
    id: 'streamDeliveries', method: 'GET', path: '/v1/agents/{address}/intents/stream', auth: 'agent', summary: 'stream binding: SSE of deliveries, bounded by wait_seconds.', query: query({ since, wait_seconds: waitSeconds(15, 'SSE-007, STR-006') }), headers: ['Last-Event-ID'], response: { sse: 'delivery' }, spec: ['STR-001'],
    problems: { forbidden: ['STR-002'], agent_not_found: ['STR-002'], validation_failed: ['SSE-005'] },
  },
  {
    id: 'pollDeliveries', method: 'GET', path: '/v1/agents/{address}/intents', auth: 'agent', summary: 'poll binding: long poll for deliveries.', query: query({ wait_seconds: waitSeconds(0, 'POLL-002'), limit: limit(10) }), response: 'delivery-list-response', spec: ['POLL-001'],
    problems: { forbidden: ['POLL-005'], agent_not_found: ['POLL-005'] },
  },

  {
    id: 'createIntent', method: 'POST', path: '/v1/intents', auth: 'agent', summary: 'Send an intent.', body: 'intent-create-request', headers: ['Idempotency-Key'], response: 'intent-response', spec: ['INT-001', 'IDEM-001'],
    problems: { agent_not_found: ['AGT-031'], validation_failed: ['INT-003', 'INT-006', 'INT-007', 'INT-008', 'TERM-002'], limit_exceeded: ['INT-009'], payload_too_large: ['INT-010'] },
  },
  {
    id: 'listIntents', method: 'GET', path: '/v1/intents', auth: 'agent', summary: 'Intents the caller sent or receives, newest first.', query: query({ status: def('status', { description: 'Only intents in this status (INT-020).' }), role: { enum: ['sender', 'receiver', 'any'], default: 'any', description: 'Which side of the intent the caller is on (INT-020).' }, limit: limit(50), cursor }), response: 'intent-list-response', spec: ['INT-020'],
    problems: { validation_failed: ['INT-023'] },
  },
  {
    id: 'getIntent', method: 'GET', path: '/v1/intents/{intent_id}', auth: 'agent', summary: 'One intent; wait_seconds long-polls until terminal.', query: query({ wait_seconds: waitSeconds(0, 'SSE-020, SSE-021') }), response: 'intent-response', spec: ['INT-021', 'SSE-020'],
    problems: { intent_not_found: ['INT-022'] },
  },
  {
    id: 'listEvents', method: 'GET', path: '/v1/intents/{intent_id}/events', auth: 'agent', summary: 'Events with seq > since.', query: query({ since }), response: 'event-list-response', spec: ['EVT-005'],
    problems: { intent_not_found: ['EVT-007'] },
  },
  {
    id: 'streamEvents', method: 'GET', path: '/v1/intents/{intent_id}/events/stream', auth: 'agent', summary: 'observe: SSE of events, bounded by wait_seconds, ends after a terminal event.', query: query({ since, wait_seconds: waitSeconds(15, 'SSE-007') }), headers: ['Last-Event-ID'], response: { sse: 'event' }, spec: ['SSE-001'],
    problems: { intent_not_found: ['EVT-007', 'SSE-012'], validation_failed: ['SSE-005'] },
  },
  {
    id: 'ackIntent', method: 'POST', path: '/v1/intents/{intent_id}/ack', auth: 'agent', summary: 'Acknowledge a delivery (receiver).', body: 'ack-request', bodyOptional: true, response: 'intent-write-response', spec: ['DLV-010'],
    problems: { forbidden: ['DLV-016'], intent_not_found: ['DLV-016'], illegal_transition: ['LC-011'], intent_terminal: ['LC-009', 'LC-010'], stale_delivery: ['DLV-012'] },
  },
  {
    id: 'resumeIntent', method: 'POST', path: '/v1/intents/{intent_id}/resume', auth: 'agent', summary: 'Report progress, waiting, completion or failure (receiver).', body: 'resume-request', headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['RES-003'],
    problems: { forbidden: ['RES-012'], intent_not_found: ['RES-012'], illegal_transition: ['LC-007'], intent_terminal: ['LC-009', 'LC-010', 'RES-014'], stale_delivery: ['RES-013'], validation_failed: ['RES-005', 'RES-006'], outcome_not_allowed: ['RES-008', 'INBOX-006'], comment_required: ['RES-008', 'INBOX-009'] },
  },
  {
    id: 'resolveIntent', method: 'POST', path: '/v1/intents/{intent_id}/resolve', auth: 'agent', summary: 'Resolve to a terminal status (receiver).', body: 'resolve-request', headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['RES-010'],
    problems: { forbidden: ['RES-012'], intent_not_found: ['RES-012'], intent_terminal: ['LC-009', 'LC-010', 'RES-014'], stale_delivery: ['RES-013'], validation_failed: ['RES-011'] },
  },
  {
    id: 'cancelIntent', method: 'POST', path: '/v1/intents/{intent_id}/cancel', auth: 'agent', summary: 'Cancel (sender or admin).', body: 'cancel-request', bodyOptional: true, headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['RES-020'],
    problems: { forbidden: ['RES-021'], intent_not_found: ['RES-021'], intent_terminal: ['LC-009', 'RES-014'] },
  },
  {
    id: 'redeliverIntent', method: 'POST', path: '/v1/intents/{intent_id}/redeliver', auth: 'admin', summary: 'Start a fresh delivery round for a dead-lettered intent.', response: 'intent-write-response', spec: ['DLV-022'],
    problems: { forbidden: ['DLV-023'], intent_not_found: ['INT-022'], illegal_transition: ['LC-014'] },
  },
  {
    id: 'listDeadLetters', method: 'GET', path: '/v1/dead-letters', auth: 'admin', summary: 'Intents whose delivery attempts were exhausted.', query: query({ agent: def('address', { description: 'Only entries for this receiver (DLV-021).' }), limit: limit(50), cursor }), response: 'dead-letter-list-response', spec: ['DLV-021'],
    problems: { forbidden: ['DLV-023'], validation_failed: ['TERM-002'] },
  },

  {
    id: 'listInbox', method: 'GET', path: '/v1/inbox', auth: 'agent', summary: 'Threads in an inbox agent\'s inbox.', query: query({ owner_agent: ownerAgent, open: { type: 'boolean', description: 'Only open (true) or closed (false) threads (INBOX-003).' } }), response: 'inbox-list-response', spec: ['INBOX-003'],
    problems: { validation_failed: ['TERM-002'] },
  },
  {
    id: 'getInboxThread', method: 'GET', path: '/v1/inbox/{thread_id}', auth: 'agent', summary: 'One thread (thread_id = intent_id).', query: query({ owner_agent: ownerAgent }), response: 'inbox-thread-response', spec: ['INBOX-004'],
    problems: { thread_not_found: ['INBOX-004'], validation_failed: ['TERM-002'] },
  },
  {
    id: 'approveInboxThread', method: 'POST', path: '/v1/inbox/{thread_id}/approve', auth: 'agent', summary: 'Approve a human task.', body: 'inbox-decision-request', bodyOptional: true, query: query({ owner_agent: ownerAgent }), headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['INBOX-005'],
    problems: inboxDecisionProblems,
  },
  {
    id: 'rejectInboxThread', method: 'POST', path: '/v1/inbox/{thread_id}/reject', auth: 'agent', summary: 'Reject a human task.', body: 'inbox-decision-request', bodyOptional: true, query: query({ owner_agent: ownerAgent }), headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['INBOX-007'],
    problems: inboxDecisionProblems,
  },
  {
    id: 'replyInboxThread', method: 'POST', path: '/v1/inbox/{thread_id}/reply', auth: 'agent', summary: 'Answer a human task with a message.', body: 'inbox-reply-request', query: query({ owner_agent: ownerAgent }), headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['INBOX-008'],
    problems: inboxDecisionProblems,
  },

  {
    id: 'advanceTestClock', method: 'POST', path: '/v1/_test/clock', auth: 'admin', summary: 'test-clock extension: advance the server clock.', body: 'test-clock-request', response: 'test-clock-response', spec: ['CLK-002'],
    problems: { forbidden: ['CLK-003'], extension_disabled: ['CLK-001'] },
  },
];

/**
 * Every problem code a route may answer, with the requirements behind it: the route's own
 * (RouteSpec.problems) plus those that follow from its kind.
 */
export function problemCodesOf(route: RouteSpec): ProblemCodes {
  const codes: Partial<Record<ProblemCode, string[]>> = {};
  const add = (code: ProblemCode, requirements: readonly string[]) => {
    codes[code] = [...new Set([...(codes[code] ?? []), ...requirements])];
  };
  // ERR-012: query parameters are validated like bodies (an unknown one is 422 on every route).
  add('validation_failed', ['ERR-012']);
  if (route.path.includes('{address}')) add('validation_failed', ['TERM-004']);
  if (route.auth !== 'none') add('unauthorized', ['SEC-001', 'SEC-002']);
  if (route.auth === 'admin') add('forbidden', ['SEC-003']);
  if (route.method === 'POST' || route.method === 'PUT') {
    add('malformed_json', ['ERR-009']);
    add('unsupported_media_type', ['ERR-010']);
    add('payload_too_large', ['INT-011']);
    if (route.body) add('validation_failed', ['ERR-006']);
  }
  if (route.headers?.includes('Idempotency-Key')) {
    add('idempotency_key_invalid', ['IDEM-005']);
    add('idempotency_key_conflict', route.id === 'createIntent' ? ['IDEM-003'] : ['IDEM-010']);
  }
  if (typeof route.response === 'object') add('not_acceptable', ['SSE-015']);
  add('rate_limited', ['ERR-013']);
  add('overloaded', ['ERR-007', 'ERR-013']);
  for (const [code, requirements] of Object.entries(route.problems ?? {})) add(code as ProblemCode, requirements);
  return codes;
}
