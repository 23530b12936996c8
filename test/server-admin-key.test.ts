// The admin key across restarts of a durable server: the store keeps the key's SHA-256 hash, so
// the key printed by the first start keeps working; a given key replaces it, and so does a
// rotation; a memory server gets a fresh key on every start.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { buildServer, type BuildServerOptions } from '../reference-server/index.js';
import { ADMIN_KEY_SETTING } from '../reference-server/admin-key.js';
import { hashKey } from '../reference-server/auth.js';
import { tempDbFile } from './helpers/server.js';

const { dir, file } = tempDbFile();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a server on the file, returns what it settled on and the status an admin-only read gets with each key. */
async function start(options: BuildServerOptions, keys: string[]): Promise<{ key?: string; origin: string; statuses: number[] }> {
  const app = await buildServer({ store: `sqlite:${file}`, pressure: { maxEventLoopDelayMs: 0 }, ...options });
  try {
    const statuses: number[] = [];
    for (const key of keys) statuses.push((await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: { 'x-api-key': key } })).statusCode);
    return { key: app.axp.settings.adminKey, origin: app.axp.settings.adminKeyOrigin, statuses };
  } finally {
    await app.close();
  }
}

describe('admin key on a durable store (SQLite)', () => {
  // One sequence of restarts on one file: each step depends on the one before.
  it('keeps the first key across restarts; a given key and a rotation replace it', async () => {
    const first = await start({}, []);
    expect(first.origin).toBe('generated');
    const k1 = first.key!;
    expect(k1).toMatch(/^axp_admin_/);
    // Only the hash is on disk.
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT value FROM server_settings WHERE name = ?').pluck().get(ADMIN_KEY_SETTING)).toBe(hashKey(k1));
    db.close();

    const again = await start({}, [k1, 'wrong-key']);
    expect(again).toEqual({ key: undefined, origin: 'stored', statuses: [200, 401] });

    const k2 = 'a-chosen-admin-key-0123456789';
    const given = await start({ adminKey: k2 }, [k1, k2]);
    expect(given).toMatchObject({ origin: 'given', statuses: [401, 200] });
    expect((await start({}, [k1, k2])).statuses).toEqual([401, 200]);

    const rotated = await start({ rotateAdminKey: true }, [k2]);
    expect(rotated.origin).toBe('rotated');
    expect(rotated.statuses).toEqual([401]);
    expect((await start({}, [k2, rotated.key!])).statuses).toEqual([401, 200]);
  });
});

describe('admin key on the memory store', () => {
  it('is generated afresh on every start unless given', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const app = await buildServer({ store: 'memory' });
      keys.push(app.axp.settings.adminKey!);
      expect(app.axp.settings.adminKeyOrigin).toBe('generated');
      await app.close();
    }
    expect(keys[0]).not.toBe(keys[1]);
  });
});

describe('axp-server CLI: the admin key of a durable store', () => {
  const cli = fileURLToPath(new URL('../reference-server/cli.ts', import.meta.url));
  const { dir: cliDir, file: cliFile } = tempDbFile();
  afterAll(() => rmSync(cliDir, { recursive: true, force: true }));

  /** Runs the CLI until it has said what it says at start, then stops it; bounded. */
  async function startCli(extra: string[] = []): Promise<{ output: string; url: string; stop(): Promise<void> }> {
    const env = { ...process.env };
    delete env.AXP_ADMIN_KEY;
    const child = spawn(process.execPath, ['--import', 'tsx', cli, '--port', '0', '--store', `sqlite:${cliFile}`, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no start: ${output}`)); }, 20_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        // The admin key line comes right after the listening line.
        const match = /listening on (http:\/\/\S+)\n[\s\S]*admin key/.exec(output);
        if (match) { clearTimeout(timer); resolve(match[1]); }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${output}`)); });
    });
    return {
      output, url,
      async stop() {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
  }

  it('prints a generated key once; the next start accepts it without a flag', async () => {
    const first = await startCli();
    await first.stop();
    const key = /admin key \(shown once\): (\S+)/.exec(first.output)?.[1];
    expect(key).toMatch(/^axp_admin_/);
    const second = await startCli();
    try {
      expect(second.output).not.toContain(key);
      expect(second.output).toContain('admin key: the one printed by an earlier start');
      const res = await fetch(`${second.url}/v1/dead-letters`, { headers: { 'x-api-key': key! } });
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
    }
  }, 60_000);
});
