// Faults as Fastify hooks on the root instance: what a gateway or a request/answer mapping layer in
// front of a correct server gets wrong (a header rewritten or dropped, a field mapped away, an
// error mapped to the wrong status, a response stream that is never ended).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Problem } from '../reference-server/errors.js';
import { MAX_PAYLOAD_BYTES } from '../reference-server/limits.js';
import type { AgentRecord } from '../reference-server/model.js';
import type { FaultSet } from './catalogue.js';

export const HTTP_FAULTS = [
  'sse-duplicate-on-resume', 'last-event-id-ignored', 'sse-never-closes', 'sse-no-final-frame', 'since-inclusive',
  'stale-delivery-acked', 'poll-limit-ignored', 'policy-update-merges', 'malformed-json-500', 'schema-not-enforced',
  'payload-limit-off-by-one', 'terminal-accepts-resolve', 'redelivery-reuses-attempt',
] as const;

const EVENTS_STREAM = 'GET /v1/intents/:intent_id/events/stream';
const EVENTS_LIST = 'GET /v1/intents/:intent_id/events';
const ACK = 'POST /v1/intents/:intent_id/ack';
const CREATE = 'POST /v1/intents';
const POLL = new Set(['GET /v1/agents/:seg1/:seg2/intents', 'GET /v1/agents/:seg1/:seg2/:seg3/intents']);
const DELIVERY_STREAM = new Set(['GET /v1/agents/:seg1/:seg2/intents/stream', 'GET /v1/agents/:seg1/:seg2/:seg3/intents/stream']);
const PUT_AGENT = new Set(['PUT /v1/agents/:seg1/:seg2', 'PUT /v1/agents/:seg1/:seg2/:seg3']);
const TERMINAL_WRITES = new Set(['POST /v1/intents/:intent_id/resolve', 'POST /v1/intents/:intent_id/resume', 'POST /v1/intents/:intent_id/cancel']);

const routeOf = (req: FastifyRequest): string => `${req.method} ${req.routeOptions.url ?? ''}`;
const isSse = (route: string): boolean => route === EVENTS_STREAM || DELIVERY_STREAM.has(route);

type End = (...args: unknown[]) => unknown;
type Write = (chunk: unknown, ...rest: unknown[]) => boolean;

export function installHttpFaults(app: FastifyInstance, faults: FaultSet): void {
  if (!HTTP_FAULTS.some((f) => faults.has(f))) return;
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });

  app.addHook('onRequest', async (req, reply) => {
    const route = routeOf(req);
    if (route === EVENTS_STREAM) {
      const header = req.headers['last-event-id'];
      if (faults.has('last-event-id-ignored')) delete req.headers['last-event-id'];
      else if (faults.has('sse-duplicate-on-resume') && typeof header === 'string' && /^\d+$/.test(header.trim())) {
        req.headers['last-event-id'] = String(Math.max(0, Number(header.trim()) - 1));
      }
    }
    if (isSse(route)) patchSseEnd(reply, faults, () => closing);
    if (DELIVERY_STREAM.has(route) && faults.has('redelivery-reuses-attempt')) {
      const raw = reply.raw;
      const write = raw.write.bind(raw) as Write;
      (raw as unknown as { write: Write }).write = (chunk, ...rest) => write(typeof chunk === 'string' ? lowerAttempts(chunk) : chunk, ...rest);
    }
  });

  if (faults.has('schema-not-enforced')) {
    const compile = app.validatorCompiler;
    if (compile) app.setValidatorCompiler((route) => (route.httpPart === 'body' ? () => true : compile(route)));
  }

  app.addHook('preValidation', async (req) => {
    if (faults.has('payload-limit-off-by-one') && routeOf(req) === CREATE) {
      const payload = (req.body as { payload?: unknown } | undefined)?.payload;
      if (payload !== undefined && Buffer.byteLength(JSON.stringify(payload)) >= MAX_PAYLOAD_BYTES) {
        throw new Problem('payload_too_large', `payload exceeds ${MAX_PAYLOAD_BYTES} bytes serialized`);
      }
    }
  });

  app.addHook('preHandler', async (req) => {
    const route = routeOf(req);
    const query = req.query as Record<string, unknown>;
    if (faults.has('since-inclusive') && route === EVENTS_LIST && typeof query.since === 'number') query.since = Math.max(0, query.since - 1);
    if (faults.has('poll-limit-ignored') && POLL.has(route)) query.limit = Number.MAX_SAFE_INTEGER;
    if (faults.has('stale-delivery-acked') && route === ACK && req.body && typeof req.body === 'object') delete (req.body as { delivery_id?: string }).delivery_id;
    if (faults.has('policy-update-merges') && PUT_AGENT.has(route)) await mergePolicy(app, req);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const route = routeOf(req);
    if (typeof payload !== 'string') return payload;
    if (faults.has('malformed-json-500') && reply.statusCode === 400 && payload.includes('"code":"malformed_json"')) {
      reply.code(500).type('application/json');
      return JSON.stringify({ statusCode: 500, error: 'Internal Server Error', message: 'Unexpected token in JSON' });
    }
    if (faults.has('terminal-accepts-resolve') && TERMINAL_WRITES.has(route) && reply.statusCode === 409 && payload.includes('"code":"intent_terminal"')) {
      reply.code(200).type('application/json');
      return JSON.stringify({ ok: true });
    }
    if (faults.has('redelivery-reuses-attempt') && POLL.has(route) && reply.statusCode === 200) return lowerAttempts(payload);
    return payload;
  });
}

/** sse-never-closes, sse-no-final-frame: the raw response's end() replaced. */
function patchSseEnd(reply: FastifyReply, faults: FaultSet, closing: () => boolean): void {
  if (!faults.has('sse-never-closes') && !faults.has('sse-no-final-frame')) return;
  const raw = reply.raw;
  const end = raw.end.bind(raw) as End;
  (raw as unknown as { end: End }).end = (...args: unknown[]) => {
    if (faults.has('sse-never-closes') && !closing()) return raw;
    if (faults.has('sse-no-final-frame') && typeof args[0] === 'string' && /^event: stream\.timeout$/m.test(args[0])) return end();
    return end(...args);
  };
}

/** A redelivery shown with the attempt number of the one it replaces. */
function lowerAttempts(text: string): string {
  return text.replace(/"attempt":(\d+)/g, (whole, n: string) => (Number(n) > 1 ? `"attempt":${Number(n) - 1}` : whole));
}

/** policy-update-merges: PUT read as a merge of the new delivery policy into the stored one. */
async function mergePolicy(app: FastifyInstance, req: FastifyRequest): Promise<void> {
  const p = req.params as { seg1: string; seg2: string; seg3?: string };
  const address = `agent://${[p.seg1, p.seg2, p.seg3].filter((s) => s !== undefined).join('/')}`;
  const body = req.body as { delivery?: AgentRecord['delivery'] } | undefined;
  if (!body?.delivery) return;
  const previous = (await app.axp.store.read((tx) => tx.getAgent(address)))?.delivery;
  if (previous && previous.binding === body.delivery.binding) body.delivery = { ...previous, ...body.delivery };
}
