// The reference server with fault modes: the production buildServer, given the faulty parts
// through its seams (BuildServerOptions.seams). Production modules never import this folder; the
// CLI loads it only when --fault or --list-faults is given, and the kit's fault runs call
// buildServer from here.
import type { FastifyInstance } from 'fastify';
import { buildServer as buildProductionServer, type BuildServerOptions } from '../reference-server/app.js';
import type { ServerSeams } from '../reference-server/seams.js';
import { specAccess, specIdempotency, type ServerPolicies } from '../reference-server/policies.js';
import { FaultSet, NO_FAULTS, resolveFaults } from './catalogue.js';
import { faultyStore } from './store.js';
import { faultyScheduler } from './scheduler.js';
import { faultyAuthenticator, faultyNotifier } from './services.js';
import { faultyPushInterceptors } from './push.js';
import { installHttpFaults } from './http.js';

export * from './catalogue.js';

/** Faults that are a policy a deployment could choose, set to a wrong value. */
function faultyPolicies(faults: FaultSet): Partial<ServerPolicies> {
  const policies: Partial<ServerPolicies> = {};
  if (faults.has('retry-without-backoff')) policies.retry = { delayMs: () => 0 };
  if (faults.has('idem-replay-creates') || faults.has('idem-conflict-undetected') || faults.has('idem-key-not-scoped')) {
    policies.idempotency = {
      ttlMs: faults.has('idem-replay-creates') ? 0 : specIdempotency.ttlMs,
      scope: faults.has('idem-key-not-scoped') ? (_caller, operation) => operation : specIdempotency.scope,
      fingerprint: faults.has('idem-conflict-undetected') ? () => 'any body' : specIdempotency.fingerprint,
    };
  }
  if (faults.has('foreign-read') || faults.has('foreign-ack-accepted') || faults.has('receiver-can-cancel')) {
    policies.access = {
      decide(caller, intent, operation) {
        if (operation === 'read' && faults.has('foreign-read')) return 'allow';
        const asReader = specAccess.decide(caller, intent, 'read');
        if (operation === 'ack' && faults.has('foreign-ack-accepted')) return asReader;
        if (operation === 'cancel' && faults.has('receiver-can-cancel')) return asReader;
        return specAccess.decide(caller, intent, operation);
      },
    };
  }
  return policies;
}

/** The seams that give a correct server the listed faults. */
export function faultSeams(faults: FaultSet): ServerSeams {
  return {
    store: (store) => faultyStore(store, faults),
    scheduler: (scheduler) => faultyScheduler(scheduler, faults),
    notifier: (notifier) => faultyNotifier(notifier, faults),
    authenticator: (auth) => faultyAuthenticator(auth, faults),
    pushInterceptors: faultyPushInterceptors(faults),
    http: [(app) => installHttpFaults(app, faults)],
    policies: faultyPolicies(faults),
  };
}

export interface FaultyServerOptions extends BuildServerOptions {
  /** Fault modes by name; refused unless AXP_ALLOW_FAULTS=1 (catalogue.ts). */
  faults?: string[];
}

const running = new WeakMap<FastifyInstance, FaultSet>();

/** The faults a server built here runs with (none for any other server). */
export function faultsOf(app: FastifyInstance): FaultSet {
  return running.get(app) ?? NO_FAULTS;
}

export async function buildServer(options: FaultyServerOptions = {}): Promise<FastifyInstance> {
  // Checked before the first await, so a caller may allow faults only around this call.
  const faults = resolveFaults(options.faults);
  const { faults: _names, ...rest } = options;
  const app = await buildProductionServer(faults.size === 0 ? rest : { ...rest, seams: faultSeams(faults) });
  running.set(app, faults);
  return app;
}
