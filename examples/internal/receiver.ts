// internal binding: the platform itself is the receiver, so there is no code to run here; we only
// register the agent. Intents of type intent.internal.delay.v1 sent to it complete after {seconds}.
//   npx tsx examples/internal/receiver.ts
import { AxpClient } from '../../client/index.js';
import { baseUrl } from '../setup.js';

const admin = new AxpClient({ baseUrl, apiKey: process.env.AXP_ADMIN_KEY ?? 'dev-admin-key' });
const { agent } = await admin.registerAgent('agent://examples/internal/timer', { binding: 'internal' });
const { supported_intent_types } = await admin.capabilities();
console.log(`registered ${agent.address}; the server handles ${supported_intent_types.join(', ')}`);
