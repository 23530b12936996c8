// The wire format's one entry point: every schema, loaded once, compiled once.
import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import ackRequest from './ack-request.schema.json' with { type: 'json' };
import agentRegistrationRequest from './agent-registration-request.schema.json' with { type: 'json' };
import agentRegistrationResponse from './agent-registration-response.schema.json' with { type: 'json' };
import agentResponse from './agent-response.schema.json' with { type: 'json' };
import agent from './agent.schema.json' with { type: 'json' };
import agentsFile from './agents-file.schema.json' with { type: 'json' };
import cancelRequest from './cancel-request.schema.json' with { type: 'json' };
import capabilities from './capabilities.schema.json' with { type: 'json' };
import clientDriverOutput from './client-driver-output.schema.json' with { type: 'json' };
import clientScenarioContext from './client-scenario-context.schema.json' with { type: 'json' };
import conformanceReport from './conformance-report.schema.json' with { type: 'json' };
import commonDefs from './common.defs.json' with { type: 'json' };
import deadLetterListResponse from './dead-letter-list-response.schema.json' with { type: 'json' };
import deadLetter from './dead-letter.schema.json' with { type: 'json' };
import deliveryListResponse from './delivery-list-response.schema.json' with { type: 'json' };
import deliveryPolicy from './delivery-policy.schema.json' with { type: 'json' };
import delivery from './delivery.schema.json' with { type: 'json' };
import eventListResponse from './event-list-response.schema.json' with { type: 'json' };
import event from './event.schema.json' with { type: 'json' };
import healthResponse from './health-response.schema.json' with { type: 'json' };
import inboxDecisionRequest from './inbox-decision-request.schema.json' with { type: 'json' };
import inboxListResponse from './inbox-list-response.schema.json' with { type: 'json' };
import inboxReplyRequest from './inbox-reply-request.schema.json' with { type: 'json' };
import inboxThreadResponse from './inbox-thread-response.schema.json' with { type: 'json' };
import inboxThread from './inbox-thread.schema.json' with { type: 'json' };
import intentCreateRequest from './intent-create-request.schema.json' with { type: 'json' };
import intentListResponse from './intent-list-response.schema.json' with { type: 'json' };
import intentResponse from './intent-response.schema.json' with { type: 'json' };
import intentWriteResponse from './intent-write-response.schema.json' with { type: 'json' };
import intent from './intent.schema.json' with { type: 'json' };
import problem from './problem.schema.json' with { type: 'json' };
import resolveRequest from './resolve-request.schema.json' with { type: 'json' };
import resumeRequest from './resume-request.schema.json' with { type: 'json' };
import scenario from './scenario.schema.json' with { type: 'json' };
import streamTimeout from './stream-timeout.schema.json' with { type: 'json' };
import testClockRequest from './test-clock-request.schema.json' with { type: 'json' };
import testClockResponse from './test-clock-response.schema.json' with { type: 'json' };

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Wire-object schemas by name (file name without .schema.json). */
export const schemas = {
  'ack-request': ackRequest,
  'agent': agent,
  'agent-registration-request': agentRegistrationRequest,
  'agent-registration-response': agentRegistrationResponse,
  'agent-response': agentResponse,
  'agents-file': agentsFile,
  'cancel-request': cancelRequest,
  'capabilities': capabilities,
  'client-driver-output': clientDriverOutput,
  'client-scenario-context': clientScenarioContext,
  'conformance-report': conformanceReport,
  'dead-letter': deadLetter,
  'dead-letter-list-response': deadLetterListResponse,
  'delivery': delivery,
  'delivery-list-response': deliveryListResponse,
  'delivery-policy': deliveryPolicy,
  'event': event,
  'event-list-response': eventListResponse,
  'health-response': healthResponse,
  'inbox-decision-request': inboxDecisionRequest,
  'inbox-list-response': inboxListResponse,
  'inbox-reply-request': inboxReplyRequest,
  'inbox-thread': inboxThread,
  'inbox-thread-response': inboxThreadResponse,
  'intent': intent,
  'intent-create-request': intentCreateRequest,
  'intent-list-response': intentListResponse,
  'intent-response': intentResponse,
  'intent-write-response': intentWriteResponse,
  'problem': problem,
  'resolve-request': resolveRequest,
  'resume-request': resumeRequest,
  'scenario': scenario,
  'stream-timeout': streamTimeout,
  'test-clock-request': testClockRequest,
  'test-clock-response': testClockResponse,
} as const;

export type SchemaName = keyof typeof schemas;
export const schemaNames = Object.keys(schemas) as SchemaName[];

/** Schemas that only hold shared $defs; referenced, never validated against directly. */
export const definitionSchemas = [commonDefs] as const;

export const SCHEMA_BASE = 'https://schemas.axp.dev/v1/';

export function schemaId(name: SchemaName): string {
  return `${SCHEMA_BASE}${name}.schema.json`;
}

/** A fresh Ajv 2020-12 instance holding every AXP schema (for Fastify's validator compiler, tests). */
export function createAjv(options: { coerceTypes?: boolean; removeAdditional?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictRequired: false,
    strictTypes: false,
    allowUnionTypes: true,
    coerceTypes: options.coerceTypes ?? false,
    removeAdditional: options.removeAdditional ?? false,
    useDefaults: false,
  });
  addFormats(ajv);
  for (const defs of definitionSchemas) ajv.addSchema(defs);
  for (const schema of Object.values(schemas)) ajv.addSchema(schema);
  return ajv;
}

let shared: Ajv2020 | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

/** The compiled validator for one wire object; compiled on first use, then reused. */
export function validatorFor(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    shared ??= createAjv();
    validate = shared.getSchema(schemaId(name));
    if (!validate) throw new Error(`schema ${name} is not registered`);
    compiled.set(name, validate);
  }
  return validate;
}

export interface SchemaViolation {
  pointer: string;
  message: string;
  keyword: string;
}

export function toViolations(errors: ErrorObject[] | null | undefined): SchemaViolation[] {
  // RFC 6901: a property name goes into a pointer with ~ and / escaped (Ajv's instancePath already is).
  const token = (name: unknown) => `/${String(name ?? '').replaceAll('~', '~0').replaceAll('/', '~1')}`;
  return (errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? token((e.params as { missingProperty?: string }).missingProperty) : '';
    const extra = e.keyword === 'additionalProperties' ? token((e.params as { additionalProperty?: string }).additionalProperty) : '';
    // INTL-011: a dependency violation points at the property that is present without its companion.
    const dependent = e.keyword === 'dependentRequired' ? token((e.params as { property?: string }).property) : '';
    return { pointer: `${e.instancePath}${missing || extra || dependent}`, message: e.message ?? 'invalid', keyword: e.keyword };
  });
}

/** Validates data against a wire schema: { ok: true } or the violations with JSON pointers. */
export function validate(name: SchemaName, data: unknown): { ok: true } | { ok: false; errors: SchemaViolation[] } {
  const fn = validatorFor(name);
  return fn(data) ? { ok: true } : { ok: false, errors: toViolations(fn.errors) };
}
