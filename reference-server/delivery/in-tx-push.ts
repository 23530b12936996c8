// The push bindings whose whole hand-over runs in the claiming unit, with no lease (inbox opens a
// task thread, internal handles the intent): claim in batches until nothing is left, one drain
// per address at a time. A ready signal during a drain makes that drain go round once more, so a
// delivery committed while a batch was being handled is not left pending.
import type { BindingAdapter } from './engine.js';
import type { AgentRecord, DeliveryRecord, Intent } from '../model.js';
import type { StoreTx } from '../store/store.js';
import type { ServerContext } from '../context.js';

const CLAIM_BATCH = 64;

export type AdapterLog = (message: string, error?: unknown) => void;

export abstract class InTxPushAdapter implements BindingAdapter {
  abstract readonly binding: 'inbox' | 'internal';
  readonly mode = 'push' as const;
  private readonly draining = new Map<string, { again: boolean }>();
  private stopped = false;

  /** `what` names the work in the log line of a failed drain, e.g. `inbox: opening tasks`. */
  protected constructor(protected readonly ctx: ServerContext, private readonly what: string, private readonly log: AdapterLog) {}

  start(): void {
    this.stopped = false;
  }

  stop(): void {
    this.stopped = true;
  }

  onReady(agent: AgentRecord): void {
    void this.drain(agent.address);
  }

  /** Runs in the claiming unit for each delivery, right after intent.delivered. */
  protected abstract handOver(tx: StoreTx, intent: Intent, row: DeliveryRecord): Promise<void>;

  private async drain(address: string): Promise<void> {
    const running = this.draining.get(address);
    if (running) { running.again = true; return; }
    const state = { again: true };
    this.draining.set(address, state);
    try {
      while (state.again && !this.stopped) {
        state.again = false;
        const claimed = await this.ctx.engine.claim(address, { limit: CLAIM_BATCH, leaseMs: null, inTx: (tx, intent, row) => this.handOver(tx, intent, row) });
        if (claimed.length === CLAIM_BATCH) state.again = true;
      }
    } catch (error) {
      if (!this.stopped) this.log(`${this.what} for ${address} failed`, error);
    } finally {
      this.draining.delete(address);
    }
  }
}
