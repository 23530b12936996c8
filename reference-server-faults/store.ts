// Faults that live in a store wrapper: what a buggy storage layer (a lagging replica, a column
// that is not mapped, a write that is lost, a database that stamps rows itself) does to a correct
// server above it. Every other call goes to the real store unchanged.
import type { Store, StoreTx } from '../reference-server/store/store.js';
import type { Intent } from '../reference-server/model.js';
import type { FaultSet } from './catalogue.js';

/** How far the replica the idempotency look-up reads lags the writes. */
const REPLICA_LAG_MS = 250;

type TxOverrides = Partial<StoreTx>;

/** outcome-not-checked: the column allowed_outcomes would live in is not mapped. */
function withoutAllowedOutcomes(intent: Intent): Intent {
  if (!intent.human_task?.allowed_outcomes) return intent;
  const { allowed_outcomes: _dropped, ...task } = intent.human_task;
  return { ...intent, human_task: task };
}

/** A StoreTx whose listed methods are replaced; the rest are the real ones. */
function overrideTx(tx: StoreTx, overrides: TxOverrides): StoreTx {
  return new Proxy(tx, {
    get(target, key, receiver) {
      if (Object.prototype.hasOwnProperty.call(overrides, key)) return overrides[key as keyof StoreTx];
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export const STORE_FAULTS = [
  'seq-gap-after-retry', 'idem-concurrent-race', 'exhaustion-stays-delivered', 'no-dead-letter',
  'stream-no-resend', 'events-use-wall-clock', 'outcome-not-checked', 'deadline-keeps-delivering',
] as const;

export function faultyStore(store: Store, faults: FaultSet): Store {
  if (!STORE_FAULTS.some((f) => faults.has(f))) return store;
  /** intent id → seq of its last event when that event was intent.delivery_attempt. */
  const attemptFailedAt = new Map<string, number>();
  /** scope + key → wall time the key was written (the replica sees it REPLICA_LAG_MS later). */
  const writtenAt = new Map<string, number>();

  const wrap = (tx: StoreTx): StoreTx => {
    const o: TxOverrides = {};
    if (faults.has('seq-gap-after-retry')) {
      o.getIntent = async (id) => {
        const intent = await tx.getIntent(id);
        return intent && attemptFailedAt.get(id) === intent.last_seq ? { ...intent, last_seq: intent.last_seq + 1 } : intent;
      };
    }
    if (faults.has('idem-concurrent-race')) {
      o.getIdempotency = async (scope, key) => {
        const at = writtenAt.get(`${scope}\n${key}`);
        return at !== undefined && Date.now() - at < REPLICA_LAG_MS ? undefined : tx.getIdempotency(scope, key);
      };
      o.putIdempotency = async (record) => {
        writtenAt.set(`${record.scope}\n${record.key}`, Date.now());
        await tx.putIdempotency(record);
      };
    }
    o.appendEvent = async (event) => {
      if (faults.has('seq-gap-after-retry')) {
        if (event.event_type === 'intent.delivery_attempt') attemptFailedAt.set(event.intent_id, event.seq);
        else attemptFailedAt.delete(event.intent_id);
      }
      if (faults.has('exhaustion-stays-delivered') && event.event_type === 'intent.delivery_failed') return;
      const stamped = faults.has('events-use-wall-clock') && event.event_type !== 'intent.created' ? { ...event, at: new Date().toISOString() } : event;
      await tx.appendEvent(stamped);
    };
    o.updateIntent = async (intent) => {
      if (faults.has('exhaustion-stays-delivered') && intent.status === 'FAILED' && intent.error?.code === 'delivery_failed') return;
      let next = faults.has('outcome-not-checked') ? withoutAllowedOutcomes(intent) : intent;
      if (faults.has('deadline-keeps-delivering') && next.status === 'TIMED_OUT') next = { ...next, pending_with: next.to_agent };
      if (faults.has('events-use-wall-clock')) next = { ...next, updated_at: new Date().toISOString() };
      await tx.updateIntent(next);
    };
    if (faults.has('outcome-not-checked')) o.insertIntent = (intent) => tx.insertIntent(withoutAllowedOutcomes(intent));
    if (faults.has('no-dead-letter')) {
      o.putDeadLetter = async (letter) => {
        if (letter.redelivered_at !== null) await tx.putDeadLetter(letter);
      };
    }
    if (faults.has('stream-no-resend')) o.leasedDeliveries = async () => [];
    return overrideTx(tx, o);
  };

  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'write') return <T>(fn: (tx: StoreTx) => Promise<T>) => target.write((tx) => fn(wrap(tx)));
      if (key === 'read') return <T>(fn: (tx: StoreTx) => Promise<T>) => target.read((tx) => fn(wrap(tx)));
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
