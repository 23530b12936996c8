// Sends one intent to the stream worker and waits for its result. The sender never knows which
// binding the receiver uses.
//   npx tsx examples/stream/sender.ts
import { connectAgent } from '../setup.js';

const { client } = await connectAgent('agent://examples/stream/sender', { binding: 'poll' });

const sent = await client.sendIntent({ intent_type: 'greeting.say_hello.v1', to_agent: 'agent://examples/stream/worker', payload: { name: 'Ada' } });
console.log(`sent ${sent.intent_id}`);

const intent = await client.waitFor(sent.intent_id, { onEvent: (e) => console.log(`  ${e.seq} ${e.event_type} → ${e.status}`) });
console.log(`${intent.status} ${JSON.stringify(intent.result ?? intent.error)}`);
process.exitCode = intent.status === 'COMPLETED' ? 0 : 1;
