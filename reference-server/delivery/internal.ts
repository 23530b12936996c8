// INTL-001..INTL-005: the internal binding, where the server itself is the handler.
//
// Decision (the internal agent address): an intent whose intent_type is one the platform handles
// (supported_intent_types, e.g. intent.internal.delay.v1) is issued to the platform's own agent,
// agent://system/internal, whatever its to_agent says, registered or not; to_agent keeps the
// receiver's rights (read, resume, resolve). An agent registered with the internal binding gets
// its intents handled here too, and a type the platform does not know fails there (INTL-005).
// Public clients send the delay type to arbitrary addresses and expect it to complete, which is
// why the type, not the address, decides.
import { randomBytes } from 'node:crypto';
import { isoAt } from '../clock.js';
import { isTerminal } from '../lifecycle.js';
import { Problem } from '../errors.js';
import { hashKey } from '../auth.js';
import { effectivePolicy } from './engine.js';
import { InTxPushAdapter, type AdapterLog } from './in-tx-push.js';
import type { AgentRecord, DeliveryRecord, Intent } from '../model.js';
import type { StoreTx } from '../store/store.js';
import type { ServerContext } from '../context.js';

export const INTERNAL_AGENT = 'agent://system/internal';
export const DELAY_INTENT_TYPE = 'intent.internal.delay.v1';
export const DELAY_TIMER = 'delay';
/** INTL-003: at most one year. */
export const MAX_DELAY_SECONDS = 31_536_000;

const HANDLED_TYPES = [DELAY_INTENT_TYPE];

function delaySeconds(intent: Pick<Intent, 'payload'>): number | undefined {
  const seconds = intent.payload.seconds;
  return typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 0 && seconds <= MAX_DELAY_SECONDS ? seconds : undefined;
}

export class InternalAdapter extends InTxPushAdapter {
  readonly binding = 'internal' as const;
  readonly handledIntentTypes = HANDLED_TYPES;

  constructor(ctx: ServerContext, log: AdapterLog = () => {}) {
    super(ctx, 'internal: handling intents', log);
    ctx.engine.routeIntents((intent) => (HANDLED_TYPES.includes(intent.intent_type) ? INTERNAL_AGENT : undefined));
    // INTL-004: a bad payload to an agent registered as internal is refused at create (the throw
    // rolls the create back); to any other address it is accepted and fails on delivery.
    ctx.intents.onCreated(async (tx, intent) => {
      if (intent.intent_type !== DELAY_INTENT_TYPE || delaySeconds(intent) !== undefined) return;
      if ((await tx.getAgent(intent.to_agent))?.delivery.binding === 'internal') {
        throw new Problem('validation_failed', `payload.seconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`, [
          { pointer: '/payload/seconds', message: `must be an integer from 0 to ${MAX_DELAY_SECONDS}`, keyword: 'type', location: 'body' },
        ]);
      }
    });
    ctx.scheduler.register(DELAY_TIMER, async (tx, timer) => {
      const intent = timer.intent_id ? await tx.getIntent(timer.intent_id) : undefined;
      if (!intent || isTerminal(intent.status)) return;
      const seconds = Number(timer.data.seconds);
      await ctx.transitions.apply(tx, intent, 'complete', { actor: 'system', patch: { result: { delayed_seconds: seconds } } });
    });
  }

  /** The platform's own agent exists from the first start on; it has no key anyone could use. */
  override async start(): Promise<void> {
    super.start();
    await this.ctx.store.write(async (tx) => {
      if (await tx.getAgent(INTERNAL_AGENT)) return;
      const at = isoAt(this.ctx.clock.now());
      const agent: AgentRecord = {
        address: INTERNAL_AGENT, delivery: effectivePolicy({ binding: 'internal' }), display_name: 'AXP platform (internal handlers)',
        created_at: at, updated_at: at, key_hash: hashKey(randomBytes(32).toString('base64')), secrets: [], last_delivery_seq: 0,
      };
      await tx.putAgent(agent);
    });
  }

  /** Handles the intent in the claiming unit, right after intent.delivered. */
  protected async handOver(tx: StoreTx, intent: Intent, row: DeliveryRecord): Promise<void> {
    if (intent.intent_type !== DELAY_INTENT_TYPE) {
      await this.ctx.transitions.apply(tx, intent, 'fail', {
        actor: 'system', patch: { error: { code: 'unsupported_intent_type', message: `the internal handler does not support ${intent.intent_type}` } },
      });
      return;
    }
    const seconds = delaySeconds(intent);
    if (seconds === undefined) {
      await this.ctx.transitions.apply(tx, intent, 'fail', { actor: 'system', patch: { error: { code: 'invalid_payload', message: 'payload.seconds must be a non-negative integer' } } });
      return;
    }
    // INTL-003: waiting for time, then completed `seconds` after delivery (a durable timer).
    await this.ctx.transitions.apply(tx, intent, 'wait', { actor: 'system', waitingReason: 'WAITING_FOR_TIME', details: { seconds, delivery_id: row.delivery_id } });
    await this.ctx.scheduler.schedule(tx, { due_at: this.ctx.clock.now() + seconds * 1000, kind: DELAY_TIMER, intent_id: intent.intent_id, data: { seconds } });
  }
}
