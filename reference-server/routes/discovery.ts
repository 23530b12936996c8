// CAP-001..CAP-010: health and the capabilities document.
import { MAX_PAYLOAD_BYTES } from './registrar.js';
import { IDEMPOTENCY_TTL_SECONDS } from '../idempotency.js';
import type { RouteRegistrar } from './registrar.js';
import type { ServerContext } from '../context.js';
import type { Json } from '../model.js';

export const SERVER_NAME = 'axp-reference-server';
export const SERVER_VERSION = '0.1.0';

export function capabilities(ctx: ServerContext): Json {
  const bindings = ctx.engine.bindings();
  const caps = [...bindings.map((b) => `binding.${b}`), 'intents.idempotency', 'events.sse'];
  const extensions: Json = {};
  if (ctx.settings.testClock) {
    caps.push('ext.test-clock');
    extensions['test-clock'] = { endpoint: '/v1/_test/clock' };
  }
  return {
    ok: true,
    protocol_version: 'axp/1',
    server: { name: SERVER_NAME, version: SERVER_VERSION },
    capabilities: caps,
    supported_intent_types: ctx.supportedIntentTypes,
    bindings,
    limits: {
      max_payload_bytes: MAX_PAYLOAD_BYTES,
      wait_seconds: { min: 0, max: 60, default: 15 },
      lease_seconds: { min: ctx.settings.minLeaseSeconds, max: 3600, default: 30 },
      initial_delay_ms: { min: 1, max: 3600000, default: 1000 },
      max_delay_ms: { min: 1, max: 86400000, default: 60000 },
      timeout_ms: { min: 1, max: 120000, default: 15000 },
      max_delivery_attempts: { min: 1, max: 20, default: 3 },
      idempotency_ttl_seconds: IDEMPOTENCY_TTL_SECONDS,
      keepalive_seconds: ctx.settings.keepaliveSeconds,
      max_list_limit: 500,
      // SEC-025: whether a kit may use a loopback receiver.
      allow_private_callbacks: ctx.settings.allowPrivateCallbacks,
    },
    extensions,
  };
}

export function discoveryRoutes(r: RouteRegistrar, ctx: ServerContext): void {
  r.handle('health', async () => ({ ok: true }));
  r.handle('getCapabilities', async () => capabilities(ctx));
  r.handle('getWellKnown', async () => capabilities(ctx));
}
