// Where every example finds the server and its agent key.
//   AXP_URL        server root (default http://127.0.0.1:8080)
//   AXP_KEY        this agent's key, if you already have one
//   AXP_ADMIN_KEY  otherwise: the example registers its agent itself and takes a fresh key
// Start a local server with:  npx axp-server --store memory --admin-key dev-admin-key --allow-private-callbacks
import { AxpClient, type DeliveryPolicy } from '../client/index.js';

export const baseUrl = process.env.AXP_URL ?? 'http://127.0.0.1:8080';

export interface Agent {
  client: AxpClient;
  /** The http signing secret, when this run registered an http agent. */
  secret?: string;
}

export async function connectAgent(address: string, delivery: DeliveryPolicy): Promise<Agent> {
  if (process.env.AXP_KEY) return { client: new AxpClient({ baseUrl, apiKey: process.env.AXP_KEY }), secret: process.env.AXP_SECRET };
  const admin = new AxpClient({ baseUrl, apiKey: process.env.AXP_ADMIN_KEY ?? 'dev-admin-key' });
  // Keys are shown once; rotating on every run lets an example be started again and again.
  const registered = await admin.registerAgent(address, delivery, { rotate_key: true, rotate_secret: delivery.binding === 'http' });
  return { client: admin.withKey(registered.api_key as string), secret: registered.secret };
}

/** Runs until Ctrl-C (or SIGTERM), then aborts the signal so loops end cleanly. */
export function untilStopped(): AbortSignal {
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  return stop.signal;
}
