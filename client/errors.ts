// Every failure the client reports is an AxpError: a problem+json answer keeps its code and
// status (ERR-001); a network failure or a local timeout gets status 0 and a client-side code.
import type { Problem } from '../schemas/types.js';

export type ClientErrorCode = 'network_error' | 'timeout' | 'unexpected_response' | 'wait_timeout';

export class AxpError extends Error {
  override readonly name = 'AxpError';
  /** HTTP status of the answer; 0 when no answer arrived. */
  readonly status: number;
  /** The problem's stable code, or a client-side code when there was no problem document. */
  readonly code: Problem['code'] | ClientErrorCode | (string & {});
  /** The problem document as the server sent it, when there was one. */
  readonly problem?: Problem;
  /** Seconds from a Retry-After header (429/503), when present. */
  readonly retryAfterSeconds?: number;

  constructor(init: { status: number; code: string; message: string; problem?: Problem; retryAfterSeconds?: number; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.problem = init.problem;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** Whether a request that failed this way may be sent again unchanged (with its Idempotency-Key). */
  get retryable(): boolean {
    return this.status === 0 ? this.code === 'network_error' || this.code === 'timeout' : this.status === 429 || this.status >= 500;
  }
}

export function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const candidate = body as Record<string, unknown>;
  return typeof candidate.code === 'string' && typeof candidate.status === 'number';
}
