// Cases the fault modes showed missing (issue 7): each one is the only case that catches a
// realistic bug the rest of the kit let through. IDs 2NN in the group that fits.
import { needs, agent, check, eventuallyEvent, gapMs, group, httpReceiver, ok, passTime, problem, send, type Wire } from './support.js';
import { verifyStandardWebhook } from '../wire/signature.js';
import type { CaseContext, ConformanceCase, RegisteredAgent } from '../case.js';

const getAgent = (ctx: CaseContext, who: RegisteredAgent, key: string) => ctx.request({ method: 'GET', path: `/v1/agents/${who.path}`, key });

const securityGaps = group('SEC', [
  {
    id: 'SEC-201',
    title: 'a key that was in use is refused right after rotate_key (no cached old key)',
    level: 'MUST',
    requirements: ['SEC-006', 'AGT-002'],
    ...needs('binding.poll'),
    async run(ctx) {
      const worker = await agent(ctx, 'worker', 'poll');
      // Use the key first, so a server that caches keys has this one cached.
      for (let n = 1; n <= 2; n++) ok(await getAgent(ctx, worker, worker.key), `GET the agent with its key (use ${n})`);
      const rotated = ok(await ctx.request({ method: 'PUT', path: `/v1/agents/${worker.path}`, key: ctx.adminKey, json: { delivery: worker.delivery, rotate_key: true } }), 'rotate_key');
      check(typeof rotated.api_key === 'string' && rotated.api_key !== worker.key, 'rotate_key must return a new api_key', 'a new key', rotated.api_key);
      problem(await getAgent(ctx, worker, worker.key), 401, 'unauthorized', 'the previous key, used before the rotation, right after it');
      problem(await ctx.request({ method: 'GET', path: `/v1/agents/${worker.path}/intents`, key: worker.key }), 401, 'unauthorized', 'a poll with the previous key');
      ok(await getAgent(ctx, worker, rotated.api_key), 'the new key');
    },
  },
]);

const TEN_MINUTES_MS = 600_000;
const RETRY_DELAY_MS = 60_000;

const httpGaps = group('HTTP', [
  {
    id: 'HTTP-201',
    title: 'a retry sent after protocol time moved on carries its own send time in webhook-timestamp',
    level: 'MUST',
    requirements: ['HTTP-003'],
    ...needs('binding.http', 'binding.poll', 'ext.test-clock'),
    async run(ctx) {
      // Ten minutes on the test clock first: from here on the server's clock and the wall clock
      // differ by at least that, so a timestamp taken at any earlier moment (the intent's creation,
      // the first attempt) matches neither clock at the retry.
      await passTime(ctx, TEN_MINUTES_MS);
      const receiver = await httpReceiver(ctx, [{ status: 500 }, { status: 200 }]);
      const worker = await agent(ctx, 'worker', 'http', { initial_delay_ms: RETRY_DELAY_MS, max_delay_ms: RETRY_DELAY_MS, max_delivery_attempts: 3 }, receiver);
      const sender = await agent(ctx, 'sender', 'poll');
      const i = await send(ctx, sender, worker.address);
      await receiver.waitForHits(1, 5000);
      const failure: Wire = await eventuallyEvent(ctx, i.intent_id, ctx.adminKey, 'intent.delivery_attempt for attempt 1', (e) => e.event_type === 'intent.delivery_attempt' && e.details?.attempt === 1, 4000);
      check(failure.details?.next_attempt_at, 'the failed attempt must announce next_attempt_at', 'a timestamp', failure.details?.next_attempt_at);
      await passTime(ctx, gapMs(failure.at, failure.details.next_attempt_at) + 1);
      const retry = (await receiver.waitForHits(2, 4000))[1];
      const delivered: Wire = await eventuallyEvent(ctx, i.intent_id, ctx.adminKey, 'intent.delivered', (e) => e.event_type === 'intent.delivered');
      const ts = Number(retry.headers['webhook-timestamp']);
      check(/^\d+$/.test(retry.headers['webhook-timestamp'] ?? ''), 'the retry\'s webhook-timestamp must be unix seconds', 'digits', retry.headers['webhook-timestamp']);
      const serverSec = Date.parse(delivered.at) / 1000;
      const wallSec = Date.now() / 1000;
      check(Math.abs(ts - serverSec) <= 5 || Math.abs(ts - wallSec) <= 5, 'webhook-timestamp of the retry must be its own send time (HTTP-003), on the server\'s clock or the wall clock', { server: Math.round(serverSec), wall: Math.round(wallSec) }, ts);
      const verified = verifyStandardWebhook(worker.secret as string, retry.headers, retry.body, { now: ts * 1000 });
      check(verified.ok, 'the retry\'s webhook-signature must verify with its own timestamp', 'verified', verified);
    },
  },
]);

export const faultGapCases: ConformanceCase[] = [...securityGaps, ...httpGaps];
