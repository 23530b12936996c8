// inbox binding: the receiver is a person. The intent becomes a task in the approvals inbox and
// waits (WAITING_FOR_HUMAN) until someone approves, rejects or replies.
//   npx tsx examples/inbox/sender.ts
import { connectAgent } from '../setup.js';

const { client } = await connectAgent('agent://examples/inbox/requester', { binding: 'poll' });

const sent = await client.sendIntent({
  intent_type: 'expense.approve.v1',
  to_agent: 'agent://examples/inbox/approvals',
  payload: { employee: 'ada@example.com', amount_cents: 12_900, item: 'conference ticket' },
  human_task: { title: 'Approve a $129 expense', description: 'Conference ticket for Ada', task_type: 'approval', allowed_outcomes: ['approved', 'rejected'] },
});
console.log(`sent ${sent.intent_id}; approve it with:  npx tsx examples/inbox/approve.ts ${sent.intent_id}`);

const intent = await client.waitFor(sent.intent_id, { onEvent: (e) => console.log(`  ${e.seq} ${e.event_type} → ${e.status}`) });
console.log(`${intent.status} ${JSON.stringify(intent.result ?? intent.error)}`);
process.exitCode = intent.status === 'COMPLETED' ? 0 : 1;
