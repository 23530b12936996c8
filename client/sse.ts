// Reads one bounded SSE response (SSE-003..SSE-008) into parsed frames with eventsource-parser.
// Comments (`: keepalive`) are dropped; the final `stream.timeout` frame is passed through so the
// caller can take its next_seq cursor.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { AxpError } from './errors.js';

export interface SseMessage {
  id?: string;
  event: string;
  data: unknown;
}

/** A response cut short (connection lost, our own bound) raises a retryable AxpError; the caller's abort passes through. */
export async function* sseMessages(response: Dispatcher.ResponseData, signal?: AbortSignal): AsyncGenerator<SseMessage> {
  const ready: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => ready.push(message) });
  const decoder = new TextDecoder();
  const iterator = response.body[Symbol.asyncIterator]();
  try {
    for (;;) {
      let chunk: IteratorResult<Buffer>;
      try {
        chunk = await iterator.next();
      } catch (cause) {
        if (signal?.aborted) throw cause;
        throw new AxpError({ status: 0, code: 'network_error', message: 'SSE response cut short', cause });
      }
      if (chunk.done) break;
      parser.feed(decoder.decode(chunk.value, { stream: true }));
      while (ready.length > 0) yield toMessage(ready.shift() as EventSourceMessage);
    }
    parser.feed(decoder.decode());
    while (ready.length > 0) yield toMessage(ready.shift() as EventSourceMessage);
  } finally {
    // A consumer that stops early (break, return) closes the connection.
    if (!response.body.destroyed) response.body.destroy();
  }
}

function toMessage(message: EventSourceMessage): SseMessage {
  let data: unknown = message.data;
  try {
    data = JSON.parse(message.data);
  } catch {
    // Not JSON: handed over as text.
  }
  return { id: message.id, event: message.event ?? 'message', data };
}
