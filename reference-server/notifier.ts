// In-process wake-ups for SSE streams and long polls. Emitted only after a commit, so a woken
// reader always finds what it was woken for. Readers subscribe first, then read the backlog.
import { EventEmitter } from 'node:events';

export type Topic = `intent:${string}` | `agent:${string}`;

export class Notifier {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }
  emit(topic: Topic): void {
    this.emitter.emit(topic);
  }
  /** Returns the unsubscribe function. */
  subscribe(topic: Topic, fn: () => void): () => void {
    this.emitter.on(topic, fn);
    return () => this.emitter.off(topic, fn);
  }
}
