// Sends a shipping order to the http worker and waits for the result.
//   npx tsx examples/http/sender.ts
import { connectAgent } from '../setup.js';

const { client } = await connectAgent('agent://examples/http/sender', { binding: 'poll' });

const sent = await client.sendIntent({ intent_type: 'shipping.ship_order.v1', to_agent: 'agent://examples/http/worker', payload: { sku: 'SKU-42', quantity: 1 } });
console.log(`sent ${sent.intent_id}`);

const intent = await client.waitFor(sent.intent_id, { onEvent: (e) => console.log(`  ${e.seq} ${e.event_type} → ${e.status}`) });
console.log(`${intent.status} ${JSON.stringify(intent.result ?? intent.error)}`);
process.exitCode = intent.status === 'COMPLETED' ? 0 : 1;
