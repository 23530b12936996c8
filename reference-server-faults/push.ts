// Faults of the http binding as undici interceptors on the push dispatcher: what an egress proxy
// or a client middleware that gets HTTP wrong does between a correct server and the receiver.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { FaultSet } from './catalogue.js';

type Interceptor = Dispatcher.DispatcherComposeInterceptor;

/** Passes every callback through, with the answer's status and headers rewritten. */
function rewriteAnswer(rewrite: (status: number, headers: IncomingHttpHeaders) => number): Interceptor {
  return (dispatch) => (opts, handler) => dispatch(opts, {
    onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
    onRequestUpgrade: (controller, status, headers, socket) => handler.onRequestUpgrade?.(controller, status, headers, socket),
    onResponseStart: (controller, status, headers, message) => handler.onResponseStart?.(controller, rewrite(status, headers), headers, message),
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
  });
}

/** Rewrites the request before it is sent. */
function rewriteRequest(rewrite: (opts: Dispatcher.DispatchOptions) => Dispatcher.DispatchOptions): Interceptor {
  return (dispatch) => (opts, handler) => dispatch(rewrite(opts), handler);
}

export function faultyPushInterceptors(faults: FaultSet): Interceptor[] {
  const out: Interceptor[] = [];
  if (faults.has('no-retry-after-5xx')) out.push(rewriteAnswer((status) => (status >= 500 ? 410 : status)));
  if (faults.has('gone-retried')) out.push(rewriteAnswer((status) => (status === 410 ? 500 : status)));
  if (faults.has('retry-after-ignored')) {
    out.push(rewriteAnswer((status, headers) => {
      delete headers['retry-after'];
      return status;
    }));
  }
  if (faults.has('signature-wrong-bytes')) {
    out.push(rewriteRequest((opts) => (typeof opts.body === 'string' ? { ...opts, body: JSON.stringify(JSON.parse(opts.body), null, 2) } : opts)));
  }
  if (faults.has('stale-webhook-timestamp')) {
    // Signed headers cached per intent (webhook-id) and re-sent on every later attempt.
    const first = new Map<string, { timestamp: string; signature: string }>();
    out.push(rewriteRequest((opts) => {
      const headers = { ...(opts.headers as Record<string, string>) };
      const id = headers['webhook-id'];
      if (id === undefined) return opts;
      const cached = first.get(id);
      if (!cached) {
        first.set(id, { timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'] });
        return opts;
      }
      return { ...opts, headers: { ...headers, 'webhook-timestamp': cached.timestamp, 'webhook-signature': cached.signature } };
    }));
  }
  return out;
}
