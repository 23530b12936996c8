// What app.ts builds once and hands to every route module, binding adapter and timer handler:
// the server's parts and settings, fixed for the server's life (no field is reassigned, no list grows).
import type { Clock } from './clock.js';
import type { Store } from './store/store.js';
import type { Scheduler } from './scheduler.js';
import type { Notifier } from './notifier.js';
import type { DeliveryEngine } from './delivery/engine.js';
import type { IntentService } from './intents.js';
import type { IntentTransitions } from './transitions.js';
import type { SseRegistry } from './sse.js';
import type { ServerPolicies } from './policies.js';

export interface ServerSettings {
  /** The admin key when this start knows it: given, or generated now (admin-key.ts); absent when an earlier start's hash was kept. */
  adminKey?: string;
  /** How the admin key was settled at start. */
  adminKeyOrigin: 'given' | 'generated' | 'rotated' | 'stored';
  readonly testClock: boolean;
  readonly allowPrivateCallbacks: boolean;
  readonly strictAddresses: boolean;
  /** Seconds between `: keepalive` comments on SSE responses (SSE-006: at most 15). */
  readonly keepaliveSeconds: number;
  /** Bytes buffered for one SSE response before a slow consumer is cut (SSE-013). */
  readonly sseHighWaterMark: number;
  /** Lease floor the server accepts, in seconds (advertised in capabilities). */
  readonly minLeaseSeconds: number;
  /** HTTP-012: how long a rotated-out signing secret keeps signing (default 24 h). */
  readonly secretOverlapMs?: number;
}

export interface ServerContext {
  readonly settings: ServerSettings;
  readonly store: Store;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly notifier: Notifier;
  readonly engine: DeliveryEngine;
  readonly intents: IntentService;
  readonly transitions: IntentTransitions;
  readonly policies: ServerPolicies;
  readonly sse: SseRegistry;
  /** Aborted when the server starts shutting down: long polls and SSE end early. */
  readonly shutdown: AbortSignal;
}
