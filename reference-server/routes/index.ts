// Every route module, in one list (issue 4 adds inbox here).
import { agentRoutes } from './agents.js';
import { intentRoutes } from './intents.js';
import { eventRoutes } from './events.js';
import { deliveryRoutes } from './deliveries.js';
import { adminRoutes } from './admin.js';
import { discoveryRoutes } from './discovery.js';
import { inboxRoutes } from './inbox.js';
import { webPages } from './web.js';
import type { RouteModule } from './registrar.js';
import type { Authenticator } from '../auth.js';

export function routeModules(auth: Authenticator): RouteModule[] {
  return [agentRoutes(auth), intentRoutes, eventRoutes, deliveryRoutes, adminRoutes, discoveryRoutes, inboxRoutes];
}

/** Pages outside the API table (no auth, no schemas): the web inbox at /inbox. */
export const pageModules = [webPages];
