// Pre-fills a SQLite store file with finished intents (each with its four events and its acked
// delivery), straight through the store's schema in one transaction: the "1M stored" case.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { v7 as timeOrderedUuid } from 'uuid';
import { bulkLoad, type BulkRow } from '../reference-server/store/sqlite.js';

const OLD_AGENTS = ['agent://bench/old/a0', 'agent://bench/old/a1', 'agent://bench/old/a2', 'agent://bench/old/a3'];
const OLD_SENDER = 'agent://bench/old/sender';

/** Time-ordered (v7) ids as the server makes them, one per millisecond from t0: the B-trees fill by appending. */
function sortedIds(count: number, t0: number): string[] {
  return Array.from({ length: count }, (_, i) => timeOrderedUuid({ msecs: t0 + i }));
}

function* finishedIntents(count: number, payload: Record<string, unknown>): Generator<BulkRow> {
  const t0 = Date.now() - count; // one millisecond apart, oldest first
  const seqs = new Map<string, number>();
  const intentIds = sortedIds(count, t0);
  const deliveryIds = sortedIds(count, t0);
  for (let i = 0; i < count; i++) {
    const intentId = intentIds[i];
    const agent = OLD_AGENTS[i % OLD_AGENTS.length];
    const seq = (seqs.get(agent) ?? 0) + 1;
    seqs.set(agent, seq);
    const at = new Date(t0 + i).toISOString();
    const deliveryId = deliveryIds[i];
    yield {
      intent: {
        intent_id: intentId, intent_type: 'bench.order.v1', from_agent: OLD_SENDER, to_agent: agent, payload,
        correlation_id: randomUUID(), status: 'COMPLETED', lifecycle_status: 'COMPLETED', created_at: at, updated_at: at,
        delivery_attempt: 1, max_delivery_attempts: 3, pending_with: null, last_seq: 4, result: { ok: true },
      },
      events: [
        { intent_id: intentId, seq: 1, event_type: 'intent.created', status: 'CREATED', at, actor: OLD_SENDER },
        { intent_id: intentId, seq: 2, event_type: 'intent.submitted', status: 'SUBMITTED', at, actor: OLD_SENDER },
        { intent_id: intentId, seq: 3, event_type: 'intent.delivered', status: 'DELIVERED', at, actor: 'system', details: { delivery_id: deliveryId, attempt: 1, agent } },
        { intent_id: intentId, seq: 4, event_type: 'intent.completed', status: 'COMPLETED', at, actor: agent },
      ],
      deliveries: [{
        delivery_id: deliveryId, intent_id: intentId, agent, attempt: 1, state: 'acked', agent_seq: seq,
        lease_expires_at: new Date(t0 + i + 30_000).toISOString(), created_at: at,
      }],
    };
  }
}

/** A fresh store file holding `count` finished intents; returns the seconds it took. */
export function prefill(file: string, count: number, payload: Record<string, unknown>): number {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const started = performance.now();
  bulkLoad(file, finishedIntents(count, payload));
  return (performance.now() - started) / 1000;
}

// Stand-alone: node --import tsx bench/prefill.ts <file> <count>
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const [file, count] = process.argv.slice(2);
  console.log(`${prefill(file, Number(count), { order_id: 'o-1', amount: 42 }).toFixed(1)} s`);
}
