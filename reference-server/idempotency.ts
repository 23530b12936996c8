// IDEM-001..IDEM-008: Idempotency-Key scoped to (caller, operation), kept at least 24 h. The check
// and the write happen in one unit of work, so concurrent duplicates create one intent.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Problem } from './errors.js';
import type { Caller, Json } from './model.js';
import type { StoreTx, WriteOptions } from './store/store.js';
import type { ServerContext } from './context.js';

/** Also read by the PostgreSQL store, which expires keys itself. */
export { IDEMPOTENCY_TTL_SECONDS } from './limits.js';

export async function idempotentWrite(
  ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, caller: Caller, operation: string,
  run: (tx: StoreTx) => Promise<Json>,
  options: WriteOptions = {},
): Promise<Json> {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string') return ctx.store.write(run, options);
  const policy = ctx.policies.idempotency;
  const scope = policy.scope(caller, operation);
  const fingerprint = policy.fingerprint(req.body);
  const outcome = await ctx.store.write(async (tx) => {
    const now = ctx.clock.now();
    const existing = await tx.getIdempotency(scope, key);
    if (existing && now - existing.created_at_ms < policy.ttlMs) {
      if (existing.fingerprint !== fingerprint) {
        throw new Problem('idempotency_key_conflict', 'this Idempotency-Key was used with a different request body');
      }
      return { replayed: true, body: existing.body };
    }
    const body = await run(tx);
    await tx.putIdempotency({ scope, key, fingerprint, status: 200, body, created_at_ms: now });
    return { replayed: false, body };
  }, options);
  // IDEM-003: a replay is the stored original answer, marked as such.
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  return outcome.body;
}
