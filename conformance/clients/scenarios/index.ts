// Every client scenario, in the order the spec's client chapter lists the roles.
import type { ClientScenario } from '../scenario.js';
import { observerScenarios } from './observer.js';
import { receiverScenarios } from './receiver.js';
import { senderScenarios } from './sender.js';
import { webhookScenarios } from './webhooks.js';

export function clientScenarios(): ClientScenario[] {
  return [...senderScenarios, ...observerScenarios, ...receiverScenarios, ...webhookScenarios];
}
