// http binding: the platform POSTs each delivery to our URL, signed, and retries until we answer 2xx.
// We verify the signature, do the work, report the result, then answer 200.
//   npx tsx examples/http/receiver.ts      (PORT sets the port; the server needs --allow-private-callbacks for localhost)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Delivery } from '../../client/index.js';
import { connectAgent, untilStopped, type Agent } from '../setup.js';
import { verifySignature } from './verify.js';

const address = 'agent://examples/http/worker';
let agent: Agent | undefined; // set once registered; a push before that gets 503 and comes again

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', async () => {
    if (!agent) return res.writeHead(503).end();
    if (!verifySignature(agent.secret ?? '', req.headers, body)) return res.writeHead(401).end();
    const delivery = JSON.parse(body) as Delivery;
    console.log(`delivery ${delivery.intent_id} attempt ${delivery.attempt} (webhook-id ${String(req.headers['webhook-id'])})`);
    try {
      await agent.client.resume(delivery.intent_id, { action: 'complete', result: { shipped: true, sku: delivery.payload.sku } });
      console.log(`completed ${delivery.intent_id}`);
      res.writeHead(200).end();
    } catch (error) {
      console.error(`could not complete: ${String(error)}`);
      res.writeHead(503).end(); // the platform will try again
    }
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/axp`;

agent = await connectAgent(address, { binding: 'http', url, initial_delay_ms: 500 });
console.log(`receiving ${address} at ${url}`);
untilStopped().addEventListener('abort', () => server.close());
