// ERR-001: the one table of problem codes. Every error response the server sends is built here;
// test/server-errors.test.ts checks the table against schemas/problem.schema.json and spec/.

export const ERRORS = {
  malformed_json: { status: 400, title: 'Malformed JSON' },
  idempotency_key_invalid: { status: 400, title: 'Invalid Idempotency-Key' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  agent_not_found: { status: 404, title: 'Agent not found' },
  intent_not_found: { status: 404, title: 'Intent not found' },
  thread_not_found: { status: 404, title: 'Thread not found' },
  extension_disabled: { status: 404, title: 'Extension disabled' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  not_acceptable: { status: 406, title: 'Not acceptable' },
  idempotency_key_conflict: { status: 409, title: 'Idempotency key reused with a different body' },
  intent_terminal: { status: 409, title: 'Intent is terminal' },
  illegal_transition: { status: 409, title: 'Illegal transition' },
  stale_delivery: { status: 409, title: 'Stale delivery' },
  thread_closed: { status: 409, title: 'Thread closed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  validation_failed: { status: 422, title: 'Validation failed' },
  limit_exceeded: { status: 422, title: 'Limit exceeded' },
  outcome_not_allowed: { status: 422, title: 'Outcome not allowed' },
  comment_required: { status: 422, title: 'Comment required' },
  callback_url_refused: { status: 422, title: 'Callback URL refused' },
  rate_limited: { status: 429, title: 'Rate limited' },
  overloaded: { status: 503, title: 'Overloaded' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface Violation { pointer: string; message: string; keyword?: string; location?: 'body' | 'query' | 'params' | 'headers' }

export const PROBLEM_TYPE_BASE = 'https://axp.dev/problems/';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: ErrorCode;
  errors?: Violation[];
}

/** An error that becomes a problem+json response. Throw it anywhere in a request. */
export class Problem extends Error {
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly errors?: Violation[],
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(detail ?? ERRORS[code].title);
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
  toBody(): ProblemBody {
    const { status, title } = ERRORS[this.code];
    const body: ProblemBody = { type: `${PROBLEM_TYPE_BASE}${this.code}`, title, status, detail: this.message, code: this.code };
    if (this.errors) body.errors = this.errors;
    return body;
  }
}

export function problem(code: ErrorCode, detail?: string, errors?: Violation[]): Problem {
  return new Problem(code, detail, errors);
}
