// The scenario server: the reference server booted in process through the kit's one door
// (conformance/embedded.ts), reached directly with the admin key to set a scenario up, move an
// intent along and read what happened, never through the fault layer the program talks to.
import { startEmbedded, type EmbeddedServer } from '../embedded.js';
import type { DeliveryPolicy } from '../../schemas/types.js';
import type { RegisteredAgent, ScenarioServer } from './scenario.js';

export class ScenarioServerError extends Error {
  override readonly name = 'ScenarioServerError';
}

export class EmbeddedScenarioServer implements ScenarioServer {
  private counter = 0;

  private constructor(private readonly embedded: EmbeddedServer, private readonly runId: string) {}

  static async start(runId: string): Promise<EmbeddedScenarioServer> {
    return new EmbeddedScenarioServer(await startEmbedded(), runId);
  }

  get url(): string {
    return this.embedded.url;
  }

  get adminKey(): string {
    return this.embedded.adminKey;
  }

  close(): Promise<void> {
    return this.embedded.close();
  }

  private async call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.embedded.url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed };
  }

  private async ok(method: string, path: string, key: string, body?: unknown): Promise<any> {
    const res = await this.call(method, path, key, body);
    if (res.status !== 200) throw new ScenarioServerError(`scenario set-up: ${method} ${path} answered ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async registerAgent(label: string, delivery: DeliveryPolicy): Promise<RegisteredAgent> {
    const address = `agent://client-kit/${this.runId}/${label}-${++this.counter}`;
    const answer = await this.ok('PUT', `/v1/agents/${address.slice('agent://'.length)}`, this.adminKey, { delivery });
    return { address, key: answer.api_key as string, secret: answer.secret as string | undefined };
  }

  async sendIntent(key: string, body: Record<string, unknown>): Promise<string> {
    return (await this.ok('POST', '/v1/intents', key, body)).intent_id as string;
  }

  async poll(agent: RegisteredAgent, waitSeconds = 0): Promise<any[]> {
    return (await this.ok('GET', `/v1/agents/${agent.address.slice('agent://'.length)}/intents?wait_seconds=${waitSeconds}`, agent.key)).deliveries as any[];
  }

  write(key: string, intentId: string, action: 'ack' | 'resume' | 'resolve' | 'cancel', body: unknown = {}): Promise<{ status: number; body: any }> {
    return this.call('POST', `/v1/intents/${intentId}/${action}`, key, body);
  }

  async intent(intentId: string): Promise<any> {
    return (await this.ok('GET', `/v1/intents/${intentId}`, this.adminKey)).intent;
  }

  async events(intentId: string): Promise<any[]> {
    return (await this.ok('GET', `/v1/intents/${intentId}/events?since=0`, this.adminKey)).events as any[];
  }

  async sentBy(key: string): Promise<any[]> {
    return (await this.ok('GET', '/v1/intents?role=sender&limit=500', key)).intents as any[];
  }

  async advanceClock(ms: number): Promise<void> {
    await this.ok('POST', '/v1/_test/clock', this.adminKey, { advance_ms: ms });
  }
}
