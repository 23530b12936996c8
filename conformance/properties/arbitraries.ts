// Generated create bodies, derived from schemas/intent-create-request.schema.json and
// common.defs.json: valid bodies of every shape the schema allows (unicode, nesting, payload sizes
// up to the advertised max_payload_bytes), and mutations that must be refused, each naming the
// rule it breaks and the answer it must get (INT-003, INT-006..INT-010, ERR-009, ERR-010, IDEM-005).
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type CreateBody = Record<string, Json>;

export interface CreateLimits {
  maxPayloadBytes: number;
  maxDeliveryAttempts: { min: number; max: number };
}

/** The create-related limits a target advertises (CAP-*, ERR-020), with the spec's defaults. */
export function limitsFrom(capabilities: unknown): CreateLimits {
  const limits = (capabilities as { limits?: Record<string, unknown> } | undefined)?.limits ?? {};
  const attempts = limits.max_delivery_attempts as { min?: number; max?: number } | undefined;
  const max = typeof limits.max_payload_bytes === 'number' ? limits.max_payload_bytes : 131_072;
  return {
    maxPayloadBytes: max,
    maxDeliveryAttempts: { min: Math.max(1, attempts?.min ?? 1), max: Math.min(20, attempts?.max ?? 20) },
  };
}

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

// ---------------------------------------------------------------- building blocks

const segment = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/);

/** agent://seg/seg[/seg], the last segment never `intents` (TERM-002, TERM-003). */
export const addressArb: fc.Arbitrary<string> = fc
  .array(segment, { minLength: 2, maxLength: 3 })
  .filter((segs) => segs[segs.length - 1] !== 'intents')
  .map((segs) => `agent://${segs.join('/')}`);

export const intentTypeArb: fc.Arbitrary<string> = fc
  .stringMatching(/^[a-z0-9_]{1,24}(\.[a-z0-9_]{1,24}){1,3}\.v[0-9]{1,3}$/)
  .filter((t) => t.length <= 128);

/** Any string: full unicode (astral planes, combining marks, controls), not only ASCII. */
export const unicodeString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(fc.string({ unit: 'grapheme', maxLength }), fc.string({ unit: 'binary', maxLength }), fc.string({ maxLength }));

const jsonLeaf: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
  unicodeString(),
);

/** Nested JSON (objects and arrays several levels deep) with unicode keys and strings. */
export const jsonValueArb: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    jsonLeaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(unicodeString(16), tie('value'), { maxKeys: 5 }),
  ),
})).value;

const uuidArb = fc.uuid({ version: 4 });
const futureTimestamp = fc
  .date({ min: new Date('2090-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

const humanTaskArb = fc.record(
  {
    title: unicodeString(60).filter((s) => s.length >= 1 && s.length <= 512),
    description: unicodeString(200),
    task_type: fc.constantFrom('approval', 'review', 'input', 'confirmation'),
    allowed_outcomes: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), { minLength: 1, maxLength: 16 }),
    required_comment: fc.boolean(),
    assignees: fc.array(unicodeString(30).filter((s) => s.length >= 1), { maxLength: 4 }),
  },
  { requiredKeys: ['title', 'task_type'] },
);

const metadataArb = fc.dictionary(
  unicodeString(24).filter((k) => k.length <= 128),
  unicodeString(60).filter((v) => v.length <= 1024),
  { maxKeys: 8 },
);

/**
 * A payload object whose serialized size is either small or padded to a byte count near or at
 * `maxBytes` (INT-012: at or under the limit is never refused for its size).
 */
export function payloadArb(maxBytes: number): fc.Arbitrary<Record<string, Json>> {
  const base = fc.dictionary(unicodeString(16), jsonValueArb, { maxKeys: 6 });
  const target = fc.oneof(
    { weight: 8, arbitrary: fc.constant<number | undefined>(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: maxBytes }) },
    { weight: 1, arbitrary: fc.nat({ max: 64 }).map((d) => maxBytes - d) },
  );
  return fc.tuple(base, target).map(([payload, size]) => (size === undefined ? payload : padTo(payload, size)));
}

/** Adds an ASCII `_pad` string so the payload serializes to exactly `bytes` (when it fits). */
export function padTo(payload: Record<string, Json>, bytes: number): Record<string, Json> {
  const rest = { ...payload };
  delete rest._pad;
  const empty = jsonBytes({ ...rest, _pad: '' });
  if (empty > bytes) return rest;
  return { ...rest, _pad: 'p'.repeat(bytes - empty) };
}

export interface BodyOptions {
  toAgent: string;
  limits: CreateLimits;
}

/** Valid create bodies: every optional field of the schema may appear, alone or together. */
export function createBodyArb({ toAgent, limits }: BodyOptions): fc.Arbitrary<CreateBody> {
  const reminders = fc.option(
    fc.record(
      {
        remind_after_seconds: fc.integer({ min: 1, max: 31_536_000 }),
        remind_interval_seconds: fc.integer({ min: 1, max: 31_536_000 }),
        max_reminders: fc.integer({ min: 0, max: 100 }),
      },
      { requiredKeys: ['remind_after_seconds'] },
    ),
    { nil: undefined },
  );
  const deadline = fc.oneof(
    fc.constant({}),
    futureTimestamp.map((deadline_at) => ({ deadline_at })),
    fc.integer({ min: 3600, max: 31_536_000 }).map((ttl_seconds) => ({ ttl_seconds })),
  );
  const optional = fc.record(
    {
      from_agent: addressArb,
      correlation_id: uuidArb,
      reply_to: addressArb,
      max_delivery_attempts: fc.integer(limits.maxDeliveryAttempts),
      escalate_to: addressArb,
      human_task: humanTaskArb,
      metadata: metadataArb,
    },
    { requiredKeys: [] },
  );
  return fc
    .tuple(intentTypeArb, payloadArb(limits.maxPayloadBytes), optional, deadline, reminders)
    .map(([intent_type, payload, rest, when, remind]) => {
      const body = { intent_type, to_agent: toAgent, payload, ...rest, ...when, ...(remind ?? {}) } as CreateBody;
      // INTL-011, a rule beside the schema: escalate_to needs remind_after_seconds.
      if (body.escalate_to !== undefined && body.remind_after_seconds === undefined) body.remind_after_seconds = 3600;
      return body;
    });
}

/** Small bodies for the stateful suite: no timers other than an optional deadline far enough away. */
export function lifecycleBodyArb(toAgent: string): fc.Arbitrary<CreateBody> {
  return fc
    .record(
      {
        intent_type: intentTypeArb,
        payload: fc.dictionary(unicodeString(8), jsonLeaf, { maxKeys: 3 }),
        correlation_id: uuidArb,
        metadata: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
        reply_to: addressArb,
      },
      { requiredKeys: ['intent_type', 'payload'] },
    )
    .map((body) => ({ ...body, to_agent: toAgent }) as CreateBody);
}
