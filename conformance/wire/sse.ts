// The kit's Server-Sent Events reader (SSE-*), on eventsource-parser 3 plus the WHATWG rules the
// parser leaves to its caller: a leading U+FEFF is dropped, the last event ID persists across
// frames, a CR at the very end is a complete line end, and a frame cut by the end of the text is
// never dispatched but reported (cutMidFrame).
import { createParser } from 'eventsource-parser';

export interface SseFrame {
  /** The `id:` field of this frame, when it had one. */
  id?: string;
  /** The `event:` field; absent means the default type `message`. */
  event?: string;
  data: string;
  /** WHATWG last event ID: the latest `id:` seen so far (it persists), '' before any. */
  lastEventId: string;
}

export interface SseParseResult {
  frames: SseFrame[];
  /** Comment lines without the leading ':' and one optional space (e.g. 'keepalive'). */
  comments: string[];
  /** Valid `retry:` values in order. */
  retries: number[];
  /** The text ended after a field line (or part of one) with no blank line to dispatch it. */
  cutMidFrame: boolean;
}

export interface SseReaderHooks {
  onFrame?: (frame: SseFrame) => void;
  onComment?: (comment: string) => void;
}

export interface SseReader {
  feed(chunk: string): void;
  /** Ends the stream and returns everything read. */
  end(): SseParseResult;
}

/** An incremental reader: feed decoded text chunks as they arrive, then end(). */
export function createSseReader(hooks: SseReaderHooks = {}): SseReader {
  const result: SseParseResult = { frames: [], comments: [], retries: [], cutMidFrame: false };
  let lastEventId = '';
  const parser = createParser({
    onEvent(event) {
      if (event.id !== undefined) lastEventId = event.id;
      const frame: SseFrame = { data: event.data, lastEventId };
      if (event.id !== undefined) frame.id = event.id;
      if (event.event !== undefined) frame.event = event.event;
      result.frames.push(frame);
      hooks.onFrame?.(frame);
    },
    onComment(comment) {
      result.comments.push(comment);
      hooks.onComment?.(comment);
    },
    onRetry(ms) {
      result.retries.push(ms);
    },
  });

  // A line tracker beside the parser, only to know whether the text ends inside a frame.
  let started = false;
  let previousWasCr = false;
  let lineLength = 0;
  let lineIsComment = false;
  let fieldsPending = false;

  function track(chunk: string): void {
    for (const ch of chunk) {
      if (previousWasCr && ch === '\n') { previousWasCr = false; continue; }
      previousWasCr = ch === '\r';
      if (ch === '\r' || ch === '\n') {
        if (lineLength === 0) fieldsPending = false;
        else if (!lineIsComment) fieldsPending = true;
        lineLength = 0;
      } else {
        if (lineLength === 0) lineIsComment = ch === ':';
        lineLength++;
      }
    }
  }

  return {
    feed(chunk: string) {
      if (!started && chunk.length > 0) {
        started = true;
        if (chunk.startsWith('\uFEFF')) chunk = chunk.slice(1);
      }
      track(chunk);
      parser.feed(chunk);
    },
    end() {
      // The parser waits for a possible LF after a final CR; at the end of the text there is none.
      if (previousWasCr) parser.feed('\n');
      result.cutMidFrame = fieldsPending || (lineLength > 0 && !lineIsComment);
      return result;
    },
  };
}

/** Parses a whole SSE response text. */
export function parseSseText(text: string): SseParseResult {
  const reader = createSseReader();
  reader.feed(text);
  return reader.end();
}
