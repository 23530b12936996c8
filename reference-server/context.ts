// What app.ts builds once and hands to every route module, binding adapter and timer handler.
import type { Clock } from './clock.js';
import type { Store } from './store/store.js';
import type { Scheduler } from './timers.js';
import type { Notifier } from './notifier.js';
import type { DeliveryEngine } from './delivery/engine.js';
import type { IntentService } from './intents.js';
import type { IntentTransitions } from './transitions.js';
import type { SseRegistry } from './sse.js';
import type { DeliveryPolicy } from './model.js';
import type { ServerPolicies } from './policies.js';

/** A check on a delivery policy at registration (issue 4: SSRF on callback URLs); throw a Problem to refuse. */
export type PolicyCheck = (policy: DeliveryPolicy, address: string) => Promise<void>;

export interface ServerSettings {
  adminKey: string;
  testClock: boolean;
  allowPrivateCallbacks: boolean;
  strictAddresses: boolean;
  /** Seconds between `: keepalive` comments on SSE responses (SSE-006: at most 15). */
  keepaliveSeconds: number;
  /** Bytes buffered for one SSE response before a slow consumer is cut (SSE-013). */
  sseHighWaterMark: number;
  /** Lease floor the server accepts, in seconds (advertised in capabilities). */
  minLeaseSeconds: number;
  /** HTTP-012: how long a rotated-out signing secret keeps signing (default 24 h). */
  secretOverlapMs?: number;
}

export interface ServerContext {
  settings: ServerSettings;
  store: Store;
  clock: Clock;
  scheduler: Scheduler;
  notifier: Notifier;
  engine: DeliveryEngine;
  intents: IntentService;
  transitions: IntentTransitions;
  policies: ServerPolicies;
  sse: SseRegistry;
  policyChecks: PolicyCheck[];
  /** Intent types the server itself handles (capabilities; issue 4: intent.internal.delay.v1). */
  supportedIntentTypes: string[];
  /** Aborted when the server starts shutting down: long polls and SSE end early. */
  shutdown: AbortSignal;
}
