// SEC-007..SEC-010: API keys are stored only as hashes (read the SQLite file itself), key checks
// compare in constant time (timingSafeEqual over the hash), and no key or signing secret ever
// reaches the logs, even at debug level through a full flow.
import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as crypto from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Authenticator } from '../reference-server/auth.js';
import { MemoryStore } from '../reference-server/store/memory.js';
import { ADMIN_KEY, startServer, uniqueAddress, type TestServer } from './helpers/server.js';
import { Receiver } from './helpers/receiver.js';
import { nextEvent } from './helpers/events.js';

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

const agentPath = (address: string) => `/v1/agents/${address.replace('agent://', '')}`;

describe('key comparison', () => {
  afterEach(() => vi.mocked(crypto.timingSafeEqual).mockClear());

  it('compares the admin key with timingSafeEqual over equal-length hashes, for right and wrong keys', async () => {
    const auth = new Authenticator('admin-key-0123456789', new MemoryStore());
    await expect(auth.authenticate({ 'x-api-key': 'admin-key-0123456789' })).resolves.toMatchObject({ admin: true });
    await expect(auth.authenticate({ 'x-api-key': 'admin-key-012345678X' })).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(auth.authenticate({ authorization: 'Bearer a' })).rejects.toMatchObject({ code: 'unauthorized' });
    const calls = vi.mocked(crypto.timingSafeEqual).mock.calls;
    expect(calls).toHaveLength(3);
    for (const [a, b] of calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });
});

describe('keys at rest and in logs', () => {
  let server: TestServer | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    await server?.dispose();
  });

  it('stores agent keys only as SHA-256 hashes; no key or secret is ever logged', async () => {
    const lines: string[] = [];
    server = await startServer('sqlite', { allowPrivateCallbacks: true, logger: { level: 'debug', stream: { write: (line: string) => { lines.push(line); } } } });
    receiver = await Receiver.start(() => 200);
    const keys: string[] = [];
    const secrets: string[] = [];

    const senderAddress = uniqueAddress('sec-sender');
    keys.push(await server.registerAgent(senderAddress, { binding: 'poll' }));
    const httpAddress = uniqueAddress('sec-http');
    const registered = await server.request('PUT', agentPath(httpAddress), { body: { delivery: { binding: 'http', url: receiver.url, timeout_ms: 2000 } } });
    keys.push(registered.body.api_key);
    secrets.push(registered.body.secret);

    // A full flow: push, ack by 2xx, resolve by the receiver, rotations, failed auth attempts.
    const id = (await server.send(keys[0], httpAddress)).body.intent_id as string;
    await nextEvent(server, id, (e) => e.event_type === 'intent.acknowledged');
    expect((await server.request('POST', `/v1/intents/${id}/resolve`, { key: keys[1], body: { status: 'COMPLETED', result: {} } })).status).toBe(200);
    const rotated = await server.request('PUT', agentPath(httpAddress), { body: { delivery: { binding: 'http', url: receiver.url }, rotate_key: true, rotate_secret: true } });
    keys.push(rotated.body.api_key);
    secrets.push(rotated.body.secret);
    const second = (await server.send(keys[0], httpAddress)).body.intent_id as string;
    await nextEvent(server, second, (e) => e.event_type === 'intent.acknowledged');
    expect((await server.request('GET', `/v1/intents/${second}`, { key: keys[1] })).status).toBe(401);
    const wrongKey = 'axp_wrong0123456789abcdefghijkl';
    expect((await server.request('GET', `/v1/intents/${second}`, { key: null, headers: { authorization: `Bearer ${wrongKey}` } })).status).toBe(401);
    expect((await server.request('GET', `/v1/intents/${second}`, { key: keys[2] })).status).toBe(200);
    expect((await server.request('PUT', agentPath(uniqueAddress('sec-x')), { key: keys[0], body: { delivery: { binding: 'poll' } } })).status).toBe(403);
    expect(receiver.pushes.length).toBeGreaterThanOrEqual(2);

    const file = server.storeSpec.slice('sqlite:'.length);
    await server.close();

    // The logs were written (at debug level) and carry none of the credentials.
    const log = lines.join('');
    expect(log).toContain('incoming request');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of [ADMIN_KEY, wrongKey, ...keys, ...secrets, ...secrets.map((s) => s.slice('whsec_'.length))]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(log.includes(secret), `a credential appears in the logs: ${secret.slice(0, 8)}…`).toBe(false);
    }

    // At rest: the hash, never the key (nor the admin key), in any page of the database or its WAL.
    const raw = [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('');
    for (const key of [ADMIN_KEY, ...keys]) expect(raw.includes(key), 'an API key is stored in clear').toBe(false);
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT address, key_hash FROM agents').all() as { address: string; key_hash: string }[];
      const byAddress = new Map(rows.map((r) => [r.address, r.key_hash]));
      const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
      expect(byAddress.get(senderAddress)).toBe(sha256(keys[0]));
      expect(byAddress.get(httpAddress)).toBe(sha256(keys[2]));
    } finally {
      db.close();
    }
  });
});
