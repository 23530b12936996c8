// The demo's receiving agents, run in this process: one per binding. Each is started with the
// client of its own agent key and stops when the signal aborts.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AxpClient, Delivery } from '../client/index.js';

/** http: the payment service. Fails the first `failures` attempts of each payment with 503. */
export async function startPaymentService(failures: number, onAttempt: (attempt: number, answer: number) => void): Promise<{ url: string; attach(client: AxpClient): void; close(): Promise<void> }> {
  let client: AxpClient | undefined;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      const delivery = JSON.parse(body) as Delivery;
      const answer = (status: number) => {
        onAttempt(delivery.attempt, status);
        res.writeHead(status).end();
      };
      if (!client || delivery.attempt <= failures) return answer(503);
      client.resume(delivery.intent_id, { action: 'complete', result: { payment_id: `pay_${randomUUID().slice(0, 8)}` } })
        .then(() => answer(200), () => answer(503));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/payments`,
    attach: (c) => (client = c),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** stream or poll: a worker that completes whatever it receives. */
export async function runWorker(client: AxpClient, address: string, binding: 'stream' | 'poll', signal: AbortSignal): Promise<void> {
  for await (const delivery of client.listen(address, { binding, waitSeconds: 2, signal })) {
    await client.resume(delivery.intent_id, { action: 'complete', result: { handled_by: binding, attempt: delivery.attempt } });
  }
}

/** inbox: stands in for a person who approves each task once it is assigned. */
export async function runApprover(client: AxpClient, intentId: string, signal: AbortSignal): Promise<void> {
  for await (const event of client.observe(intentId, { waitSeconds: 2, signal })) {
    if (event.event_type === 'intent.human_task_assigned') {
      await client.inbox.approve(intentId, { comment: 'approved from the demo (the /inbox page does the same)' });
    }
  }
}
