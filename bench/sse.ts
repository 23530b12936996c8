// One SSE response read to its end with eventsource-parser (the bench's client side of SSE).
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';

export type { EventSourceMessage };

/** Reads one SSE response; returns the last `id:` seen (for Last-Event-ID on reconnect). */
export async function readSse(
  dispatcher: Dispatcher, path: string, headers: Record<string, string>, signal: AbortSignal,
  onEvent: (message: EventSourceMessage) => void, hooks: { onOpen?: () => void; onBytes?: (n: number) => void } = {},
): Promise<string | undefined> {
  const res = await dispatcher.request({ method: 'GET', path, headers: { accept: 'text/event-stream', ...headers }, signal });
  if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${(await res.body.text()).slice(0, 200)}`);
  hooks.onOpen?.();
  let lastId: string | undefined;
  const parser = createParser({ onEvent: (message) => { if (message.id) lastId = message.id; onEvent(message); } });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    const bytes = chunk as Buffer;
    hooks.onBytes?.(bytes.length);
    parser.feed(decoder.decode(bytes, { stream: true }));
  }
  return lastId;
}

export const isAbort = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'UND_ERR_ABORTED');
