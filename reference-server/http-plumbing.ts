// ERR-002..ERR-008: how requests are parsed and validated and how every failure becomes one
// problem+json answer from errors.ts. A rejected request never reaches a handler, so it changes nothing.
import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createAjv, toViolations } from '../schemas/index.js';
import { Problem, type Violation } from './errors.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;
/** ERR-007: deeper documents would overflow the stack in later JSON handling (a 503 for an input fault). */
export const MAX_NESTING_DEPTH = 512;
/** How much of an unread body is read and discarded before an early error answer, and for how long. */
const DRAIN_LIMIT_BYTES = 8 * BODY_LIMIT_BYTES;
const DRAIN_LIMIT_MS = 5_000;

/**
 * Reads and discards the rest of a request body an error answer did not read (RFC 9112 §9.6).
 * Answering early and closing with unread bytes makes the kernel reset the connection, and the
 * client, still writing, can lose the answer (a 413 seen as EPIPE). True when the body ended
 * within the bounds; false when it was cut short, and the connection must then close.
 */
export function drainRequest(raw: IncomingMessage, maxBytes = DRAIN_LIMIT_BYTES, maxMs = DRAIN_LIMIT_MS): Promise<boolean> {
  if (raw.complete || raw.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (drained: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', onEnd).off('error', onCut).off('close', onCut);
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onCut = () => finish(raw.complete);
    const timer = setTimeout(() => finish(false), maxMs);
    raw.on('data', onData).on('end', onEnd).on('error', onCut).on('close', onCut);
    raw.resume();
  });
}

/** True when the JSON text opens more than `max` arrays/objects at once (brackets inside strings ignored). */
export function nestingExceeds(text: string, max: number): boolean {
  if (text.length <= max * 2) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i += 1; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) { if (++depth > max) return true; }
    else if (c === 93 || c === 125) depth -= 1;
  }
  return false;
}

type Location = NonNullable<Violation['location']>;
const LOCATIONS: Record<string, Location> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

export function installPlumbing(app: FastifyInstance, log: (error: unknown) => void): void {
  // ERR-010: only JSON bodies; anything else is 415 (Fastify answers unknown types with FST_ERR_CTP_INVALID_MEDIA_TYPE).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    if (nestingExceeds(text, MAX_NESTING_DEPTH)) {
      return done(new Problem('validation_failed', `request body nests deeper than ${MAX_NESTING_DEPTH} levels`, [{ pointer: '', message: `must not nest deeper than ${MAX_NESTING_DEPTH} levels`, keyword: 'maxDepth', location: 'body' }]), undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new Problem('malformed_json', `request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
  // ERR-010: an empty body is accepted whatever its Content-Type; a non-empty non-JSON body is 415.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => {
    if (String(body) === '') return done(null, undefined);
    done(new Problem('unsupported_media_type', 'request bodies must be application/json'), undefined);
  });

  // Schemas compiled once: bodies strictly, query strings with type coercion ("5" → 5).
  const bodyAjv = createAjv();
  const queryAjv = createAjv({ coerceTypes: true });
  const cache = new Map<string, ValidateFunction>();
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : queryAjv;
    const key = `${httpPart}:${JSON.stringify(schema)}`;
    let fn = cache.get(key);
    if (!fn) {
      const ref = (schema as { $ref?: string }).$ref;
      fn = (ref && ajv.getSchema(ref)) || ajv.compile(schema);
      cache.set(key, fn);
    }
    return fn;
  });
  app.setSchemaErrorFormatter((errors, context) => {
    const error = new Error('validation failed') as Error & { axpViolations: Violation[] };
    const location = LOCATIONS[context] ?? 'body';
    error.axpViolations = toViolations(errors as ErrorObject[]).map((v) => ({ ...v, location }));
    return error;
  });

  app.setErrorHandler(async (error: FastifyError & { axpViolations?: Violation[] }, req, reply) => {
    const p = toProblem(error, log);
    // Fastify refuses an oversized or unparseable body before reading it, with Connection: close.
    if (!req.raw.complete && (await drainRequest(req.raw))) reply.removeHeader('connection');
    reply.status(p.status).type('application/problem+json');
    if (p.retryAfter !== undefined) reply.header('retry-after', String(p.retryAfter));
    // SEC-002: a 401 names the scheme the key travels in.
    if (p.status === 401) reply.header('www-authenticate', 'Bearer');
    return reply.send(p.toBody());
  });
}

/**
 * ERR-011: a URL Fastify cannot decode (invalid percent-encoding, e.g. an unpaired surrogate)
 * names no resource: 404 not_found, as problem+json like every other error (Fastify's own
 * answer would be plain JSON).
 */
export function frameworkErrorHandler(error: FastifyError, _req: unknown, reply: FastifyReply): void {
  const p = error.code === 'FST_ERR_BAD_URL' ? new Problem('not_found', 'the request URL cannot be decoded') : new Problem('malformed_json', error.message);
  reply.status(p.status).type('application/problem+json').send(p.toBody());
}

export function toProblem(error: FastifyError & { axpViolations?: Violation[] }, log: (error: unknown) => void): Problem {
  if (error instanceof Problem) return error;
  if (error.axpViolations) return new Problem('validation_failed', 'the request does not match its schema', error.axpViolations);
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new Problem('unsupported_media_type', 'request bodies must be application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new Problem('payload_too_large', `request body exceeds ${BODY_LIMIT_BYTES} bytes`);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new Problem('malformed_json', error.message);
  }
  if (error.statusCode === 404) return new Problem('not_found');
  if (error.statusCode === 413) return new Problem('payload_too_large');
  if (error.statusCode === 415) return new Problem('unsupported_media_type');
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return new Problem('malformed_json', error.message);
  // Not an input problem: the store or the process failed. The write did not happen; retry.
  log(error);
  return new Problem('overloaded', 'the server could not complete the request; retry later', undefined, 1);
}
