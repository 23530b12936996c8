// One case's evidence: every request, response, SSE frame and receiver hit, in order, stamped
// with milliseconds since the case started. Reporters print it; the curl reproduction reads it.
// Entries hold what was on the wire; the runner redacts credentials (redaction.ts) before any
// reporter sees a result.

import type { ConformanceReportTranscriptEntry } from '../schemas/types.js';

/**
 * Generated from schemas/conformance-report.schema.json. `summary` is one line a person can scan,
 * e.g. `POST /v1/intents → 200 (12 ms)`; `body` is cut to MAX_BODY_CHARS (the cut is marked) and
 * `bodyBytes` keeps the real size.
 */
export type TranscriptEntry = ConformanceReportTranscriptEntry;
export type TranscriptKind = TranscriptEntry['kind'];

const MAX_BODY_CHARS = 4096;

export class Transcript {
  readonly entries: TranscriptEntry[] = [];
  private readonly started = performance.now();

  elapsedMs(): number {
    return Math.round(performance.now() - this.started);
  }

  add(entry: Omit<TranscriptEntry, 'atMs'>): TranscriptEntry {
    const recorded: TranscriptEntry = { atMs: this.elapsedMs(), ...entry };
    if (recorded.headers) recorded.headers = { ...recorded.headers };
    if (recorded.body !== undefined) {
      recorded.bodyBytes ??= Buffer.byteLength(recorded.body);
      recorded.body = cut(recorded.body);
    }
    this.entries.push(recorded);
    return recorded;
  }

  note(text: string): void {
    this.add({ kind: 'note', summary: text });
  }
}

function cut(text: string): string {
  if (text.length <= MAX_BODY_CHARS) return text;
  return `${text.slice(0, MAX_BODY_CHARS)}… [${text.length - MAX_BODY_CHARS} more characters cut]`;
}

/** The tail of a transcript: what a failure report shows next to the message. */
export function excerpt(entries: TranscriptEntry[], count = 8): TranscriptEntry[] {
  return entries.slice(Math.max(0, entries.length - count));
}

export function formatEntry(entry: TranscriptEntry): string {
  const head = `+${String(entry.atMs).padStart(5)} ms  ${entry.summary}`;
  if (entry.kind === 'sse-frame' || entry.kind === 'note' || entry.kind === 'sse-comment' || entry.kind === 'sse-end') return head;
  const lines = [head];
  if (entry.body !== undefined && entry.body.length > 0) lines.push(`           ${entry.body.replace(/\n/g, '\n           ')}`);
  return lines.join('\n');
}
