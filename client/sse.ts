// Reads one bounded SSE response (SSE-003..SSE-008) into parsed frames with eventsource-parser.
// Comments (`: keepalive`) are dropped; the final `stream.timeout` frame is passed through so the
// caller can take its next_seq cursor.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';

export interface SseMessage {
  id?: string;
  event: string;
  data: unknown;
}

export async function* sseMessages(response: Dispatcher.ResponseData): AsyncGenerator<SseMessage> {
  const ready: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => ready.push(message) });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body) {
      parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
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
