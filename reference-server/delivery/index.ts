// Every binding adapter, in one list (issue 4 adds http, inbox, internal here).
import { streamAdapter } from './stream.js';
import { pollAdapter } from './poll.js';
import { httpBinding } from './http-push.js';
import { InboxAdapter } from './inbox.js';
import { InternalAdapter } from './internal.js';
import type { BindingAdapter } from './engine.js';
import type { ServerContext } from '../context.js';

// Push adapters report unexpected failures (a store error while recording an outcome) here.
const warn = (message: string, error?: unknown): void => { process.emitWarning(`${message}: ${String(error)}`); };

export function bindingAdapters(ctx: ServerContext): BindingAdapter[] {
  return [streamAdapter, pollAdapter, httpBinding(ctx, { log: warn }), new InboxAdapter(ctx, warn), new InternalAdapter(ctx, warn)];
}
