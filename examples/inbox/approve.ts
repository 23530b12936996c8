// The human side of the inbox, from the command line:
//   npx tsx examples/inbox/approve.ts                         list the open tasks
//   npx tsx examples/inbox/approve.ts <id> [--reject] [--comment "text"]
// (The web page at /inbox on the reference server does the same with buttons.)
import { parseArgs } from 'node:util';
import { connectAgent } from '../setup.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { reject: { type: 'boolean' }, comment: { type: 'string' } } });
const { client } = await connectAgent('agent://examples/inbox/approvals', { binding: 'inbox' });

const [threadId] = positionals;
if (!threadId) {
  const threads = await client.inbox.list({ open: true });
  for (const t of threads) console.log(`${t.thread_id}  ${t.human_task?.title ?? t.intent_type}  from ${t.from_agent ?? '?'}`);
  console.log(`${threads.length} open task(s)`);
} else {
  const decision = { comment: values.comment };
  const answer = values.reject ? await client.inbox.reject(threadId, decision) : await client.inbox.approve(threadId, decision);
  console.log(`${answer.intent.status} ${JSON.stringify(answer.intent.result)}`);
}
