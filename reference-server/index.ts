// The reference server's public entry point.
export { buildServer, openStore, type BuildServerOptions } from './app.js';
export type { ServerContext, ServerSettings } from './context.js';
export type { Store, StoreTx } from './store/store.js';
export { RealClock, TestClock, type Clock } from './clock.js';
export type { BindingAdapter } from './delivery/engine.js';
export type { ServerSeams } from './seams.js';
export { SPEC_POLICIES, type ServerPolicies, type RetryPolicy, type IdempotencyPolicy, type AccessPolicy, type IntentOperation } from './policies.js';
