// The order service: sends payment.process.v1 and watches it happen. No webhook endpoint, no
// signature check, no retry code, no dead-letter queue on this side.
//   npx tsx examples/payment/order-service.ts
import { connectAgent } from '../setup.js';

const { client } = await connectAgent('agent://myorg/production/order-service', { binding: 'poll' });

const sent = await client.sendIntent({
  intent_type: 'payment.process.v1',
  to_agent: 'agent://myorg/production/payment-service',
  payload: { order_id: 'ord_12345', amount_cents: 9999, currency: 'usd', customer_email: 'alice@example.com' },
});
console.log(`payment submitted: ${sent.intent_id}`);

for await (const event of client.observe(sent.intent_id)) {
  const retry = event.event_type === 'intent.delivery_attempt' ? ` (attempt ${String(event.details?.attempt)} failed: ${String(event.details?.error)}, next at ${String(event.details?.next_attempt_at)})` : '';
  console.log(`  [${event.status}] ${event.event_type}${retry}`);
}

const { intent } = await client.getIntent(sent.intent_id);
console.log(`done: ${intent.status} ${JSON.stringify(intent.result ?? intent.error)}`);
process.exitCode = intent.status === 'COMPLETED' ? 0 : 1;
