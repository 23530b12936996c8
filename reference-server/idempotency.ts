// IDEM-001..IDEM-008: Idempotency-Key scoped to (caller, operation), kept at least 24 h. The check
// and the write happen in one unit of work, so concurrent duplicates create one intent.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Problem } from './errors.js';
import { requestFingerprint } from './wire/fingerprint.js';
import type { Caller, Json } from './model.js';
import type { StoreTx } from './store/store.js';
import type { ServerContext } from './context.js';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

export async function idempotentWrite(
  ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, caller: Caller, operation: string,
  run: (tx: StoreTx) => Promise<Json>,
): Promise<Json> {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string') return ctx.store.write(run);
  const scope = ctx.faults.has('idem-key-not-scoped') ? operation : `${caller.address} ${operation}`;
  const fingerprint = requestFingerprint(req.body ?? {});
  // Fault: the look-up is its own transaction (10 ms stands for the round trip to a database), so
  // concurrent duplicates all find nothing and all create.
  const racyLookup = ctx.faults.has('idem-concurrent-race')
    ? await ctx.store.read((tx) => tx.getIdempotency(scope, key)).then(async (found) => { await new Promise((r) => setTimeout(r, 10)); return found; })
    : undefined;
  const outcome = await ctx.store.write(async (tx) => {
    const now = ctx.clock.now();
    const existing = ctx.faults.has('idem-concurrent-race') ? racyLookup : await tx.getIdempotency(scope, key);
    if (existing && now - existing.created_at_ms < IDEMPOTENCY_TTL_SECONDS * 1000 && !ctx.faults.has('idem-replay-creates')) {
      if (existing.fingerprint !== fingerprint && !ctx.faults.has('idem-conflict-undetected')) {
        throw new Problem('idempotency_key_conflict', 'this Idempotency-Key was used with a different request body');
      }
      return { replayed: true, body: existing.body };
    }
    const body = await run(tx);
    await tx.putIdempotency({ scope, key, fingerprint, status: 200, body, created_at_ms: now });
    return { replayed: false, body };
  });
  // IDEM-003: a replay is the stored original answer, marked as such.
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  return outcome.body;
}
