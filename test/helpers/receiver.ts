// A real http receiver on 127.0.0.1 port 0 for the http binding tests: it records every push
// (headers and the exact body bytes) and answers as a script says. Tests wait for pushes with a
// bound, never for a fixed time.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Push { headers: IncomingHttpHeaders; body: string; json: any; at: number }

/** What to answer push number n (0-based): a status (+ headers), 'hang' (never answer) or 'reset'; may come later (a promise). */
export type Answer = number | { status: number; headers?: Record<string, string> } | 'hang' | 'reset';
export type Script = (n: number, push: Push) => Answer | Promise<Answer>;

export class Receiver {
  readonly pushes: Push[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(script: Script = () => 200, path = '/hooks/axp'): Promise<Receiver> {
    let receiver: Receiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => receiver?.handle(script, req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new Receiver(server, `http://127.0.0.1:${port}${path}`);
    return receiver;
  }

  private handle(script: Script, headers: IncomingHttpHeaders, body: string, res: ServerResponse): void {
    let json: unknown;
    try { json = JSON.parse(body); } catch { json = undefined; }
    const push: Push = { headers, body, json, at: Date.now() };
    const n = this.pushes.length;
    this.pushes.push(push);
    this.hanging.add(res);
    void Promise.resolve(script(n, push)).then((answer) => this.answer(res, answer));
    this.waiters = this.waiters.filter((w) => {
      if (this.pushes.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  private answer(res: ServerResponse, answer: Answer): void {
    if (answer === 'hang' || res.destroyed) return;
    this.hanging.delete(res);
    if (answer === 'reset') res.socket?.destroy();
    else {
      const { status, headers: extra } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
      res.writeHead(status, { 'content-type': 'text/plain', ...extra }).end('ok');
    }
  }

  /** Resolves once `count` pushes have arrived (bounded). */
  waitForPushes(count: number, timeoutMs = 15_000): Promise<Push[]> {
    if (this.pushes.length >= count) return Promise.resolve(this.pushes.slice());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${count} pushes, got ${this.pushes.length}`)), timeoutMs);
      this.waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(this.pushes.slice()); } });
    });
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.socket?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A URL nothing listens on: a port we bound and released (connection refused). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/hooks/axp`;
}
