// SSE-001..SSE-010: live observe, shared per intent. Every observer of one intent is served by one
// feed: one notifier subscription, one store read per wake-up (from the lowest cursor), each
// frame serialized once, and one socket write per observer per pass (all its new frames at once).
// Observers of a busy intent therefore cost a write each, not a query and a JSON.stringify each.
import { isTerminal } from './lifecycle.js';
import { formatFrame } from './wire/sse-format.js';
import type { SseSession } from './sse.js';
import type { ServerContext } from './context.js';
import type { IntentEvent } from './model.js';

interface Member { session: SseSession }

class Feed {
  readonly members = new Set<Member>();
  private pass: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly ctx: ServerContext, private readonly intentId: string, private readonly onEmpty: () => void) {}

  /** Serves the member its backlog (awaited), then every new event while it is live. */
  join(member: Member): Promise<void> {
    this.members.add(member);
    this.unsubscribe ??= this.ctx.notifier.subscribe(`intent:${this.intentId}`, () => void this.kick());
    member.session.onEnd(() => this.leave(member));
    return this.kick();
  }

  private leave(member: Member): void {
    this.members.delete(member);
    if (this.members.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.onEmpty();
  }

  /** Resolves once a pass that started after this call has finished. */
  private kick(): Promise<void> {
    if (!this.pass) {
      this.pass = this.runPass().finally(() => { this.pass = undefined; });
      return this.pass;
    }
    this.next ??= this.pass.then(() => { this.next = undefined; return this.kick(); });
    return this.next;
  }

  private async runPass(): Promise<void> {
    const members = [...this.members].filter((m) => !m.session.closed);
    if (members.length === 0) return;
    let events: IntentEvent[];
    try {
      let since = Infinity;
      for (const m of members) since = Math.min(since, m.session.nextSeq);
      events = await this.ctx.store.read((tx) => tx.listEvents(this.intentId, since));
    } catch {
      for (const m of members) m.session.end('shutdown');
      return;
    }
    const frames = events.map((event) => ({ event, text: formatFrame({ id: event.seq, event: event.event_type, data: event }) }));
    for (const m of members) {
      let text = '';
      let last = 0;
      let terminal = false;
      for (const { event, text: frame } of frames) {
        if (event.seq <= m.session.nextSeq) continue;
        text += frame;
        last = event.seq;
        // SSE-009: the stream ends after the terminal event.
        if (isTerminal(event.status)) { terminal = true; break; }
      }
      if (text && m.session.writeText(last, text) && terminal) m.session.end('terminal');
    }
  }
}

/** One feed per observed intent, dropped when its last observer leaves. */
export class EventFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly ctx: ServerContext) {}

  /** Writes the backlog after the session's cursor (awaited), then live events. */
  observe(intentId: string, session: SseSession): Promise<void> {
    let feed = this.feeds.get(intentId);
    if (!feed) {
      const created = new Feed(this.ctx, intentId, () => { if (this.feeds.get(intentId) === created) this.feeds.delete(intentId); });
      this.feeds.set(intentId, created);
      feed = created;
    }
    return feed.join({ session });
  }
}
