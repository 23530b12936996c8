// Sends a delay to the internal timer agent: delivered at once, WAITING_FOR_TIME, then COMPLETED.
//   npx tsx examples/internal/sender.ts
import { connectAgent } from '../setup.js';

const { client } = await connectAgent('agent://examples/internal/sender', { binding: 'poll' });

const sent = await client.sendIntent({ intent_type: 'intent.internal.delay.v1', to_agent: 'agent://examples/internal/timer', payload: { seconds: 1 } });
console.log(`sent ${sent.intent_id}`);

const intent = await client.waitFor(sent.intent_id, { onEvent: (e) => console.log(`  ${e.seq} ${e.event_type} → ${e.status}${e.waiting_reason ? ` (${e.waiting_reason})` : ''}`) });
console.log(`${intent.status} ${JSON.stringify(intent.result ?? intent.error)}`);
process.exitCode = intent.status === 'COMPLETED' ? 0 : 1;
