// Sends an invoice to the poll worker; the answer comes back on the worker's next tick.
//   npx tsx examples/poll/sender.ts
import { connectAgent } from '../setup.js';

const { client } = await connectAgent('agent://examples/poll/sender', { binding: 'poll' });

const sent = await client.sendIntent({ intent_type: 'invoice.total.v1', to_agent: 'agent://examples/poll/worker', payload: { lines: [1200, 350, 99] } });
console.log(`sent ${sent.intent_id}`);

const intent = await client.waitFor(sent.intent_id, { onEvent: (e) => console.log(`  ${e.seq} ${e.event_type} → ${e.status}`) });
console.log(`${intent.status} ${JSON.stringify(intent.result ?? intent.error)}`);
process.exitCode = intent.status === 'COMPLETED' ? 0 : 1;
