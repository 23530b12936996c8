// The reference server's public entry point.
export { buildServer, openStore, type BuildServerOptions } from './app.js';
export type { ServerContext, ServerSettings } from './context.js';
export type { Store, StoreTx } from './store/store.js';
export { RealClock, TestClock, type Clock } from './clock.js';
export type { BindingAdapter } from './delivery/engine.js';
export { FAULTS, FaultsNotAllowedError, type FaultName, type FaultSpec } from './faults.js';
