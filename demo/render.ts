// What the demo prints: one line per event as it arrives, and a summary table at the end.
import pc from 'picocolors';
import type { Event, Intent } from '../client/index.js';

const STATUS_COLOR: Record<string, (s: string) => string> = {
  COMPLETED: pc.green, FAILED: pc.red, CANCELED: pc.yellow, TIMED_OUT: pc.red, WAITING: pc.magenta,
};

export function status(value: string): string {
  return (STATUS_COLOR[value] ?? pc.cyan)(value);
}

function seconds(fromIso: string, toIso: string): string {
  return `${((Date.parse(toIso) - Date.parse(fromIso)) / 1000).toFixed(1)} s`;
}

export function eventLine(label: string, event: Event): string {
  let extra = '';
  const details = event.details ?? {};
  if (event.event_type === 'intent.delivery_attempt') {
    const next = typeof details.next_attempt_at === 'string' ? `, retry in ${seconds(event.at, details.next_attempt_at)}` : '';
    extra = pc.yellow(` attempt ${String(details.attempt)} failed: ${String(details.error)}${details.status_code ? ` (${String(details.status_code)})` : ''}${next}`);
  } else if (event.waiting_reason) {
    extra = pc.dim(` ${event.waiting_reason}`);
  }
  return `${pc.bold(label.padEnd(9))} ${pc.dim(String(event.seq).padStart(2))} ${event.event_type.padEnd(28)} ${status(event.status)}${extra}`;
}

export interface Outcome {
  label: string;
  binding: string;
  intent: Intent;
  events: Event[];
  expected: string;
}

/**
 * The shortest tails (at least `min` characters) that tell the ids apart. Ids are time-ordered
 * UUIDv7s: intents created together share their leading characters, so the head would show the
 * same text on every row; the tail is the random part.
 */
export function distinctTails(ids: string[], min = 8): string[] {
  const longest = Math.max(0, ...ids.map((id) => id.length));
  for (let n = min; n < longest; n++) {
    const tails = ids.map((id) => id.slice(-n));
    if (new Set(tails).size === new Set(ids).size) return tails.map((t, i) => (t === ids[i] ? t : `…${t}`));
  }
  return [...ids];
}

export function summaryTable(outcomes: Outcome[]): string {
  const header = ['story', 'binding', 'intent', 'status', 'attempts', 'events', 'took'];
  const ids = distinctTails(outcomes.map((o) => o.intent.intent_id));
  const rows = outcomes.map((o, n) => [
    o.label, o.binding, ids[n], o.intent.status, String(o.intent.delivery_attempt),
    String(o.events.length), seconds(o.intent.created_at, o.intent.updated_at),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], paint: (s: string, i: number) => string = (s) => s) => cells.map((c, i) => paint(c.padEnd(widths[i]), i)).join('  ').trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [
    pc.bold(line(header)), rule,
    ...rows.map((r, n) => line(r, (s, i) => (i === 3 ? (outcomes[n].intent.status === outcomes[n].expected ? status(s.trimEnd()) + s.slice(s.trimEnd().length) : pc.red(s)) : s))),
  ].join('\n');
}
