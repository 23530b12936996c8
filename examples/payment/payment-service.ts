// The payment service, as an http agent. To show what the platform does for you, it fails the
// first two attempts at every payment (503): the platform retries with backoff, same webhook-id,
// a new delivery_id per attempt, and the third attempt goes through.
//   npx tsx examples/payment/payment-service.ts
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Delivery } from '../../client/index.js';
import { verifySignature } from '../http/verify.js';
import { connectAgent, untilStopped, type Agent } from '../setup.js';

const address = 'agent://myorg/production/payment-service';
let agent: Agent | undefined;

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', async () => {
    if (!agent || !verifySignature(agent.secret ?? '', req.headers, body)) return res.writeHead(agent ? 401 : 503).end();
    const delivery = JSON.parse(body) as Delivery;
    if (delivery.attempt <= 2) {
      console.log(`attempt ${delivery.attempt} for ${delivery.intent_id}: card processor busy → 503`);
      return res.writeHead(503).end();
    }
    const { amount_cents, currency } = delivery.payload as { amount_cents: number; currency: string };
    await agent.client.resume(delivery.intent_id, { action: 'complete', result: { payment_id: `pay_${randomUUID().slice(0, 8)}`, amount_cents, currency } });
    console.log(`attempt ${delivery.attempt} for ${delivery.intent_id}: charged ${amount_cents} ${currency}`);
    res.writeHead(200).end();
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/payments`;

// Short backoff so the retries show within seconds: ~0.5 s, then ~1 s.
agent = await connectAgent(address, { binding: 'http', url, max_delivery_attempts: 5, initial_delay_ms: 500, multiplier: 2 });
console.log(`payment service ready at ${url}`);
untilStopped().addEventListener('abort', () => server.close());
