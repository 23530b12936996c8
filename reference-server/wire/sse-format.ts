// SSE-003..SSE-006: how the server writes Server-Sent Events frames.

export interface SseFrame {
  id?: string | number;
  event?: string;
  /** Serialized as one line of JSON. */
  data: unknown;
}

export function formatFrame(frame: SseFrame): string {
  let out = '';
  if (frame.id !== undefined) out += `id: ${frame.id}\n`;
  if (frame.event !== undefined) out += `event: ${frame.event}\n`;
  // JSON.stringify never emits a raw newline, so one data line always suffices.
  out += `data: ${JSON.stringify(frame.data)}\n\n`;
  return out;
}

export function formatComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** The last frame of every SSE response (SSE-008): no id, so it never moves the client's cursor. */
export function formatStreamTimeout(nextSeq: number, reason?: string): string {
  return formatFrame({ event: 'stream.timeout', data: reason ? { ok: true, next_seq: nextSeq, reason } : { ok: true, next_seq: nextSeq } });
}
