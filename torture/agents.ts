// The load of the torture run: senders that create intents, and one worker per binding that
// takes deliveries and completes them. All of them keep going across kill -9 and restarts (the
// Client retries with the same Idempotency-Key), and record what they saw in the Ledger.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createParser } from 'eventsource-parser';
import type { Client } from './client.js';
import type { Reachable } from './server-process.js';

export type Target = 'stream' | 'poll' | 'http' | 'inbox' | 'internal';

export class Ledger {
  /** intent_id → target, for every create answered 200. */
  readonly accepted = new Map<string, Target>();
  /** Deliveries seen by the agents per server epoch (did delivery resume after each restart?). */
  readonly deliveriesByEpoch = new Map<number, number>();
  /** intent_id → how many times it reached an agent (duplicates come from expired leases and kills). */
  readonly deliveriesOf = new Map<string, number>();
  /** intent_id → seqs of the terminal events that 200 answers to the agents' completions named. */
  readonly completionSeqs = new Map<string, Set<number>>();
  /** Answers nobody expected (a 4xx on a valid request, a 5xx other than a retried 503). */
  readonly anomalies: string[] = [];
  createAttempts = 0;

  delivered(intentId: string, epoch: number): void {
    this.deliveriesByEpoch.set(epoch, (this.deliveriesByEpoch.get(epoch) ?? 0) + 1);
    this.deliveriesOf.set(intentId, (this.deliveriesOf.get(intentId) ?? 0) + 1);
  }

  completed(intentId: string, seq: number): void {
    let seqs = this.completionSeqs.get(intentId);
    if (!seqs) this.completionSeqs.set(intentId, (seqs = new Set()));
    seqs.add(seq);
  }

  anomaly(what: string): void {
    if (this.anomalies.length < 100) this.anomalies.push(what);
  }
}

export interface AgentKeys { address: string; key: string }

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const agentPath = (address: string) => `/v1/agents/${address.replace('agent://', '')}`;

/** Which completion route an intent gets is fixed by its id, so duplicate deliveries replay, not conflict. */
function completionOf(intentId: string): { path: string; body: unknown } {
  return intentId.charCodeAt(intentId.length - 1) % 2 === 0
    ? { path: `/v1/intents/${intentId}/resolve`, body: { status: 'COMPLETED', result: { by: 'torture' } } }
    : { path: `/v1/intents/${intentId}/resume`, body: { action: 'complete', result: { by: 'torture' } } };
}

export class Workers {
  private readonly stop = new AbortController();
  private readonly running: Promise<void>[] = [];
  private receiver: Server | undefined;

  constructor(private readonly server: Reachable, private readonly client: Client, private readonly ledger: Ledger) {}

  get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** Completes an intent as its receiver (idempotent: same key, same body on every try). */
  async complete(intentId: string, key: string): Promise<void> {
    const { path, body } = completionOf(intentId);
    const answer = await this.client.call('POST', path, { key, body, headers: { 'idempotency-key': `done-${intentId}` }, signal: this.signal });
    if (answer.status === 200) this.ledger.completed(intentId, answer.body.event.seq);
    else if (!(answer.status === 409 && answer.body?.code === 'intent_terminal')) this.ledger.anomaly(`complete ${intentId}: ${answer.status} ${answer.body?.code}`);
  }

  /** A pull delivery: mostly ack + complete, sometimes complete at once, sometimes ignored (lease expiry). */
  private async handlePulled(delivery: { intent_id: string; delivery_id: string }, agent: AgentKeys): Promise<void> {
    this.ledger.delivered(delivery.intent_id, this.server.epoch);
    const roll = Math.random();
    if (roll < 0.1) return;
    if (roll < 0.7) {
      await this.client.call('POST', `/v1/intents/${delivery.intent_id}/ack`, { key: agent.key, body: { delivery_id: delivery.delivery_id }, signal: this.signal });
    }
    await this.complete(delivery.intent_id, agent.key);
  }

  private spawn(task: () => Promise<void>): void {
    const run = task().catch((error: unknown) => {
      if (!this.signal.aborted) this.ledger.anomaly(`worker: ${String(error)}`);
    });
    this.running.push(run);
  }

  private handleSoon(delivery: { intent_id: string; delivery_id: string }, agent: AgentKeys): void {
    this.spawn(() => this.handlePulled(delivery, agent));
  }

  startStream(agent: AgentKeys): void {
    this.spawn(async () => {
      let cursor = 0;
      while (!this.signal.aborted) {
        try {
          const res = await fetch(`${this.server.url}${agentPath(agent.address)}/intents/stream?since=${cursor}&wait_seconds=5`, {
            headers: { 'x-api-key': agent.key, accept: 'text/event-stream' }, signal: AbortSignal.any([this.signal, AbortSignal.timeout(15_000)]),
          });
          if (res.status !== 200 || !res.body) throw new Error(`stream ${res.status}`);
          const parser = createParser({
            onEvent: (e) => {
              if (e.event !== 'intent.delivered') return;
              cursor = Number(e.id);
              this.handleSoon(JSON.parse(e.data), agent);
            },
          });
          const decoder = new TextDecoder();
          for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
        } catch {
          if (this.signal.aborted) return;
          await this.server.up();
          await pause(50);
        }
      }
    });
  }

  startPoll(agent: AgentKeys): void {
    this.spawn(async () => {
      while (!this.signal.aborted) {
        try {
          const answer = await this.client.once('GET', `${agentPath(agent.address)}/intents?wait_seconds=2&limit=10`, { key: agent.key, signal: this.signal, timeoutMs: 10_000 });
          if (answer.status !== 200) throw new Error(`poll ${answer.status}`);
          for (const d of answer.body.deliveries) this.handleSoon(d, agent);
        } catch {
          if (this.signal.aborted) return;
          await this.server.up();
          await pause(50);
        }
      }
    });
  }

  startInbox(agent: AgentKeys): void {
    this.spawn(async () => {
      const seen = new Set<string>();
      while (!this.signal.aborted) {
        try {
          const answer = await this.client.once('GET', `/v1/inbox?owner_agent=${encodeURIComponent(agent.address)}&open=true`, { key: agent.key, signal: this.signal });
          if (answer.status !== 200) throw new Error(`inbox ${answer.status}`);
          for (const thread of answer.body.threads as { thread_id: string; kind: string }[]) {
            if (thread.kind !== 'task' || seen.has(thread.thread_id)) continue;
            seen.add(thread.thread_id);
            this.ledger.delivered(thread.thread_id, this.server.epoch);
            this.spawn(async () => {
              const id = thread.thread_id;
              const done = await this.client.call('POST', `/v1/inbox/${id}/approve?owner_agent=${encodeURIComponent(agent.address)}`, {
                key: agent.key, body: { comment: 'ok' }, headers: { 'idempotency-key': `approve-${id}` }, signal: this.signal,
              });
              if (done.status === 200) this.ledger.completed(id, done.body.event.seq);
              else if (!(done.status === 409 && ['thread_closed', 'intent_terminal'].includes(done.body?.code))) this.ledger.anomaly(`approve ${id}: ${done.status} ${done.body?.code}`);
            });
          }
          await pause(150);
        } catch {
          if (this.signal.aborted) return;
          await this.server.up();
          await pause(50);
        }
      }
    });
  }

  /** An http receiver that answers 200, completes first, fails with 500, or resets the connection. */
  async startHttpReceiver(keyOf: () => string): Promise<string> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let delivery: { intent_id: string };
        try { delivery = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { res.writeHead(400).end(); return; }
        this.ledger.delivered(delivery.intent_id, this.server.epoch);
        const roll = Math.random();
        if (roll < 0.1) { res.socket?.destroy(); return; }
        if (roll < 0.25) { res.writeHead(500).end(); return; }
        if (roll < 0.4) {
          this.spawn(async () => {
            await this.complete(delivery.intent_id, keyOf());
            if (!res.destroyed) res.writeHead(200).end();
          });
          return;
        }
        res.writeHead(200).end();
        this.spawn(() => this.complete(delivery.intent_id, keyOf()));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.receiver = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  }

  /** Ends every loop; waits for their in-flight work to settle. */
  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled(this.running);
    if (this.receiver) {
      this.receiver.closeAllConnections();
      await new Promise<void>((resolve) => this.receiver!.close(() => resolve()));
    }
  }
}

export interface SenderOptions { targets: { target: Target; to: string; extra?: Record<string, unknown> }[]; senders: number; intervalMs: number; runId: string }

/** Senders: each creates intents one after another with a fresh Idempotency-Key, retried until answered. */
export function startSenders(client: Client, ledger: Ledger, key: string, options: SenderOptions, signal: AbortSignal): Promise<void> {
  const one = async (sender: number): Promise<void> => {
    for (let n = 0; !signal.aborted; n++) {
      const { target, to, extra } = options.targets[Math.floor(Math.random() * options.targets.length)];
      const body = { intent_type: 'torture.work.v1', to_agent: to, payload: { sender, n }, max_delivery_attempts: 20, ...extra };
      ledger.createAttempts += 1;
      // Once sent, a create is retried to a definite answer even after the stop signal.
      const answer = await client.call('POST', '/v1/intents', { key, body, headers: { 'idempotency-key': `${options.runId}-${sender}-${n}` } });
      if (answer.status === 200) ledger.accepted.set(answer.body.intent_id, target);
      else ledger.anomaly(`create: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
      await pause(options.intervalMs * (0.5 + Math.random()));
    }
  };
  return Promise.all(Array.from({ length: options.senders }, (_, i) => one(i))).then(() => undefined);
}
