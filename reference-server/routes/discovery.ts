// CAP-001..CAP-010: health and the capabilities document.
import { IDEMPOTENCY_TTL_SECONDS, MAX_LIST_LIMIT, MAX_PAYLOAD_BYTES, POLICY_RANGES, PROTOCOL_VERSION, SERVER_NAME, SERVER_VERSION } from '../limits.js';
import type { RouteRegistrar } from './registrar.js';
import type { ServerContext } from '../context.js';
import type { Json } from '../model.js';

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
    protocol_version: PROTOCOL_VERSION,
    server: { name: SERVER_NAME, version: SERVER_VERSION },
    capabilities: caps,
    supported_intent_types: ctx.engine.supportedIntentTypes(),
    bindings,
    limits: {
      max_payload_bytes: MAX_PAYLOAD_BYTES,
      wait_seconds: { ...POLICY_RANGES.wait_seconds },
      lease_seconds: { min: ctx.settings.minLeaseSeconds, ...POLICY_RANGES.lease_seconds },
      initial_delay_ms: { ...POLICY_RANGES.initial_delay_ms },
      max_delay_ms: { ...POLICY_RANGES.max_delay_ms },
      timeout_ms: { ...POLICY_RANGES.timeout_ms },
      max_delivery_attempts: { ...POLICY_RANGES.max_delivery_attempts },
      idempotency_ttl_seconds: IDEMPOTENCY_TTL_SECONDS,
      keepalive_seconds: ctx.settings.keepaliveSeconds,
      max_list_limit: MAX_LIST_LIMIT,
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
