// stream binding: the agent keeps an SSE connection open; deliveries arrive the moment they exist.
//   npx tsx examples/stream/receiver.ts
import { connectAgent, untilStopped } from '../setup.js';

const address = 'agent://examples/stream/worker';
const { client } = await connectAgent(address, { binding: 'stream' });
console.log(`listening as ${address}`);

for await (const delivery of client.listen(address, { signal: untilStopped() })) {
  console.log(`delivery ${delivery.intent_id} attempt ${delivery.attempt}: ${JSON.stringify(delivery.payload)}`);
  // Completing also acknowledges the delivery (RES-001); nothing else to do.
  await client.resume(delivery.intent_id, { action: 'complete', result: { greeting: `hello, ${String(delivery.payload.name)}` } });
  console.log(`completed ${delivery.intent_id}`);
}
