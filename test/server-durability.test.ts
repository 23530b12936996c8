// SQLite durability: a restart on the same file keeps every acknowledged intent and event, and
// kill -9 during a write burst loses nothing that was answered (group commit replies after COMMIT).
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startServer, tempDbFile, uniqueAddress } from './helpers/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function spawnServer(file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'reference-server/cli.ts', '--port', '0', '--store', `sqlite:${file}`, '--admin-key', ADMIN_KEY], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve({ child, url: match[1] });
    });
    child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

describe('SQLite durability', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => { for (const c of cleanups.splice(0)) c(); });

  it('keeps every acknowledged intent and event across a restart', async () => {
    const { dir, file } = tempDbFile();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startServer('sqlite', { file });
    const receiver = uniqueAddress('poll');
    const key = await first.registerAgent(receiver, { binding: 'poll' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await first.send(ADMIN_KEY, receiver)).body.intent_id);
    await first.request('POST', `/v1/intents/${ids[0]}/resolve`, { key, body: { status: 'COMPLETED', result: { ok: 1 } } });
    const before = await Promise.all(ids.map(async (id) => (await first.request('GET', `/v1/intents/${id}/events`)).body.events));
    await first.close();

    const second = await startServer('sqlite', { file });
    try {
      const after = await Promise.all(ids.map(async (id) => (await second.request('GET', `/v1/intents/${id}/events`)).body.events));
      expect(after).toEqual(before);
      expect((await second.request('GET', `/v1/intents/${ids[0]}`, { key })).body.status).toBe('COMPLETED');
      // The agent's key and cursor survive too: the next delivery continues the agent seq.
      const polled = await second.request('GET', `/v1/agents/${receiver.replace('agent://', '')}/intents?limit=10`, { key });
      expect(polled.body.deliveries.map((d: { seq: number }) => d.seq)).toEqual([1, 2, 3, 4]);
    } finally {
      await second.close();
    }
  });

  it('loses nothing that was answered when the process is killed with SIGKILL mid-burst', { timeout: 90_000 }, async () => {
    const { dir, file } = tempDbFile();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { child, url } = await spawnServer(file);
    cleanups.push(() => child.kill('SIGKILL'));
    const headers = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' };
    const receiver = uniqueAddress('poll');
    const reg = await fetch(`${url}/v1/agents/${receiver.replace('agent://', '')}`, { method: 'PUT', headers, body: JSON.stringify({ delivery: { binding: 'poll' } }) });
    expect(reg.status).toBe(200);

    const created: string[] = [];
    const completed: string[] = [];
    let killed = false;
    let enough: () => void = () => {};
    const answeredEnough = new Promise<void>((resolve) => { enough = resolve; });
    const worker = async () => {
      while (!killed) {
        try {
          const res = await fetch(`${url}/v1/intents`, { method: 'POST', headers, body: JSON.stringify({ intent_type: 'test.burst.v1', to_agent: receiver, payload: { n: created.length } }) });
          if (res.status !== 200) continue;
          const id = ((await res.json()) as { intent_id: string }).intent_id;
          created.push(id);
          const done = await fetch(`${url}/v1/intents/${id}/resolve`, { method: 'POST', headers, body: JSON.stringify({ status: 'COMPLETED' }) });
          if (done.status === 200) {
            await done.json();
            completed.push(id);
            if (completed.length >= 40) enough();
          }
        } catch {
          return; // the connection died with the process
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    // Kill once a good number of writes have been answered, while more are in flight.
    const workersDone = Promise.all(workers);
    await Promise.race([answeredEnough, workersDone]);
    expect(completed.length).toBeGreaterThanOrEqual(40);
    killed = true;
    child.kill('SIGKILL');
    await workersDone;
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));

    const restarted = await startServer('sqlite', { file });
    try {
      for (const id of created) {
        const res = await restarted.request('GET', `/v1/intents/${id}`);
        expect(res.status, id).toBe(200);
      }
      for (const id of completed) {
        const events = (await restarted.request('GET', `/v1/intents/${id}/events`)).body.events as { seq: number; event_type: string }[];
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        expect(events[events.length - 1].event_type).toBe('intent.completed');
      }
    } finally {
      await restarted.close();
    }
  });
});
