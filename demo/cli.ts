#!/usr/bin/env node
// npx axp-demo [--target URL] [--admin-key KEY] [--scenario FILE]
// Without --target it boots the reference server in this process (memory store, port 0).
import { Command } from 'commander';
import pc from 'picocolors';
import { AxpClient } from '../client/index.js';
import { applyScenario, loadScenario } from './scenario.js';
import { runStory } from './story.js';

const program = new Command()
  .name('axp-demo')
  .description('Watch intents replace webhooks: a payment with retries and one intent per binding, live.')
  .option('--target <url>', 'a running AXP server (default: boot the reference server in-process)')
  .option('--admin-key <key>', 'admin key of the target (env AXP_ADMIN_KEY)')
  .option('--scenario <file>', 'register the agents and send the intents of a scenario file, print the keys')
  .parse();
const opts = program.opts<{ target?: string; adminKey?: string; scenario?: string }>();
const log = (line: string) => console.log(line);

async function embeddedServer(adminKey: string): Promise<{ url: string; close(): Promise<void> }> {
  const { buildServer } = await import('../reference-server/index.js');
  const app = await buildServer({ store: 'memory', adminKey, allowPrivateCallbacks: true, logger: false });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

async function main(): Promise<number> {
  const adminKey = opts.adminKey ?? process.env.AXP_ADMIN_KEY ?? (opts.target ? undefined : `demo-admin-${process.pid}`);
  if (!adminKey) throw new Error('--target needs --admin-key (or AXP_ADMIN_KEY)');
  const server = opts.target ? undefined : await embeddedServer(adminKey);
  const baseUrl = opts.target ?? (server as { url: string }).url;
  const admin = new AxpClient({ baseUrl, apiKey: adminKey });
  log(pc.dim(`${server ? 'embedded reference server' : 'target'} at ${baseUrl}`));
  try {
    await admin.health();
    if (opts.scenario) {
      await applyScenario(admin, loadScenario(opts.scenario), log);
      if (!server) return 0;
      // The embedded server lives in this process: keep it up so the printed keys are usable.
      log(`\nserver running at ${baseUrl} (admin key ${adminKey}); inbox page at ${baseUrl}/inbox — Ctrl-C to stop`);
      await new Promise((resolve) => ['SIGINT', 'SIGTERM'].forEach((s) => process.once(s, resolve)));
      return 0;
    }
    const ok = await runStory(admin, log);
    log(ok ? pc.green('\nall intents reached their expected status') : pc.red('\nsome intents did not reach their expected status'));
    return ok ? 0 : 1;
  } finally {
    await server?.close();
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(pc.red(`axp-demo: ${error instanceof Error ? error.message : String(error)}`));
  process.exit(1);
});
