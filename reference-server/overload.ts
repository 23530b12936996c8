// ERR-0xx overload: beyond capacity the server answers 503 `overloaded` (or 429 `rate_limited` when
// the optional per-key limit is on) with Retry-After, at once, instead of queueing work it cannot
// finish. Both checks run in onRequest, before auth and body parsing, so a refused request costs
// almost nothing and changes nothing.
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import underPressure from '@fastify/under-pressure';
import rateLimit from '@fastify/rate-limit';
import { Problem } from './errors.js';
import { hashKey, presentedKey } from './auth.js';

export interface PressureLimits {
  /** Mean event-loop delay (ms) above which requests are refused; 0 = off. Default 1000. */
  maxEventLoopDelayMs?: number;
  /** Heap in use (bytes) above which requests are refused; 0 = off. Default 90 % of the V8 heap limit. */
  maxHeapUsedBytes?: number;
  /** Resident set size (bytes) above which requests are refused; 0 = off (default). */
  maxRssBytes?: number;
  /** Event-loop utilization (0..1) above which requests are refused; 0 = off (default). */
  maxEventLoopUtilization?: number;
  /** How often the figures are sampled (ms, default 1000, floor 10). */
  sampleIntervalMs?: number;
  /** Retry-After of a 503, seconds (default 2). */
  retryAfterSeconds?: number;
}

export interface RateLimitSettings {
  /** Requests one key (or, without a key, one client address) may make per window. */
  max: number;
  /** The window, ms (default 60000). */
  timeWindowMs?: number;
}

export async function installOverloadProtection(app: FastifyInstance, limits: PressureLimits = {}, rate?: RateLimitSettings): Promise<void> {
  const retryAfter = limits.retryAfterSeconds ?? 2;
  const sampleInterval = Math.max(10, limits.sampleIntervalMs ?? 1000);
  // Start-up (schema compilation, route mounting) blocks the loop once; the samples that cover it
  // say nothing about load, so event-loop checks start two samples after the server is ready.
  let loopChecksFrom = Number.POSITIVE_INFINITY;
  app.addHook('onReady', async () => { loopChecksFrom = Date.now() + 2 * sampleInterval; });
  const startingUp = (type: string) => (type === 'eventLoopDelay' || type === 'eventLoopUtilization') && Date.now() < loopChecksFrom;
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs ?? 1000,
    maxHeapUsedBytes: limits.maxHeapUsedBytes ?? Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    maxRssBytes: limits.maxRssBytes ?? 0,
    maxEventLoopUtilization: limits.maxEventLoopUtilization ?? 0,
    sampleInterval,
    // A rejected promise goes to the error handler: one problem+json shape for every refusal;
    // undefined lets the request through.
    pressureHandler: (_req, _reply, type) => (startingUp(type) ? undefined
      : Promise.reject(new Problem('overloaded', `the server is over capacity (${type}); retry later`, undefined, retryAfter))),
  });
  if (!rate) return;
  await app.register(rateLimit, {
    global: true,
    max: rate.max,
    timeWindow: rate.timeWindowMs ?? 60_000,
    // Keyed by the key's hash (never the key itself), else by the client address.
    keyGenerator: (req) => {
      const key = presentedKey(req.headers);
      return key ? `key:${hashKey(key)}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, context) => new Problem('rate_limited', `rate limit of ${context.max} requests exceeded; retry in ${context.after}`, undefined, Math.max(1, Math.ceil(context.ttl / 1000))),
  });
}
