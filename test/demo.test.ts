// npx axp-demo: the story on the embedded server exits 0 with every intent COMPLETED; scenario
// files are validated, applied to a target, and their printed keys work.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxpClient } from '../client/index.js';
import { distinctTails } from '../demo/render.js';
import { ScriptProcess } from './helpers/example-process.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

describe('axp-demo', () => {
  it('runs the payment story and one intent per binding on the embedded server, then exits 0', async () => {
    const demo = new ScriptProcess('demo/cli.ts', [], {});
    // Bounds only: the demo runs its story in real time, slower on a loaded machine.
    expect(await demo.exitCode(60_000), demo.output).toBe(0);
    const out = demo.output;
    expect(out).toMatch(/^payment .* intent\.delivery_attempt .* attempt 1 failed: .*retry in \d+\.\d s/m);
    expect(out).toMatch(/^payment .* attempt 2 failed/m);
    expect(out).toMatch(/^inbox .* intent\.human_task_assigned .* WAITING_FOR_HUMAN/m);
    for (const binding of ['http', 'stream', 'poll', 'inbox', 'internal']) {
      expect(out).toMatch(new RegExp(`^\\S+ +${binding} +…[0-9a-f-]{8,} +COMPLETED `, 'm'));
    }
    expect(out).toMatch(/^payment +http +…[0-9a-f-]{8,} +COMPLETED +3 /m);
    // Time-ordered ids share their head: the column shows tails that differ.
    const shown = [...out.matchAll(/^\S+ +\w+ +(…[0-9a-f-]{8,}) +[A-Z_]+ /gm)].map((m) => m[1]);
    expect(shown).toHaveLength(5);
    expect(new Set(shown).size).toBe(5);
  }, 90_000);
});

describe('the demo summary table', () => {
  it('shows the shortest tails (8 characters or more) that tell the ids apart', () => {
    const head = '019ae4c2-7b10-7000-8';
    expect(distinctTails([`${head}000-0000aaaa1111`, `${head}000-0000bbbb2222`])).toEqual(['…aaaa1111', '…bbbb2222']);
    expect(distinctTails([`${head}000-000x12345678`, `${head}000-000y12345678`])).toEqual(['…x12345678', '…y12345678']);
    expect(distinctTails(['short'])).toEqual(['short']);
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
