// The points where a deployment plugs its own parts around the server without changing it: a
// store wrapper (a read replica, tracing, metrics), the wake-up bus (a cross-process bus), the
// timer scheduler, the authenticator (an identity provider, a key cache), undici interceptors on
// outgoing pushes (an egress proxy, tracing), Fastify hooks for request and response rewrites (a
// gateway's mapping), and the strategy points of policies.ts.
import type { FastifyInstance } from 'fastify';
import type { Dispatcher } from 'undici';
import type { Store } from './store/store.js';
import type { Notifier } from './notifier.js';
import type { Scheduler } from './scheduler.js';
import type { Authenticator } from './auth.js';
import type { ServerPolicies } from './policies.js';

export interface ServerSeams {
  /** Wraps the store every module reads and writes through. */
  store?: (store: Store) => Store;
  /** Wraps the in-process wake-up bus (SSE feeds and long polls wait on it). */
  notifier?: (notifier: Notifier) => Notifier;
  /** Wraps the durable-timer scheduler before any timer kind is registered. */
  scheduler?: (scheduler: Scheduler) => Scheduler;
  /** Wraps the authenticator of every route. */
  authenticator?: (auth: Authenticator) => Authenticator;
  /** undici interceptors every push request of the http binding passes through, in order. */
  pushInterceptors?: Dispatcher.DispatcherComposeInterceptor[];
  /** Run on the root Fastify instance before the routes are mounted (hooks apply to every route). */
  http?: ((app: FastifyInstance) => void | Promise<void>)[];
  /** Strategy points; the spec's own are the defaults. */
  policies?: Partial<ServerPolicies>;
}
