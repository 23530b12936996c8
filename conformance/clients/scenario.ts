// What a client scenario is, and what it may use while it runs: the scenario server (the
// reference server, reached directly with the admin key), the fault layer in front of it (the only
// address the program under test knows), and the program itself, started once with the context.
import type { Level } from '../case.js';
import type { ClientScenarioContext, DeliveryPolicy } from '../../schemas/types.js';
import type { DriverProcess } from './driver.js';
import type { Exchange, FaultProxy, Script } from './proxy.js';

export type ClientRole = ClientScenarioContext['role'];
export const CLIENT_ROLES: readonly ClientRole[] = ['sender', 'observer', 'wait_for', 'receiver', 'webhook_verifier'];

export interface ClientScenario {
  /** Stable `<GROUP>-<NNN>`, e.g. `SEND-002`. */
  id: string;
  /** Passed as AXP_CONFORMANCE_SCENARIO. */
  name: string;
  /** Report group: the role's name. */
  group: string;
  role: ClientRole;
  title: string;
  level: Level;
  /** CLI-… requirement IDs from spec/17-clients.md that the scenario proves. */
  requirements: string[];
  /** Bound in ms before --timeout-scale (default 20000); past it the program is ended and the scenario fails. */
  timeoutMs?: number;
  run(s: ScenarioRun): Promise<void>;
}

export interface RegisteredAgent {
  address: string;
  key: string;
  secret?: string;
}

/** The scenario server as the kit reaches it: directly, with the admin key, never through the fault layer. */
export interface ScenarioServer {
  readonly url: string;
  registerAgent(label: string, delivery: DeliveryPolicy): Promise<RegisteredAgent>;
  /** Creates an intent as `key`'s agent; returns its intent_id. */
  sendIntent(key: string, body: Record<string, unknown>): Promise<string>;
  /** One poll for the agent (wait_seconds 0 unless given). */
  poll(agent: RegisteredAgent, waitSeconds?: number): Promise<any[]>;
  /** POST /v1/intents/{id}/{action} as `key`; returns status and body. */
  write(key: string, intentId: string, action: 'ack' | 'resume' | 'resolve' | 'cancel', body?: unknown): Promise<{ status: number; body: any }>;
  intent(intentId: string): Promise<any>;
  events(intentId: string): Promise<any[]>;
  /** Intents `key`'s agent sent. */
  sentBy(key: string): Promise<any[]>;
  advanceClock(ms: number): Promise<void>;
}

export interface ScenarioRun {
  readonly server: ScenarioServer;
  readonly proxy: FaultProxy;
  /** Random inputs from the run's seed (payloads, addresses). */
  random(): number;
  timeoutScale: number;
  /** The capabilities the program declared. */
  webhookSchemes: Array<'standard-webhooks' | 'axme'>;
  receiverBindings: Array<'stream' | 'poll'>;
  /** Sets the fault layer's script (before start). */
  script(script: Script): void;
  /** Starts the program once with the context and AXP_API_KEY = key. */
  start(context: Omit<ClientScenarioContext, 'scenario' | 'scenario_id' | 'role' | 'base_url'>, key: string): DriverProcess;
  /** Requests the program sent, in order, optionally only those matching. */
  requests(match?: (e: Exchange) => boolean): Exchange[];
  /** Waits on a condition over what the fault layer saw and the program printed, checked on every change, bounded (scaled); undefined when it did not come. */
  seen<T>(probe: () => T | undefined, timeoutMs?: number): Promise<T | undefined>;
  note(text: string): void;
}
