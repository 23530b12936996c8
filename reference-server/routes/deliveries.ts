// The pull bindings' routes (stream, poll); their logic lives in delivery/.
import { serveStream } from '../delivery/stream.js';
import { servePoll } from '../delivery/poll.js';
import type { RouteRegistrar } from './registrar.js';
import type { ServerContext } from '../context.js';

export function deliveryRoutes(r: RouteRegistrar, ctx: ServerContext): void {
  r.handle('streamDeliveries', (req, reply, caller) => serveStream(ctx, req, reply, caller));
  r.handle('pollDeliveries', (req, _reply, caller) => servePoll(ctx, req, caller));
}
