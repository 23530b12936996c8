// Every route module, in one list.
import { agentRoutes } from './agents.js';
import { intentRoutes } from './intents.js';
import { eventRoutes } from './events.js';
import { streamRoutes } from './stream.js';
import { pollRoutes } from './poll.js';
import { adminRoutes } from './admin.js';
import { discoveryRoutes } from './discovery.js';
import { inboxRoutes } from './inbox.js';
import { webPages } from './web.js';
import type { RouteModule } from './registrar.js';
import type { Authenticator } from '../auth.js';

export function routeModules(auth: Authenticator): RouteModule[] {
  return [agentRoutes(auth), intentRoutes, eventRoutes, streamRoutes, pollRoutes, adminRoutes, discoveryRoutes, inboxRoutes];
}

/** Pages outside the API table (no auth, no schemas): the web inbox at /inbox. */
export const pageModules = [webPages];
