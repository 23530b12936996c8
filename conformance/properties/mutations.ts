// Mutations of a valid create body that a server must refuse. Each knows the rule it breaks, the
// requirement behind it and the answer it must get; `layer` says where the refusal comes from
// (schema: the create schema itself; the others: a rule outside the schema).
import fc from 'fast-check';
import { jsonBytes, padTo, type CreateBody, type CreateLimits, type Json } from './arbitraries.js';

export type MutationLayer = 'schema' | 'semantic' | 'size' | 'syntax' | 'media' | 'header';

export interface Mutation {
  /** Short stable name of the broken rule, e.g. `intent_type.pattern`. */
  rule: string;
  requirements: string[];
  layer: MutationLayer;
  expect: { status: 400 | 413 | 415 | 422; code: string };
  /** For schema mutations: the JSON Schema keyword that fails and the pointers an error may name. */
  keyword?: string;
  pointers?: string[];
  /** The request: a JSON body (json) or raw text, with an optional content type and Idempotency-Key. */
  json?: Json;
  raw?: string;
  contentType?: string;
  idempotencyKey?: string;
}

type Mutator = (body: CreateBody, limits: CreateLimits) => fc.Arbitrary<Mutation>;

const INT003 = ['INT-003', 'ERR-006', 'ERR-008'];

function without(body: CreateBody, ...keys: string[]): CreateBody {
  const out = { ...body };
  for (const k of keys) delete out[k];
  return out;
}

function schema(rule: string, keyword: string, pointers: string[], json: Json, requirements = INT003): Mutation {
  return { rule, requirements, layer: 'schema', expect: { status: 422, code: 'validation_failed' }, keyword, pointers, json };
}

const missingRequired: Mutator = (body) =>
  fc.constantFrom('intent_type', 'to_agent', 'payload').map((field) =>
    schema(`${field}.required`, 'required', ['', `/${field}`], without(body, field)),
  );

const badIntentType: Mutator = (body) =>
  fc
    .oneof(
      fc.constantFrom('', 'Payment.refund.v1', 'payment.refund', 'payment.v1', 'payment refund.v1', 'payment.refund.V1', 'payment..refund.v1'),
      fc.stringMatching(/^[a-z]{1,8}\.[a-z]{1,8}\.v[0-9]$/).map((t) => `${t}x`),
      fc.constant(`${'a'.repeat(125)}.b.v1`),
    )
    .map((t) => schema('intent_type.pattern', t.length > 128 ? 'maxLength' : 'pattern', ['/intent_type'], { ...body, intent_type: t }));

const badAddress: Mutator = (body) =>
  fc
    .tuple(
      fc.constantFrom('to_agent', 'reply_to', 'escalate_to', 'from_agent'),
      fc.constantFrom('acme/prod', 'agent://acme', 'agent://Acme/prod', 'agent://a/b/c/d', 'agent://acme/intents', 'agent://-a/b', 'agent:/acme/prod', 'agent://acme//prod', `agent://${'a'.repeat(64)}/b`),
    )
    .map(([field, value]) => schema(`${field}.address`, value.endsWith('/intents') ? 'not' : 'pattern', [`/${field}`], { ...body, [field]: value }, ['TERM-002', ...INT003]));

const payloadNotObject: Mutator = (body) =>
  fc
    .constantFrom<Json>([], [1, 2], 'text', 42, null, true)
    .map((payload) => schema('payload.type', 'type', ['/payload'], { ...body, payload }));

const unknownProperty: Mutator = (body) =>
  fc
    .stringMatching(/^[a-z][a-z_]{2,12}$/)
    .filter((k) => !(k in body) && !KNOWN_FIELDS.has(k))
    .map((k) => schema('additionalProperties', 'additionalProperties', ['', `/${k}`], { ...body, [k]: 1 }, ['TERM-015', ...INT003]));

const KNOWN_FIELDS = new Set([
  'intent_type', 'to_agent', 'from_agent', 'payload', 'correlation_id', 'reply_to', 'deadline_at', 'ttl_seconds',
  'max_delivery_attempts', 'remind_after_seconds', 'remind_interval_seconds', 'max_reminders', 'escalate_to', 'human_task', 'metadata',
]);

const deadlineAndTtl: Mutator = (body) =>
  fc.integer({ min: 60, max: 86_400 }).map((ttl) =>
    schema('deadline_at+ttl_seconds', 'not', ['', '/deadline_at', '/ttl_seconds'], { ...body, deadline_at: '2095-01-01T00:00:00.000Z', ttl_seconds: ttl }, ['INT-006', ...INT003]),
  );

const reminderWithoutAfter: Mutator = (body) =>
  fc.constantFrom('remind_interval_seconds', 'max_reminders').map((field) =>
    schema(`${field}.dependentRequired`, 'dependentRequired', ['', '/remind_after_seconds', `/${field}`], { ...without(body, 'remind_after_seconds'), [field]: 5 }, ['INT-008', ...INT003]),
  );

const outOfRange: Mutator = (body) =>
  fc
    .constantFrom<[string, Json, string]>(
      ['ttl_seconds', 0, 'minimum'], ['ttl_seconds', 31_536_001, 'maximum'], ['ttl_seconds', 1.5, 'type'], ['ttl_seconds', '60', 'type'],
      ['max_delivery_attempts', 0, 'minimum'], ['max_delivery_attempts', 21, 'maximum'],
      ['max_reminders', 101, 'maximum'], ['remind_after_seconds', 0, 'minimum'],
    )
    .map(([field, value, keyword]) => {
      const next = field === 'ttl_seconds' ? without(body, 'deadline_at') : field === 'max_reminders' ? { ...body, remind_after_seconds: 10 } : body;
      return schema(`${field}.${keyword}`, keyword, [`/${field}`], { ...next, [field]: value });
    });

const badFormats: Mutator = (body) =>
  fc
    .constantFrom<[string, Json, string]>(
      ['correlation_id', 'not-a-uuid', 'format'], ['correlation_id', 12, 'type'],
      ['deadline_at', 'tomorrow', 'format'], ['deadline_at', '2095-13-01T00:00:00Z', 'format'],
    )
    .map(([field, value, keyword]) => schema(`${field}.${keyword}`, keyword, [`/${field}`], { ...without(body, 'ttl_seconds'), [field]: value }));

const badMetadata: Mutator = (body) =>
  fc.oneof(
    fc.constant(schema('metadata.value-type', 'type', ['/metadata/k'], { ...body, metadata: { k: 1 } })),
    fc.constant(schema('metadata.maxProperties', 'maxProperties', ['/metadata'], { ...body, metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) })),
    fc.constant(schema('metadata.value-maxLength', 'maxLength', ['/metadata/k'], { ...body, metadata: { k: 'v'.repeat(1025) } })),
  );

const badHumanTask: Mutator = (body) =>
  fc.constantFrom<[string, Json, string, string]>(
    ['human_task.title-required', { task_type: 'approval' }, 'required', '/human_task'],
    ['human_task.task_type-enum', { title: 't', task_type: 'vote' }, 'enum', '/human_task/task_type'],
    ['human_task.allowed_outcomes-unique', { title: 't', task_type: 'approval', allowed_outcomes: ['ok', 'ok'] }, 'uniqueItems', '/human_task/allowed_outcomes'],
    ['human_task.additionalProperties', { title: 't', task_type: 'review', priority: 1 }, 'additionalProperties', '/human_task'],
  ).map(([rule, task, keyword, pointer]) => schema(rule, keyword, [pointer, `${pointer}/title`, `${pointer}/priority`], { ...body, human_task: task }));

const pastDeadline: Mutator = (body) =>
  fc
    .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2020-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => ({
      rule: 'deadline_at.in-the-past', requirements: ['INT-007', ...INT003], layer: 'semantic' as const,
      expect: { status: 422 as const, code: 'validation_failed' }, pointers: ['/deadline_at'],
      json: { ...without(body, 'ttl_seconds'), deadline_at: d.toISOString() },
    }));

const escalateWithoutReminder: Mutator = (body) =>
  fc.constantFrom('agent://ops/oncall', 'agent://ops/eu/oncall').map((escalate_to) =>
    schema('escalate_to.needs-remind_after_seconds', 'dependentRequired', ['/escalate_to'],
      { ...without(body, 'remind_after_seconds', 'remind_interval_seconds', 'max_reminders'), escalate_to }, ['INTL-011', 'ERR-008']));

const attemptsOverLimit: Mutator = (body, limits) =>
  limits.maxDeliveryAttempts.max >= 20
    ? badFormats(body, limits)
    : fc.integer({ min: limits.maxDeliveryAttempts.max + 1, max: 20 }).map((n) => ({
        rule: 'max_delivery_attempts.limit', requirements: ['INT-009', 'ERR-020', 'ERR-008'], layer: 'semantic' as const,
        expect: { status: 422 as const, code: 'limit_exceeded' }, json: { ...body, max_delivery_attempts: n },
      }));

/** Over the payload limit by 1 to 4096 bytes; sometimes also schema-invalid, since the size check comes first (INT-010). */
const payloadTooLarge: Mutator = (body, limits) =>
  fc.tuple(fc.integer({ min: 1, max: 4096 }), fc.boolean()).map(([over, alsoInvalid]) => {
    const payload = padTo((body.payload ?? {}) as Record<string, Json>, limits.maxPayloadBytes + over);
    const json: CreateBody = { ...body, payload, ...(alsoInvalid ? { intent_type: 'NOT A TYPE' } : {}) };
    return { rule: alsoInvalid ? 'payload.size-before-schema' : 'payload.size', requirements: ['INT-010', 'ERR-008'], layer: 'size' as const, expect: { status: 413 as const, code: 'payload_too_large' }, json };
  });

const bodyOverOneMiB: Mutator = (body) =>
  fc.integer({ min: 1, max: 2048 }).map((over) => {
    const filler = 'm'.repeat(1_048_576 + over);
    return { rule: 'body.size', requirements: ['INT-011', 'ERR-008'], layer: 'size' as const, expect: { status: 413 as const, code: 'payload_too_large' }, raw: JSON.stringify({ ...body, metadata: { big: filler } }) };
  });

const malformedJson: Mutator = (body) =>
  fc.oneof(
    fc.integer({ min: 1, max: 40 }).map((cut) => JSON.stringify(body).slice(0, -cut)),
    fc.constantFrom('{', '{"intent_type":}', "{'a':1}", '{"a":1,}', 'nul', '{"a":1}}'),
  ).map((raw) => ({ rule: 'body.json-syntax', requirements: ['ERR-009', 'ERR-008'], layer: 'syntax' as const, expect: { status: 400 as const, code: 'malformed_json' }, raw }));

const wrongMediaType: Mutator = (body) =>
  fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'text/json').map((contentType) => ({
    rule: 'content-type', requirements: ['ERR-010', 'TERM-013', 'ERR-008'], layer: 'media' as const,
    expect: { status: 415 as const, code: 'unsupported_media_type' }, raw: JSON.stringify(body), contentType,
  }));

const badIdempotencyKey: Mutator = (body) =>
  fc.oneof(
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 7 }).map((k) => k.replace(/[^\x21-\x7e]/g, 'k')),
    fc.string({ unit: 'binary-ascii', minLength: 129, maxLength: 160 }).map((k) => k.replace(/[^\x21-\x7e]/g, 'k')),
    fc.stringMatching(/^[a-z]{4,20} [a-z]{4,20}$/),
  ).map((idempotencyKey) => ({
    rule: 'idempotency-key.syntax', requirements: ['IDEM-005', 'ERR-008'], layer: 'header' as const,
    expect: { status: 400 as const, code: 'idempotency_key_invalid' }, json: body, idempotencyKey,
  }));

export const MUTATORS: Record<string, Mutator> = {
  missingRequired, badIntentType, badAddress, payloadNotObject, unknownProperty, deadlineAndTtl, reminderWithoutAfter,
  outOfRange, badFormats, badMetadata, badHumanTask, pastDeadline, escalateWithoutReminder, attemptsOverLimit, payloadTooLarge, bodyOverOneMiB,
  malformedJson, wrongMediaType, badIdempotencyKey,
};

/** A mutation of one of the valid bodies, any rule. */
export function mutationArb(valid: fc.Arbitrary<CreateBody>, limits: CreateLimits): fc.Arbitrary<Mutation> {
  const mutators = Object.values(MUTATORS);
  return fc.tuple(valid, fc.nat({ max: mutators.length - 1 })).chain(([body, i]) => mutators[i](body, limits));
}

export { jsonBytes };
