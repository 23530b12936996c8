// A tiny stand-in for an AXP server, for the kit's own tests: just enough routes for fake cases to
// pass, fail and exercise the client (schema checks, problem documents, SSE, agent registration).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConformanceCase } from '../conformance/case.js';
import type { CaseResult, RunResult } from '../conformance/results.js';

export interface FakeTarget {
  url: string;
  /** Requests seen, as `METHOD path`. */
  seen: string[];
  close(): Promise<void>;
}

export const FAKE_ADMIN_KEY = 'fake-admin-key-0123456789';
const NOW = '2025-01-01T00:00:00.000Z';
const INTENT_ID = '6f1c2a8e-3b4d-4c5e-8f90-123456789abc';

export const fakeCapabilities = {
  ok: true,
  protocol_version: 'axp/1',
  capabilities: ['binding.stream', 'events.sse'],
  supported_intent_types: [],
  bindings: ['stream'],
  limits: {
    max_payload_bytes: 131072,
    wait_seconds: { min: 0, max: 60 },
    lease_seconds: { min: 1, max: 3600 },
    initial_delay_ms: { min: 1, max: 60000 },
    max_delivery_attempts: { min: 1, max: 50 },
    idempotency_ttl_seconds: 86400,
  },
  extensions: {},
};

function problem(status: number, code: string) {
  return { type: `https://axp.dev/problems/${code}`, title: code, status, code, detail: code };
}

function event(seq: number, type: string, status: string) {
  return { intent_id: INTENT_ID, seq, event_type: type, status, at: NOW };
}

export interface FakeTargetOptions {
  /** How PUT /v1/agents/... answers: ok (default), refused (422), no-key (200 without api_key), no-created (200 lacking `created`). */
  registration?: 'ok' | 'refused' | 'no-key' | 'no-created';
}

export async function startFakeTarget(options: FakeTargetOptions = {}): Promise<FakeTarget> {
  const registration = options.registration ?? 'ok';
  const seen: string[] = [];
  let registered = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    seen.push(`${req.method} ${url.pathname}`);
    const json = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(JSON.stringify(body));
    };
    const admin = req.headers['x-api-key'] === FAKE_ADMIN_KEY;
    if (req.method === 'GET' && url.pathname === '/v1/capabilities') return json(200, fakeCapabilities);
    if (req.method === 'PUT' && url.pathname.startsWith('/v1/agents/')) {
      if (!admin) return json(401, problem(401, 'unauthorized'), 'application/problem+json');
      // Refused for the registration itself, not for the key (401/403 would say the key is refused).
      if (registration === 'refused') {
        return json(422, { ...problem(422, 'validation_failed'), errors: [{ pointer: '/delivery', message: 'refused', keyword: 'const', location: 'body' }] }, 'application/problem+json');
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { delivery: Record<string, unknown> };
        const delivery = { max_delivery_attempts: 3, initial_delay_ms: 1000, max_delay_ms: 60000, multiplier: 2, lease_seconds: 30, ...body.delivery };
        const address = `agent://${url.pathname.slice('/v1/agents/'.length)}`;
        const answer: Record<string, unknown> = { ok: true, created: true, api_key: `axp_fake${String(++registered).padStart(20, '0')}`, agent: { address, delivery, created_at: NOW, updated_at: NOW } };
        if (body.delivery.binding === 'http') answer.secret = `whsec_${String(registered).padStart(40, 'A')}`;
        if (registration === 'no-key') delete answer.api_key;
        if (registration === 'no-created') delete answer.created;
        json(200, answer);
      });
      return;
    }
    // A 2xx whose body breaks the intent-response schema.
    if (req.method === 'GET' && url.pathname === `/v1/intents/${INTENT_ID}`) return json(200, { ok: true, intent_id: 'not-a-uuid' });
    // An error that is not a problem document.
    if (url.pathname === '/v1/intents' && req.method === 'POST') return json(422, { error: 'bad' });
    if (url.pathname === `/v1/intents/${INTENT_ID}/events/stream`) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const since = Number(url.searchParams.get('since') ?? req.headers['last-event-id'] ?? 0);
      const all = [event(1, 'intent.created', 'CREATED'), event(2, 'intent.submitted', 'SUBMITTED'), event(3, 'intent.completed', 'COMPLETED')];
      res.write(': keepalive\n\n');
      for (const e of all.filter((x) => x.seq > since)) res.write(`id: ${e.seq}\nevent: ${e.event_type}\ndata: ${JSON.stringify(e)}\n\n`);
      res.end();
      return;
    }
    if (url.pathname === '/v1/never-ends') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      return; // stays open until the kit cuts it
    }
    json(404, problem(404, 'not_found'), 'application/problem+json');
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export { INTENT_ID };

/** A port on 127.0.0.1 that refuses connections: bound once, then released. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A MUST case of the fake group `id` prefixes, proving TERM-001 unless `extra` says otherwise. */
export function fake(id: string, run: ConformanceCase['run'], extra: Partial<ConformanceCase> = {}): ConformanceCase {
  return { id, group: id.split('-')[0], title: `case ${id}`, level: 'MUST', requirements: ['TERM-001'], run, ...extra };
}

/** The result of case `id` in a run, or a thrown error naming it. */
export const byId = (run: RunResult, id: string): CaseResult => {
  const found = run.cases.find((c) => c.id === id);
  if (!found) throw new Error(`no result for ${id}`);
  return found;
};
