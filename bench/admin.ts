// The few plain HTTP calls the benches make outside their load workers: one JSON request, and an
// agent registered with the admin key (the bench and the cluster bench both set agents up this way).
import { request } from 'undici';
import type { AgentKey } from './protocol.js';

export async function call(base: string, method: 'PUT' | 'POST', path: string, key: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await request(`${base}${path}`, { method, headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
  return { status: res.statusCode, text: await res.body.text() };
}

export async function registerAgent(base: string, adminKey: string, address: string, binding: string): Promise<AgentKey> {
  const res = await call(base, 'PUT', `/v1/agents/${address.slice('agent://'.length)}`, adminKey, { delivery: { binding } });
  if (res.status !== 200) throw new Error(`register ${address}: ${res.status} ${res.text}`);
  const key = (JSON.parse(res.text) as { api_key?: string }).api_key;
  if (!key) throw new Error(`register ${address}: the agent already existed, no api_key returned`);
  return { address, key };
}
