// Waits for an intent's event by reading the observe stream incrementally: it returns the moment
// the event arrives (bounded by timeoutMs), and can start after a given seq.
import { createParser } from 'eventsource-parser';
import { ADMIN_KEY, type TestServer } from './server.js';

export interface WaitOptions { since?: number; key?: string; timeoutMs?: number }

export async function nextEvent(server: TestServer, intentId: string, match: (e: any) => boolean, options: WaitOptions = {}): Promise<any[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const seen: any[] = [];
  let since = options.since ?? 0;
  while (Date.now() < deadline) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(1, deadline - Date.now()));
    let found = false;
    let terminal = false;
    try {
      const res = await fetch(`${server.url}/v1/intents/${intentId}/events/stream?since=${since}&wait_seconds=5`, {
        headers: { 'x-api-key': options.key ?? ADMIN_KEY, accept: 'text/event-stream' }, signal: controller.signal,
      });
      if (res.status !== 200 || !res.body) throw new Error(`observe ${intentId}: ${res.status}`);
      const parser = createParser({
        onEvent: (e) => {
          if (found || e.event === 'stream.timeout') return;
          const event = JSON.parse(e.data);
          seen.push(event);
          since = event.seq;
          if (match(event)) found = true;
          else if (['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT'].includes(event.status) && event.event_type !== 'intent.delivery_attempt') terminal = true;
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
        if (found) break;
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    if (found) return seen;
    if (terminal) break;
  }
  throw new Error(`event not seen on ${intentId}; saw ${seen.map((e) => e.event_type).join(', ')}`);
}

export async function eventsOf(server: TestServer, intentId: string): Promise<any[]> {
  const res = await server.request('GET', `/v1/intents/${intentId}/events`);
  return res.body.events as any[];
}
