#!/usr/bin/env node
// npx axp-server [--port 8080] [--host 127.0.0.1] [--store sqlite:./axp.db | memory | postgres://USER@HOST:PORT/DB] [--admin-key KEY | --rotate-admin-key] …
import { Command, InvalidArgumentError } from 'commander';
import { buildServer } from './app.js';
import { SERVER_VERSION } from './limits.js';

const integer = (min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
  return n;
};

const program = new Command()
  .name('axp-server')
  .description('AXP reference server')
  .version(SERVER_VERSION)
  .option('--port <port>', 'port to listen on (0 = any free port)', integer(0, 65535), 8080)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--store <store>', 'sqlite:<file>, memory, or postgres://USER@HOST:PORT/DB (several processes may share one database)', 'sqlite:./axp.db')
  .option('--admin-key <key>', 'admin API key (env AXP_ADMIN_KEY); a durable store keeps its hash, so later starts need no flag. Absent: the kept one, or a generated one printed once')
  .option('--rotate-admin-key', 'replace the kept admin key with a generated one, printed once (the old one then answers 401)', false)
  .option('--test-clock', 'enable the test-clock extension (POST /v1/_test/clock)', false)
  .option('--allow-private-callbacks', 'allow http callback URLs on private, loopback and link-local addresses', false)
  .option('--strict-addresses', 'refuse intents to unregistered agents (404 agent_not_found)', false)
  .option('--keepalive-seconds <n>', 'seconds between SSE keepalive comments', integer(1, 15), 15)
  .option('--log', 'log requests (JSON lines on stdout)', false)
  .option('--max-event-loop-delay <ms>', 'answer 503 overloaded beyond this mean event-loop delay (0 = off)', integer(0, 60_000), 1000)
  .option('--max-rss-mb <mb>', 'answer 503 overloaded beyond this resident memory (0 = off)', integer(0, 1_048_576), 0)
  .option('--rate-limit <n>', 'per-key limit, requests per minute (429 rate_limited); off when absent', integer(1, 1_000_000))
  .option('--fault <names>', 'switch on a fault mode, a deliberate bug for testing conformance kits (needs AXP_ALLOW_FAULTS=1); repeatable or comma-separated', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--list-faults', 'print every fault mode (name and description) and exit', false);

program.parse();
const opts = program.opts<{
  port: number; host: string; store: string; adminKey?: string; rotateAdminKey: boolean; testClock: boolean;
  allowPrivateCallbacks: boolean; strictAddresses: boolean; keepaliveSeconds: number; log: boolean;
  maxEventLoopDelay: number; maxRssMb: number; rateLimit?: number; fault: string[]; listFaults: boolean;
}>();

// Fault modes live outside the server (reference-server-faults/): loaded only when asked for.
const faulty = opts.listFaults || opts.fault.length > 0 ? await import('../reference-server-faults/index.js') : undefined;
if (faulty && opts.listFaults) {
  console.log(faulty.faultListing());
  process.exit(0);
}
if (faulty) {
  try {
    faulty.resolveFaults(opts.fault);
  } catch (error) {
    if (!(error instanceof faulty.FaultsNotAllowedError)) throw error;
    console.error(`axp-server: ${error.message}`);
    process.exit(2);
  }
}

const adminKey = opts.adminKey ?? process.env.AXP_ADMIN_KEY;
const app = await (faulty?.buildServer ?? buildServer)({
  store: opts.store, adminKey, rotateAdminKey: opts.rotateAdminKey, testClock: opts.testClock, allowPrivateCallbacks: opts.allowPrivateCallbacks,
  strictAddresses: opts.strictAddresses, keepaliveSeconds: opts.keepaliveSeconds, logger: opts.log,
  pressure: { maxEventLoopDelayMs: opts.maxEventLoopDelay, maxRssBytes: opts.maxRssMb * 1024 * 1024 },
  rateLimit: opts.rateLimit ? { max: opts.rateLimit } : undefined,
  ...(faulty ? { faults: opts.fault } : {}),
});
const url = await app.listen({ port: opts.port, host: opts.host });
console.log(`axp-server listening on ${url}`);
if (opts.fault.length > 0) console.log(`axp-server: FAULT MODES ON (deliberately non-conformant): ${opts.fault.join(', ')}`);
const { adminKeyOrigin } = app.axp.settings;
const kept = app.axp.store.readSetting !== undefined;
if (adminKeyOrigin === 'generated' || adminKeyOrigin === 'rotated') {
  console.log(`admin key (shown once): ${app.axp.settings.adminKey}`);
  if (kept) console.log('axp-server: the store keeps its SHA-256 hash; later starts accept the same key (--rotate-admin-key replaces it)');
} else if (adminKeyOrigin === 'stored') {
  console.log('axp-server: admin key: the one printed by an earlier start (the store keeps its hash); --admin-key KEY or --rotate-admin-key replaces it');
}

let closing = false;
const stop = (signal: string) => {
  if (closing) return;
  closing = true;
  console.log(`axp-server: ${signal}, shutting down`);
  app.close().then(() => process.exit(0), (error: unknown) => { console.error(error); process.exit(1); });
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
