// The HTTP API as data: every route, who may call it, and the schemas of what goes in and out.
// The reference server registers its routes from this table and gen:openapi documents it, so
// the two cannot drift apart.
import type { SchemaName } from './index.js';

export type Auth = 'none' | 'agent' | 'admin';

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
}

const waitSeconds = { type: 'integer', minimum: 0, maximum: 60 };
const since = { type: 'integer', minimum: 0 };
const limit = { type: 'integer', minimum: 1, maximum: 500 };

const query = (properties: Record<string, object>): QuerySchema => ({ type: 'object', properties, additionalProperties: false });

export const routes: readonly RouteSpec[] = [
  { id: 'health', method: 'GET', path: '/health', auth: 'none', summary: 'Liveness; no key needed.', response: 'health-response', spec: ['CAP-010'] },
  { id: 'getCapabilities', method: 'GET', path: '/v1/capabilities', auth: 'none', summary: 'What this server supports.', response: 'capabilities', spec: ['CAP-001'] },
  { id: 'getWellKnown', method: 'GET', path: '/.well-known/axp', auth: 'none', summary: 'Same document as /v1/capabilities.', response: 'capabilities', spec: ['CAP-002'] },

  { id: 'putAgent', method: 'PUT', path: '/v1/agents/{address}', auth: 'admin', summary: 'Register or update an agent; the API key (and http secret) are shown once.', body: 'agent-registration-request', response: 'agent-registration-response', spec: ['AGT-001'] },
  { id: 'getAgent', method: 'GET', path: '/v1/agents/{address}', auth: 'agent', summary: 'An agent, read by itself or the admin.', response: 'agent-response', spec: ['AGT-010'] },
  { id: 'streamDeliveries', method: 'GET', path: '/v1/agents/{address}/intents/stream', auth: 'agent', summary: 'stream binding: SSE of deliveries, bounded by wait_seconds.', query: query({ since, wait_seconds: waitSeconds }), headers: ['Last-Event-ID'], response: { sse: 'delivery' }, spec: ['STR-001'] },
  { id: 'pollDeliveries', method: 'GET', path: '/v1/agents/{address}/intents', auth: 'agent', summary: 'poll binding: long poll for deliveries.', query: query({ wait_seconds: waitSeconds, limit }), response: 'delivery-list-response', spec: ['POLL-001'] },

  { id: 'createIntent', method: 'POST', path: '/v1/intents', auth: 'agent', summary: 'Send an intent.', body: 'intent-create-request', headers: ['Idempotency-Key'], response: 'intent-response', spec: ['INT-001', 'IDEM-001'] },
  { id: 'listIntents', method: 'GET', path: '/v1/intents', auth: 'agent', summary: 'Intents the caller sent or receives, newest first.', query: query({ status: { type: 'string' }, role: { enum: ['sender', 'receiver', 'any'] }, limit, cursor: { type: 'string', maxLength: 512 } }), response: 'intent-list-response', spec: ['INT-020'] },
  { id: 'getIntent', method: 'GET', path: '/v1/intents/{intent_id}', auth: 'agent', summary: 'One intent; wait_seconds long-polls until terminal.', query: query({ wait_seconds: waitSeconds }), response: 'intent-response', spec: ['INT-021', 'SSE-020'] },
  { id: 'listEvents', method: 'GET', path: '/v1/intents/{intent_id}/events', auth: 'agent', summary: 'Events with seq > since.', query: query({ since }), response: 'event-list-response', spec: ['EVT-005'] },
  { id: 'streamEvents', method: 'GET', path: '/v1/intents/{intent_id}/events/stream', auth: 'agent', summary: 'observe: SSE of events, bounded by wait_seconds, ends after a terminal event.', query: query({ since, wait_seconds: waitSeconds }), headers: ['Last-Event-ID'], response: { sse: 'event' }, spec: ['SSE-001'] },
  { id: 'ackIntent', method: 'POST', path: '/v1/intents/{intent_id}/ack', auth: 'agent', summary: 'Acknowledge a delivery (receiver).', body: 'ack-request', bodyOptional: true, response: 'intent-write-response', spec: ['DLV-010'] },
  { id: 'resumeIntent', method: 'POST', path: '/v1/intents/{intent_id}/resume', auth: 'agent', summary: 'Report progress, waiting, completion or failure (receiver).', body: 'resume-request', headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['RES-003'] },
  { id: 'resolveIntent', method: 'POST', path: '/v1/intents/{intent_id}/resolve', auth: 'agent', summary: 'Resolve to a terminal status (receiver).', body: 'resolve-request', headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['RES-010'] },
  { id: 'cancelIntent', method: 'POST', path: '/v1/intents/{intent_id}/cancel', auth: 'agent', summary: 'Cancel (sender or admin).', body: 'cancel-request', bodyOptional: true, headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['RES-020'] },
  { id: 'redeliverIntent', method: 'POST', path: '/v1/intents/{intent_id}/redeliver', auth: 'admin', summary: 'Start a fresh delivery round for a dead-lettered intent.', response: 'intent-write-response', spec: ['DLV-022'] },
  { id: 'listDeadLetters', method: 'GET', path: '/v1/dead-letters', auth: 'admin', summary: 'Intents whose delivery attempts were exhausted.', query: query({ agent: { type: 'string' }, limit, cursor: { type: 'string', maxLength: 512 } }), response: 'dead-letter-list-response', spec: ['DLV-021'] },

  { id: 'listInbox', method: 'GET', path: '/v1/inbox', auth: 'agent', summary: 'Threads in an inbox agent\'s inbox.', query: query({ owner_agent: { type: 'string' }, open: { type: 'boolean' } }), response: 'inbox-list-response', spec: ['INBOX-003'] },
  { id: 'getInboxThread', method: 'GET', path: '/v1/inbox/{thread_id}', auth: 'agent', summary: 'One thread (thread_id = intent_id).', query: query({ owner_agent: { type: 'string' } }), response: 'inbox-thread-response', spec: ['INBOX-004'] },
  { id: 'approveInboxThread', method: 'POST', path: '/v1/inbox/{thread_id}/approve', auth: 'agent', summary: 'Approve a human task.', body: 'inbox-decision-request', bodyOptional: true, query: query({ owner_agent: { type: 'string' } }), headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['INBOX-005'] },
  { id: 'rejectInboxThread', method: 'POST', path: '/v1/inbox/{thread_id}/reject', auth: 'agent', summary: 'Reject a human task.', body: 'inbox-decision-request', bodyOptional: true, query: query({ owner_agent: { type: 'string' } }), headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['INBOX-005'] },
  { id: 'replyInboxThread', method: 'POST', path: '/v1/inbox/{thread_id}/reply', auth: 'agent', summary: 'Answer a human task with a message.', body: 'inbox-reply-request', query: query({ owner_agent: { type: 'string' } }), headers: ['Idempotency-Key'], response: 'intent-write-response', spec: ['INBOX-008'] },

  { id: 'advanceTestClock', method: 'POST', path: '/v1/_test/clock', auth: 'admin', summary: 'test-clock extension: advance the server clock.', body: 'test-clock-request', response: 'test-clock-response', spec: ['CLK-002'] },
];
