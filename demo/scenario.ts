// axp-demo --scenario FILE: validate a scenario (schemas/scenario.schema.json), register its
// agents, send its intents, and print each agent's key once (keys are never shown again).
import { readFileSync } from 'node:fs';
import pc from 'picocolors';
import { validate } from '../schemas/index.js';
import type { Scenario } from '../schemas/types.js';
import type { AxpClient } from '../client/index.js';
import { status } from './render.js';

export function loadScenario(file: string): Scenario {
  const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const result = validate('scenario', data);
  if (!result.ok) throw new Error(`${file} is not a valid scenario:\n${result.errors.map((e) => `  ${e.pointer || '/'} ${e.message}`).join('\n')}`);
  const scenario = data as Scenario;
  const known = new Set(scenario.agents.map((a) => a.address));
  for (const [i, item] of (scenario.intents ?? []).entries()) {
    if (item.from && !known.has(item.from)) throw new Error(`${file}: /intents/${i}/from names ${item.from}, which is not one of the scenario's agents`);
  }
  return scenario;
}

export interface AppliedAgent {
  address: string;
  binding: string;
  apiKey?: string;
  secret?: string;
}

export async function applyScenario(admin: AxpClient, scenario: Scenario, log: (line: string) => void): Promise<AppliedAgent[]> {
  log(pc.bold(`scenario ${scenario.name ?? '(unnamed)'}`) + (scenario.description ? pc.dim(` — ${scenario.description}`) : ''));
  const agents: AppliedAgent[] = [];
  const keys = new Map<string, string>();
  for (const agent of scenario.agents) {
    // rotate_key: an agent that already exists gets a fresh key too, so the printout is usable.
    const answer = await admin.registerAgent(agent.address, agent.delivery, { display_name: agent.display_name, metadata: agent.metadata, rotate_key: true });
    if (answer.api_key) keys.set(agent.address, answer.api_key);
    agents.push({ address: agent.address, binding: agent.delivery.binding, apiKey: answer.api_key, secret: answer.secret });
  }

  log('');
  log(pc.bold('agent keys (shown once; keep them):'));
  for (const a of agents) {
    log(`  ${a.address.padEnd(44)} ${a.binding.padEnd(8)} ${a.apiKey ?? pc.dim('(unchanged)')}${a.secret ? `  secret ${a.secret}` : ''}`);
  }

  const intents = scenario.intents ?? [];
  if (intents.length > 0) log('\n' + pc.bold('intents sent:'));
  for (const item of intents) {
    const sender = item.from ? admin.withKey(keys.get(item.from) as string) : admin;
    const sent = await sender.sendIntent(item.intent);
    log(`  ${sent.intent_id}  ${item.intent.intent_type.padEnd(28)} → ${item.intent.to_agent}  ${status(sent.status)}`);
  }
  return agents;
}
