// TEMP probe (delete): open-loop latency at a fixed rate, dumps per-intent times.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'undici';
import { ServerProc, WorkerProc, runWorkers } from './procs.js';
const [store = 'memory', rateArg = '350', secs = '10'] = process.argv.slice(2);
const ADMIN = `axp_admin_${randomBytes(8).toString('hex')}`;
const server = await ServerProc.start(['axp', store, ADMIN]);
async function reg(addr: string, binding: string) {
  const res = await request(`${server.url}/v1/agents/${addr.slice(8)}`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-api-key': ADMIN }, body: JSON.stringify({ delivery: { binding } }) });
  return { address: addr, key: (JSON.parse(await res.body.text()) as { api_key: string }).api_key };
}
const sender = await reg('agent://p/s/s1', 'poll');
const agents = await Promise.all([0, 1, 2, 3].map((i) => reg(`agent://p/r/a${i}`, 'stream')));
const body = JSON.stringify({ intent_type: 'bench.order.v1', to_agent: 'x', payload: { order_id: 'ord-000123', amount: 4200 } });
const send = WorkerProc.start({ role: 'sender', url: server.url, key: sender.key, agents: agents.map((a) => a.address), body, connections: 32, rate: Number(rateArg), record: true, observeEvery: Number(process.env.OBS ?? 10) });
const agent = WorkerProc.start({ role: 'agent', url: server.url, binding: 'stream', agents, pollersPerAgent: 1, connections: 32, record: true });
const [s, g] = await runWorkers([send, agent], 2000, Number(secs) * 1000);
await server.stop(); await new Promise((r) => setTimeout(r, 600));
const rows: [number, number, string][] = [];
for (const [id, t] of Object.entries(s.times ?? {})) { const d = g.times?.[id]; if (d !== undefined) rows.push([t, d - t, id]); }
rows.sort((a, b) => a[0] - b[0]);
const ds = rows.map((r) => r[1]).sort((a, b) => a - b);
const q = (p: number) => ds[Math.floor(p * (ds.length - 1))].toFixed(2);
console.log(`n=${ds.length} p50=${q(0.5)} p90=${q(0.9)} p99=${q(0.99)} max=${q(1)} errors=${s.errors + g.errors} ${s.firstError ?? ''} ${g.firstError ?? ''}`);
writeFileSync(`/tmp/probe/${store.replace(/\W/g, '_')}-${rateArg}.json`, JSON.stringify(rows));
const t0 = rows[0][0];
for (const r of rows) if (r[1] > 8) console.log(`  t=${(r[0] - t0).toFixed(1)} delta=${r[1].toFixed(2)}`);
process.exit(0);
