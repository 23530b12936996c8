// The demo's story: the seeds' payment (an order service, a payment service behind http that fails
// twice) and one intent per binding, all at once, each event printed the moment it happens.
import { randomBytes } from 'node:crypto';
import pc from 'picocolors';
import type { AxpClient, Event, IntentCreateRequest } from '../client/index.js';
import { runApprover, runWorker, startPaymentService } from './agents.js';
import { eventLine, summaryTable, type Outcome } from './render.js';

interface Plan {
  label: string;
  binding: string;
  to: string;
  intent: Omit<IntentCreateRequest, 'to_agent'>;
}

export async function runStory(admin: AxpClient, log: (line: string) => void, timeoutMs = 25_000): Promise<boolean> {
  const ns = `agent://demo/run-${randomBytes(3).toString('hex')}`;
  const stop = new AbortController();
  const payments = await startPaymentService(2, (attempt, answer) => {
    const what = answer === 200 ? pc.green('charged the card, resumed with the result → 200') : pc.yellow('card processor busy → 503');
    log(`${pc.bold('payment'.padEnd(9))}    ${pc.dim(`↳ payment service got attempt ${attempt}:`)} ${what}`);
  });
  const register = async (name: string, delivery: Parameters<AxpClient['registerAgent']>[1]) => {
    const { api_key } = await admin.registerAgent(`${ns}/${name}`, delivery);
    return admin.withKey(api_key as string);
  };

  log(pc.dim(`registering agents under ${ns}/…`));
  const orders = await register('order-service', { binding: 'poll' });
  payments.attach(await register('payment-service', { binding: 'http', url: payments.url, max_delivery_attempts: 5, initial_delay_ms: 400, multiplier: 2 }));
  const streamWorker = await register('stream-worker', { binding: 'stream' });
  const pollWorker = await register('poll-worker', { binding: 'poll' });
  const approvals = await register('approvals', { binding: 'inbox' });
  await register('timer', { binding: 'internal' });
  const background = [
    runWorker(streamWorker, `${ns}/stream-worker`, 'stream', stop.signal),
    runWorker(pollWorker, `${ns}/poll-worker`, 'poll', stop.signal),
  ];

  const plans: Plan[] = [
    { label: 'payment', binding: 'http', to: 'payment-service', intent: { intent_type: 'payment.process.v1', payload: { order_id: 'ord_12345', amount_cents: 9999, currency: 'usd' } } },
    { label: 'stream', binding: 'stream', to: 'stream-worker', intent: { intent_type: 'greeting.say_hello.v1', payload: { name: 'Ada' } } },
    { label: 'poll', binding: 'poll', to: 'poll-worker', intent: { intent_type: 'invoice.total.v1', payload: { lines: [1200, 350] } } },
    { label: 'inbox', binding: 'inbox', to: 'approvals', intent: { intent_type: 'expense.approve.v1', payload: { amount_cents: 12900 }, human_task: { title: 'Approve a $129 expense', task_type: 'approval' } } },
    { label: 'internal', binding: 'internal', to: 'timer', intent: { intent_type: 'intent.internal.delay.v1', payload: { seconds: 1 } } },
  ];
  log(pc.dim('sending one intent per binding; the payment service fails its first two attempts'));

  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    const outcomes = await Promise.all(plans.map(async (plan): Promise<Outcome> => {
      const sent = await orders.sendIntent({ ...plan.intent, to_agent: `${ns}/${plan.to}` });
      if (plan.binding === 'inbox') background.push(runApprover(approvals, sent.intent_id, stop.signal));
      const events: Event[] = [];
      const intent = await orders.waitFor(sent.intent_id, { signal: deadline, onEvent: (event) => {
        events.push(event);
        log(eventLine(plan.label, event));
      } });
      return { label: plan.label, binding: plan.binding, intent, events, expected: 'COMPLETED' };
    }));
    log('');
    log(summaryTable(outcomes));
    return outcomes.every((o) => o.intent.status === o.expected);
  } finally {
    stop.abort();
    await Promise.allSettled(background);
    await payments.close();
  }
}
