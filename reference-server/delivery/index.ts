// Every binding adapter, in one list. The pull bindings (stream, poll) have nothing to push: the
// agent fetches through their routes (routes/stream.ts, routes/poll.ts), which claim from the engine.
import { HttpPushAdapter, type HttpPushOptions } from './http-push.js';
import { InboxAdapter } from './inbox.js';
import { InternalAdapter } from './internal.js';
import type { BindingAdapter } from './engine.js';
import type { ServerContext } from '../context.js';

// Push adapters report unexpected failures (a store error while recording an outcome) here.
const streamAdapter: BindingAdapter = { binding: 'stream', mode: 'pull' };
const pollAdapter: BindingAdapter = { binding: 'poll', mode: 'pull' };

const warn = (message: string, error?: unknown): void => { process.emitWarning(`${message}: ${String(error)}`); };

export interface BindingOptions {
  /** undici interceptors on every http push (ServerSeams.pushInterceptors). */
  pushInterceptors?: HttpPushOptions['interceptors'];
}

export function bindingAdapters(ctx: ServerContext, options: BindingOptions = {}): BindingAdapter[] {
  return [streamAdapter, pollAdapter, new HttpPushAdapter(ctx, { log: warn, interceptors: options.pushInterceptors }), new InboxAdapter(ctx, warn), new InternalAdapter(ctx, warn)];
}
