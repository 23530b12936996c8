// buildServer(options): wiring only. Store, clock, scheduler, delivery engine, routes.
import Fastify, { type FastifyInstance } from 'fastify';
import { RealClock, TestClock, type Clock } from './clock.js';
import { MemoryStore } from './store/memory.js';
import { SqliteStore } from './store/sqlite.js';
import { PostgresStore } from './store/postgres.js';
import { installPostgresCluster } from './store/postgres-cluster.js';
import type { Store } from './store/store.js';
import { Scheduler } from './scheduler.js';
import { Notifier } from './notifier.js';
import { IntentService } from './intents.js';
import { IntentTransitions } from './transitions.js';
import { withPolicies } from './policies.js';
import type { ServerSeams } from './seams.js';
import { DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MIN_LEASE_SECONDS, DEFAULT_SSE_HIGH_WATER_MARK } from './limits.js';
import { DeliveryEngine } from './delivery/engine.js';
import { bindingAdapters } from './delivery/index.js';
import { installIntentTimers } from './timers/index.js';
import { SseRegistry } from './sse.js';
import { Authenticator } from './auth.js';
import { resolveAdminKey, type AdminKey } from './admin-key.js';
import { BODY_LIMIT_BYTES, frameworkErrorHandler, installPlumbing } from './http-plumbing.js';
import { RouteRegistrar, mountRoutes } from './routes/registrar.js';
import { pageModules, routeModules } from './routes/index.js';
import { fallbackRoutes } from './routes/fallbacks.js';
import type { ServerContext, ServerSettings } from './context.js';
import { installOverloadProtection, type PressureLimits, type RateLimitSettings } from './overload.js';

export interface BuildServerOptions {
  /** 'memory', 'sqlite:<file>', 'postgres://USER@HOST:PORT/DB', or a Store instance. Default 'sqlite:./axp.db'. */
  store?: string | Store;
  /**
   * The admin key (default env AXP_ADMIN_KEY). Absent: a durable store's kept key (its hash),
   * else a generated one (read it back from `server.axp.settings.adminKey`). Given to a durable
   * store, it replaces the kept one (admin-key.ts).
   */
  adminKey?: string;
  /** Replaces a durable store's kept admin key with a generated one (ignored when adminKey is given). */
  rotateAdminKey?: boolean;
  /** Enables the test-clock extension (CLK-001) and drives every timer from it. */
  testClock?: boolean;
  allowPrivateCallbacks?: boolean;
  strictAddresses?: boolean;
  /** Seconds between SSE keepalive comments (1..15, default 15). */
  keepaliveSeconds?: number;
  /** Bytes an SSE response may buffer before a slow consumer is cut (default 1 MiB). */
  sseHighWaterMark?: number;
  /** Smallest lease_seconds accepted at registration (default 0.05). */
  minLeaseSeconds?: number;
  /** HTTP-012: overlap window of a rotated signing secret, in ms (default 24 h). */
  secretOverlapMs?: number;
  /** true, false, or Fastify logger options (level, stream). */
  logger?: boolean | { level?: string; stream?: { write(line: string): void } };
  /** Overload limits: beyond them requests get 503 overloaded with Retry-After. */
  pressure?: PressureLimits;
  /** Per-key rate limit (off when absent): beyond it requests get 429 rate_limited. */
  rateLimit?: RateLimitSettings;
  /** Injected clock (tests); overrides testClock's own TestClock. */
  clock?: Clock;
  /** Wrappers, hooks and policies a deployment plugs around the server (seams.ts). */
  seams?: ServerSeams;
}

declare module 'fastify' {
  interface FastifyInstance { axp: ServerContext }
}

export function openStore(spec: string): Store {
  if (spec === 'memory') return new MemoryStore();
  if (spec.startsWith('sqlite:')) return new SqliteStore(spec.slice('sqlite:'.length));
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) return new PostgresStore(spec);
  throw new Error(`unknown store ${spec} (use memory, sqlite:<file> or postgres://USER@HOST:PORT/DB)`);
}

export async function buildServer(options: BuildServerOptions = {}): Promise<FastifyInstance> {
  const seams = options.seams ?? {};
  const settings: ServerSettings = {
    adminKeyOrigin: 'given',
    testClock: options.testClock ?? false,
    allowPrivateCallbacks: options.allowPrivateCallbacks ?? false,
    strictAddresses: options.strictAddresses ?? false,
    keepaliveSeconds: Math.min(DEFAULT_KEEPALIVE_SECONDS, Math.max(1, options.keepaliveSeconds ?? DEFAULT_KEEPALIVE_SECONDS)),
    sseHighWaterMark: options.sseHighWaterMark ?? DEFAULT_SSE_HIGH_WATER_MARK,
    minLeaseSeconds: options.minLeaseSeconds ?? DEFAULT_MIN_LEASE_SECONDS,
    secretOverlapMs: options.secretOverlapMs,
  };
  const opened = typeof options.store === 'object' ? options.store : openStore(options.store ?? 'sqlite:./axp.db');
  const store = seams.store ? seams.store(opened) : opened;
  let admin: AdminKey;
  try {
    admin = await resolveAdminKey(store, options.adminKey ?? process.env.AXP_ADMIN_KEY, options.rotateAdminKey);
  } catch (error) {
    if (typeof options.store !== 'object') await store.close().catch(() => {});
    throw error;
  }
  settings.adminKey = admin.key;
  settings.adminKeyOrigin = admin.origin;
  const clock = options.clock ?? (settings.testClock ? new TestClock() : new RealClock());
  const app = Fastify({
    logger: options.logger ?? false, bodyLimit: BODY_LIMIT_BYTES, forceCloseConnections: true, frameworkErrors: frameworkErrorHandler,
    // The response serializer picks anyOf/if branches with its own Ajv; the wire schemas leave
    // `type` implicit in such branches, which is valid JSON Schema (no console warning per route).
    serializerOpts: { ajv: { strictTypes: false } },
  });
  const log = (message: string, error: unknown) => app.log.error({ err: error }, message);

  const shutdown = new AbortController();
  const policies = withPolicies(seams.policies);
  const notifier = seams.notifier ? seams.notifier(new Notifier()) : new Notifier();
  const scheduler = seams.scheduler ? seams.scheduler(new Scheduler(store, clock, log)) : new Scheduler(store, clock, log);
  const transitions = new IntentTransitions(clock, notifier);
  const engine = new DeliveryEngine(store, clock, scheduler, notifier, transitions, policies.retry);
  const intents = new IntentService(clock, transitions, engine);
  const ctx: ServerContext = {
    settings, store, clock, scheduler, notifier, engine, intents, transitions, policies, sse: new SseRegistry(),
    shutdown: shutdown.signal,
  };
  for (const adapter of bindingAdapters(ctx, { pushInterceptors: seams.pushInterceptors })) engine.registerBinding(adapter);
  installIntentTimers(ctx);
  app.decorate('axp', ctx);

  const authenticator = new Authenticator({ sha256: admin.hash }, store);
  const auth = seams.authenticator ? seams.authenticator(authenticator) : authenticator;
  await installOverloadProtection(app, options.pressure, options.rateLimit);
  installPlumbing(app, (error) => log('request failed', error));
  for (const install of seams.http ?? []) await install(app);
  const registrar = new RouteRegistrar();
  for (const module of routeModules(auth)) module(registrar, ctx);
  const fallbacks = new RouteRegistrar();
  fallbackRoutes(fallbacks);
  mountRoutes(app, registrar, fallbacks, auth);
  for (const page of pageModules) page(app);

  // Several processes on one database: cross-process wake-ups, a polling backstop, a shared test clock.
  if (opened instanceof PostgresStore) {
    try {
      await installPostgresCluster(app, ctx, opened);
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
  }
  app.addHook('onReady', async () => {
    await engine.start();
    scheduler.start();
  });
  // Shutdown: stop accepting (Fastify), end SSE responses with their final frame and long polls
  // early, let in-flight writes commit, then close the store.
  app.addHook('preClose', async () => {
    shutdown.abort();
    ctx.sse.closeAll();
  });
  app.addHook('onClose', async () => {
    scheduler.stop();
    await engine.stop();
    await store.close();
  });
  return app;
}
