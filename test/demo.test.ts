// npx axp-demo: the story on the embedded server exits 0 with every intent COMPLETED; scenario
// files are validated, applied to a target, and their printed keys work.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxpClient } from '../client/index.js';
import { ScriptProcess } from './helpers/example-process.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

describe('axp-demo', () => {
  it('runs the payment story and one intent per binding on the embedded server, then exits 0', async () => {
    const demo = new ScriptProcess('demo/cli.ts', [], {});
    expect(await demo.exitCode(30_000), demo.output).toBe(0);
    const out = demo.output;
    expect(out).toMatch(/^payment .* intent\.delivery_attempt .* attempt 1 failed: .*retry in \d+\.\d s/m);
    expect(out).toMatch(/^payment .* attempt 2 failed/m);
    expect(out).toMatch(/^inbox .* intent\.human_task_assigned .* WAITING_FOR_HUMAN/m);
    for (const binding of ['http', 'stream', 'poll', 'inbox', 'internal']) {
      expect(out).toMatch(new RegExp(`^\\S+ +${binding} +[0-9a-f]{8} +COMPLETED `, 'm'));
    }
    expect(out).toMatch(/^payment +http +[0-9a-f]{8} +COMPLETED +3 /m);
  });
});

describe('axp-demo --scenario', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('memory', { allowPrivateCallbacks: true });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('registers the agents, sends the intents and prints keys that work', async () => {
    const demo = new ScriptProcess('demo/cli.ts', ['--target', server.url, '--admin-key', ADMIN_KEY, '--scenario', 'fixtures/scenarios/approvals.json'], {});
    expect(await demo.exitCode(), demo.output).toBe(0);
    const [, key] = /agent:\/\/acme\/prod\/approvals +inbox +(axp_\S+)/.exec(demo.output) ?? [];
    expect(key).toBeDefined();
    expect(demo.lines.filter((l) => /^ {2}[0-9a-f-]{36} /.test(l))).toHaveLength(3);
    const approvals = new AxpClient({ baseUrl: server.url, apiKey: key });
    const threads = await approvals.inbox.list();
    expect(threads.map((t) => t.human_task?.title).sort()).toEqual(['Approve a $129 expense', 'Deploy checkout 4.2.0 to production?', 'Review the Globex MSA']);
  });

  it('refuses a file that breaks the scenario schema, naming the place', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'axp-scenario-')), 'bad.json');
    writeFileSync(file, JSON.stringify({ agents: [{ address: 'agent://a/b', delivery: { binding: 'carrier-pigeon' } }] }));
    const demo = new ScriptProcess('demo/cli.ts', ['--target', server.url, '--admin-key', ADMIN_KEY, '--scenario', file], {});
    expect(await demo.exitCode()).toBe(1);
    expect(demo.output).toContain('/agents/0/delivery/binding');
  });

  it('on the embedded server, keeps serving after printing the keys until stopped', async () => {
    const demo = new ScriptProcess('demo/cli.ts', ['--scenario', 'fixtures/scenarios/shop.json'], {});
    const [, url] = await demo.waitForLine(/^server running at (\S+) /);
    const [, key] = await demo.waitForLine(/agent:\/\/shop\/prod\/approvals +inbox +(axp_\S+)/);
    const threads = await new AxpClient({ baseUrl: url, apiKey: key }).inbox.list();
    expect(threads[0]?.human_task?.required_comment).toBe(true);
    expect(await demo.stop()).toBe(0);
  });
});
