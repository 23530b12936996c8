// The kit's http receiver: the counterpart of an http-binding agent. It answers each push per a
// script (fail N times, hang, reset, 410, Retry-After...) and keeps every raw body and header, so
// cases can check signatures byte for byte and time the retries (HTTP-*, DLV-*).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CaseFailure, type Receiver, type ReceiverHit, type ReceiverStep } from './case.js';

export interface ReceiverOptions {
  host: string;
  script: ReceiverStep[];
  /** A unique path segment so a stray push from another run never counts. */
  pathToken: string;
  /** Milliseconds since the case started (hits are stamped with it). */
  clock: () => number;
  timeoutScale: number;
  onHit?: (hit: ReceiverHit) => void;
}

interface HitWaiter {
  count: number;
  resolve: (hits: ReceiverHit[]) => void;
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  let script = options.script.length > 0 ? options.script : [{ status: 200 }];
  let stepIndex = 0;
  let usedOfStep = 0;
  const hits: ReceiverHit[] = [];
  const waiters: HitWaiter[] = [];
  const sockets = new Set<Socket>();

  const nextStep = (): ReceiverStep => {
    const step = script[Math.min(stepIndex, script.length - 1)];
    usedOfStep++;
    if (usedOfStep >= (step.times ?? 1) && stepIndex < script.length - 1) {
      stepIndex++;
      usedOfStep = 0;
    }
    return step;
  };

  const openHung = new Set<Socket>();
  const record = (hit: ReceiverHit) => {
    hits.push(hit);
    options.onHit?.(hit);
    for (const w of [...waiters]) {
      if (hits.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hits.slice());
      }
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const body = raw.toString('utf8');
    let json: unknown;
    try {
      json = body.length > 0 ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const base = { atMs: options.clock(), method: req.method ?? 'GET', path: req.url ?? '/', headers: flatHeaders(req), body, json };
    if (!(req.url ?? '').startsWith(`/${options.pathToken}`)) {
      // Not ours (a scanner, another run): answer 404 without counting it.
      res.writeHead(404).end();
      return;
    }
    const step = nextStep();
    // Counted in this event loop's own order of events: the server closing a hung push comes
    // before its next connection, whatever delay the loop had (HTTP-030 is judged on it).
    const hungOpen = openHung.size;
    if ('hang' in step) {
      openHung.add(req.socket);
      req.socket.once('close', () => openHung.delete(req.socket));
      record({ ...base, hungOpen, answered: { status: 0, hung: true } });
      return; // the socket stays open until the server gives up or the receiver closes
    }
    if ('reset' in step) {
      record({ ...base, hungOpen, answered: { status: 0, reset: true } });
      req.socket.destroy();
      return;
    }
    record({ ...base, hungOpen, answered: { status: step.status, headers: step.headers } });
    res.writeHead(step.status, { 'content-type': 'text/plain', ...step.headers });
    res.end(step.body ?? '');
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
    req.on('error', () => req.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('receiver has no port');
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closed = false;

  return {
    url: `http://${hostForUrl}:${address.port}/${options.pathToken}`,
    hits,
    waitForHits(n: number, timeoutMs: number): Promise<ReceiverHit[]> {
      if (hits.length >= n) return Promise.resolve(hits.slice());
      const bound = Math.round(timeoutMs * options.timeoutScale);
      return new Promise((resolve, reject) => {
        const waiter: HitWaiter = {
          count: n,
          resolve: (h) => {
            clearTimeout(timer);
            resolve(h);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new CaseFailure(`receiver got ${hits.length} of ${n} expected pushes within ${bound} ms`, n, hits.length));
        }, bound);
        waiters.push(waiter);
      });
    },
    setScript(next: ReceiverStep[]): void {
      script = next.length > 0 ? next : [{ status: 200 }];
      stepIndex = 0;
      usedOfStep = 0;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
