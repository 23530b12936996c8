// The agents a case plays. By default the kit registers a fresh agent per case and role with the
// admin key (run-unique address, so runs never collide on a shared target); with --agents FILE it
// takes pre-provisioned ones, and a role the file lacks makes the case not applicable.
import { readFile } from 'node:fs/promises';
import { validate } from '../schemas/index.js';
import { Blocked, NotApplicable, type AgentNeed, type Receiver, type RegisteredAgent } from './case.js';
import type { CaseClient } from './client.js';
import { UsageError } from './errors.js';

export interface AgentsFileEntry {
  role: string;
  address: string;
  api_key: string;
  secret?: string;
  delivery: { binding: string; url?: string; [setting: string]: unknown };
}

export interface AgentsFile {
  agents: AgentsFileEntry[];
}

export function parseAgentsFile(data: unknown, source = 'agents file'): AgentsFile {
  const result = validate('agents-file', data);
  if (!result.ok) {
    const details = result.errors.map((e) => `${e.pointer || '/'} ${e.message}`).join('; ');
    throw new UsageError(`${source} does not match schemas/agents-file.schema.json: ${details}`);
  }
  return data as AgentsFile;
}

export async function loadAgentsFile(file: string): Promise<AgentsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --agents ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--agents ${file} is not JSON: ${(err as Error).message}`);
  }
  return parseAgentsFile(data, file);
}

export function addressPath(address: string): string {
  return address.replace(/^agent:\/\//, '');
}

/** A segment of at most 63 characters from [a-z0-9._-], starting with a letter or digit (TERM-001). */
function segment(text: string): string {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
  return (cleaned || 'x').slice(0, 63);
}

/** Agent registration (PUT /v1/agents/{address}): what a refused registration blocks on. */
export const REGISTRATION_REQUIREMENTS = ['AGT-001'];
const REGISTRATION = REGISTRATION_REQUIREMENTS;

export interface AgentPoolOptions {
  runId: string;
  adminKey?: string;
  file?: AgentsFile;
}

export class AgentPool {
  private readonly counters = new Map<string, number>();

  constructor(private readonly options: AgentPoolOptions) {}

  /** The ctx.agent() of one case. */
  forCase(caseId: string, client: CaseClient): (need: AgentNeed, receiver?: Receiver) => Promise<RegisteredAgent> {
    return (need, receiver) => (this.options.file ? this.fromFile(need, client, receiver) : this.register(caseId, need, client, receiver));
  }

  private async register(caseId: string, need: AgentNeed, client: CaseClient, receiver?: Receiver): Promise<RegisteredAgent> {
    const adminKey = this.options.adminKey;
    if (!adminKey) throw new NotApplicable(`needs an agent (role ${need.role}): give --admin-key so the kit can register it, or --agents FILE`);
    const counterKey = `${caseId}/${need.role}`;
    const n = (this.counters.get(counterKey) ?? 0) + 1;
    this.counters.set(counterKey, n);
    const address = `agent://${segment(`conf-${this.options.runId}`)}/${segment(`${caseId}-${need.role}-${n}`)}`;
    const delivery: Record<string, unknown> = { ...need.delivery };
    if (receiver && need.delivery.binding === 'http') delivery.url = receiver.url;
    const res = await client.request({
      method: 'PUT',
      path: `/v1/agents/${addressPath(address)}`,
      key: adminKey,
      json: { delivery },
      expectSchema: 'agent-registration-response',
    });
    // Only the fields this needs are read (api_key, and the secret when given); the answer's full
    // shape is the response-conformance cases' business (the client records any violation).
    if (res.status !== 200) throw new Blocked(`registering agent ${address} (role ${need.role}) answered ${res.status}${res.body?.code ? ` ${String(res.body.code)}` : ''}`, REGISTRATION);
    const body = (res.body ?? {}) as { api_key?: unknown; secret?: unknown; agent?: { delivery?: unknown } };
    if (typeof body.api_key !== 'string' || body.api_key.length === 0) throw new Blocked(`registering agent ${address} (role ${need.role}) returned no api_key`, REGISTRATION);
    const echoed = body.agent?.delivery;
    return {
      role: need.role,
      address,
      path: addressPath(address),
      key: body.api_key,
      secret: typeof body.secret === 'string' ? body.secret : undefined,
      delivery: echoed !== null && typeof echoed === 'object' ? (echoed as Record<string, unknown>) : delivery,
    };
  }

  private async fromFile(need: AgentNeed, client: CaseClient, receiver?: Receiver): Promise<RegisteredAgent> {
    const entry = this.options.file?.agents.find((a) => a.role === need.role);
    if (!entry) throw new NotApplicable(`needs an agent with role "${need.role}" (binding ${need.delivery.binding}), which --agents does not list`);
    if (entry.delivery.binding !== need.delivery.binding) {
      throw new NotApplicable(`needs role "${need.role}" on binding ${need.delivery.binding}; --agents gives binding ${entry.delivery.binding}`);
    }
    let delivery: Record<string, unknown> = entry.delivery;
    if (receiver && need.delivery.binding === 'http' && entry.delivery.url !== receiver.url) {
      if (!this.options.adminKey) {
        throw new NotApplicable(`role "${need.role}" must push to the kit's receiver (${receiver.url}); give --admin-key so the kit can point it there`);
      }
      delivery = { ...entry.delivery, url: receiver.url };
      const res = await client.request({
        method: 'PUT',
        path: `/v1/agents/${addressPath(entry.address)}`,
        key: this.options.adminKey,
        json: { delivery },
        expectSchema: 'agent-registration-response',
      });
      if (res.status !== 200) throw new Blocked(`pointing agent ${entry.address} at the receiver answered ${res.status}`, REGISTRATION);
    }
    return { role: entry.role, address: entry.address, path: addressPath(entry.address), key: entry.api_key, secret: entry.secret, delivery };
  }
}
