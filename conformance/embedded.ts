// The kit's one door into reference-server/: with no --target, boot the reference server in this
// process on a free loopback port (memory store, test clock on) and run against it. The import is
// dynamic so a run against a remote target never loads the server.
import { randomBytes } from 'node:crypto';

export interface EmbeddedServer {
  url: string;
  adminKey: string;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  adminKey?: string;
  /** Extra buildServer options (e.g. `{ store: 'sqlite', sqlitePath }`), over the defaults. */
  serverOptions?: Record<string, unknown>;
}

export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const adminKey = options.adminKey ?? `adm_${randomBytes(18).toString('base64url')}`;
  const { buildServer } = await import('../reference-server/index.js');
  const serverOptions = {
    store: 'memory',
    adminKey,
    testClock: true,
    allowPrivateCallbacks: true,
    logger: false,
    // Short keepalives so a case can observe them within its bounds (SSE keepalive requirement).
    keepaliveSeconds: 2,
    // The kit and the embedded server share one event loop: the kit's own work must never make the
    // server shed load as if it were overloaded.
    pressure: { maxEventLoopDelayMs: 0 },
    ...options.serverOptions,
  } as Parameters<typeof buildServer>[0];
  const app = await buildServer(serverOptions);
  let url: string;
  try {
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await app.close();
    throw err;
  }
  return { url, adminKey, close: async () => void (await app.close()) };
}
