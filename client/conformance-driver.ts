// The reference client's driver for the client kit (`axp-conformance client`, spec/17-clients.md):
// reads the scenario from the environment, performs it with AxpClient and prints what the
// application saw as JSON lines (schemas/client-driver-output.schema.json).
//   npx axp-conformance client --command "node dist/client/conformance-driver.js"
import type { ClientDriverOutput, ClientScenarioContext } from '../schemas/types.js';
import { AxpClient } from './client.js';
import { AxpError } from './errors.js';
import { isTerminal } from './paths.js';
import { verifyWebhook } from './webhooks.js';

function emit(line: ClientDriverOutput): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function emitError(error: unknown, extra: { intent_id?: string; delivery_id?: string } = {}): void {
  if (error instanceof AxpError) emit({ type: 'error', code: error.code, status: error.status, message: error.message, ...extra });
  else emit({ type: 'error', code: 'client_error', message: String((error as Error)?.message ?? error), ...extra });
}

async function main(): Promise<void> {
  const scenario = process.env.AXP_CONFORMANCE_SCENARIO;
  if (scenario === 'capabilities') {
    emit({ type: 'capabilities', roles: ['sender', 'observer', 'wait_for', 'receiver', 'webhook_verifier'], webhook_schemes: ['standard-webhooks', 'axme'], receiver_bindings: ['stream', 'poll'], sdk: 'axp-conformance-kit reference client' });
    return;
  }
  const context = JSON.parse(process.env.AXP_SCENARIO_CONTEXT ?? '{}') as ClientScenarioContext;
  const client = new AxpClient({ baseUrl: process.env.AXP_BASE_URL ?? context.base_url, apiKey: process.env.AXP_API_KEY });
  switch (context.action) {
    case 'send': {
      try {
        const { intent_id } = await client.sendIntent(context.intent!);
        emit({ type: 'sent', intent_id });
      } catch (error) {
        emitError(error);
      }
      break;
    }
    case 'observe': {
      for await (const event of client.observe(context.intent_id!)) {
        emit({ type: 'event', seq: event.seq, event_type: event.event_type, status: event.status });
        if (isTerminal(event.status)) break;
      }
      break;
    }
    case 'wait': {
      try {
        const intent = await client.waitFor(context.intent_id!);
        emit({ type: 'terminal', intent_id: intent.intent_id, status: intent.status });
      } catch (error) {
        emitError(error, { intent_id: context.intent_id });
      }
      break;
    }
    case 'receive': {
      const stop = new AbortController();
      process.once('SIGTERM', () => stop.abort());
      const agent = context.agent!;
      for await (const delivery of client.listen(agent.address, { binding: agent.binding, signal: stop.signal })) {
        emit({ type: 'delivery', intent_id: delivery.intent_id, delivery_id: delivery.delivery_id, attempt: delivery.attempt, seq: delivery.seq });
        try {
          if (context.on_delivery === 'complete') await client.resume(delivery.intent_id, { action: 'complete', result: { handled: true }, delivery_id: delivery.delivery_id });
          else await client.ack(delivery.intent_id, delivery.delivery_id);
        } catch (error) {
          // A stale delivery (409) after a redelivery, say: the newer one is on its way.
          emitError(error, { intent_id: delivery.intent_id, delivery_id: delivery.delivery_id });
        }
      }
      return;
    }
    case 'verify': {
      for (const push of context.webhooks ?? []) {
        const verdict = verifyWebhook({ secrets: push.secrets, headers: push.headers, body: push.body, toleranceSeconds: context.tolerance_seconds });
        emit({ type: 'verdict', id: push.id, valid: verdict.ok });
      }
      break;
    }
  }
  emit({ type: 'done' });
}

main().catch((error: unknown) => {
  process.stderr.write(`conformance driver: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
