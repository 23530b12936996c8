// In-process wake-ups for SSE streams and long polls. Emitted after a commit, or (a new delivery
// on a group-commit store, StoreTx.beforeCommit) just before one the woken reader's unit joins:
// either way a woken reader finds what it was woken for. Readers subscribe first, then read the backlog.
import { EventEmitter } from 'node:events';

export type Topic = `intent:${string}` | `agent:${string}`;

export class Notifier {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }
  private relay: ((topic: Topic) => void) | undefined;

  emit(topic: Topic): void {
    this.emitter.emit(topic);
    this.relay?.(topic);
  }
  /** A store shared by several processes forwards every local emit to the other processes… */
  relayTo(fn: (topic: Topic) => void): void {
    this.relay = fn;
  }
  /** …and hands theirs in here (no relay back). */
  emitLocal(topic: Topic): void {
    this.emitter.emit(topic);
  }
  /** Topics someone in this process waits on (the polling backstop wakes them). */
  topics(): Topic[] {
    return this.emitter.eventNames().filter((n): n is Topic => typeof n === 'string');
  }
  /** Returns the unsubscribe function. */
  subscribe(topic: Topic, fn: () => void): () => void {
    this.emitter.on(topic, fn);
    return () => this.emitter.off(topic, fn);
  }
}
