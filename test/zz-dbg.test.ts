import { it } from 'vitest';
import { buildServer } from '../reference-server/index.js';
import { MemoryStore } from '../reference-server/store/memory.js';
it('dbg', async () => {
  const app = await buildServer({ store: new MemoryStore(), adminKey: 'fuzz-admin-key-0123456789', testClock: true });
  await app.ready();
  const r = await app.inject({ method: 'PUT', url: '/v1/agents/fuzz/sender', headers: { 'x-api-key': 'fuzz-admin-key-0123456789' }, payload: { delivery: { binding: 'poll' } } });
  console.log(r.statusCode, r.body);
  const k = r.json().api_key;
  const c = await app.inject({ method: 'POST', url: '/v1/intents', headers: { 'x-api-key': k }, payload: { intent_type: 'fuzz.v1', to_agent: 'agent://fuzz/receiver', payload: {} } });
  console.log(c.statusCode, c.body.slice(0, 300));
  const l = await app.inject({ method: 'GET', url: '/v1/intents?limit=500', headers: { 'x-api-key': 'fuzz-admin-key-0123456789' } });
  console.log(l.statusCode, l.body.slice(0, 300));
  await app.close();
});
