// A small HTTP proxy in front of a correct AXP server that changes one thing at a time, so a test
// can check the kit's verdict on a server with exactly one known defect. JSON answers can be
// rewritten, requests rewritten or answered by the proxy itself, and every answer delayed; any
// other answer (SSE streams included) is streamed through unchanged.
import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query, e.g. `/v1/intents/x/events?since=2`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ProxiedAnswer {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON body (rewritable), or undefined when the body was not JSON. */
  json: any;
}

export interface Perturbation {
  name: string;
  /** Rewrites the request before it is forwarded, or answers it here (returns an answer). */
  request?(req: ProxiedRequest): void | { status: number; headers?: Record<string, string>; json: unknown };
  /** Rewrites a JSON answer in place (status, headers, body). */
  response?(req: ProxiedRequest, answer: ProxiedAnswer): void;
  /** Delays every answer (its head, for a stream) by this many ms. */
  delayMs?: number;
}

export interface Interposer {
  url: string;
  /** Switches the perturbation for the following requests (undefined: forward unchanged). */
  set(perturbation: Perturbation | undefined): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startInterposer(upstream: string): Promise<Interposer> {
  const target = new URL(upstream);
  let current: Perturbation | undefined;

  const server: Server = createServer(async (req, res) => {
    const perturbation = current;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const incoming: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: { ...req.headers }, body: Buffer.concat(chunks) };
    if (perturbation?.delayMs) await sleep(perturbation.delayMs);
    const direct = perturbation?.request?.(incoming);
    if (direct) {
      const text = JSON.stringify(direct.json);
      res.writeHead(direct.status, { 'content-type': 'application/problem+json', ...direct.headers, 'content-length': Buffer.byteLength(text) }).end(text);
      return;
    }
    const headers = forwardable(incoming.headers);
    if (incoming.body.length > 0) headers['content-length'] = String(incoming.body.length);
    const upstreamReq = httpRequest({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers }, (up) => {
      const status = up.statusCode ?? 502;
      const type = String(up.headers['content-type'] ?? '');
      const outHeaders: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) outHeaders[k] = v;
      if (!perturbation?.response || !/json/.test(type)) {
        res.writeHead(status, outHeaders);
        up.pipe(res);
        return;
      }
      const body: Buffer[] = [];
      up.on('data', (c: Buffer) => body.push(c));
      up.on('end', () => {
        const text = Buffer.concat(body).toString('utf8');
        let json: any;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(outHeaders)) flat[k] = Array.isArray(v) ? v.join(', ') : v;
        const answer: ProxiedAnswer = { status, headers: flat, json };
        if (json !== undefined) perturbation.response!(incoming, answer);
        const out = json === undefined ? text : JSON.stringify(answer.json);
        res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(out) }).end(out);
      });
      up.on('error', () => res.destroy());
    });
    upstreamReq.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // The kit cut the connection (an SSE read it stopped): cut the upstream one too.
    res.on('close', () => upstreamReq.destroy());
    upstreamReq.end(incoming.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (p) => {
      current = p;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
