// poll binding: no open connection, no public endpoint. A cron-like loop asks "anything for me?"
// every few seconds, handles what it got, and sleeps again: fits serverless functions and cron jobs.
//   npx tsx examples/poll/receiver.ts        (AXP_POLL_EVERY_MS sets the period, default 2000)
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAgent, untilStopped } from '../setup.js';

const address = 'agent://examples/poll/worker';
const { client } = await connectAgent(address, { binding: 'poll', lease_seconds: 30 });
const everyMs = Number(process.env.AXP_POLL_EVERY_MS ?? 2000);
console.log(`polling as ${address} every ${everyMs} ms`);

async function tick(): Promise<void> {
  const deliveries = await client.poll(address, { waitSeconds: 0, limit: 10 });
  for (const delivery of deliveries) {
    console.log(`delivery ${delivery.intent_id} attempt ${delivery.attempt}`);
    const total = (delivery.payload.lines as number[]).reduce((sum, n) => sum + n, 0);
    await client.resume(delivery.intent_id, { action: 'complete', result: { total } });
    console.log(`completed ${delivery.intent_id}`);
  }
}

const stopped = untilStopped();
while (!stopped.aborted) {
  await tick().catch((error: unknown) => console.error(`tick failed: ${String(error)}`));
  await sleep(everyMs, undefined, { signal: stopped }).catch(() => undefined);
}
