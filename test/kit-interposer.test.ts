// The kit's verdict on a server with exactly one defect. A proxy (test/helpers/interposer.ts) in
// front of a correct reference server changes one thing at a time; for each change the kit runs
// the case groups that could notice it, and exactly the cases citing the requirement it breaks
// must fail (a broken shape fails the response-conformance case, not the cases that read it). A
// pure slow-down must fail nothing. The expected sets are the kit's contract: a case that starts
// failing for something it is not about shows up here as an unexpected failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConformance } from '../conformance/index.js';
import { startEmbedded, type EmbeddedServer } from '../conformance/embedded.js';
import { startInterposer, type Interposer, type Perturbation, type ProxiedRequest } from './helpers/interposer.js';
import { registeredCases } from '../conformance/index.js';
import requirements from '../spec/requirements.json' with { type: 'json' };

const TEXT = new Map((requirements as Array<{ id: string; text: string }>).map((r) => [r.id, r.text]));

const EVENTS_LIST = /^\/v1\/intents\/[^/]+\/events(\?|$)/;
const POLL = /^\/v1\/agents\/.+\/intents(\?|$)/;

function query(req: ProxiedRequest): URLSearchParams {
  return new URL(req.url, 'http://proxy').searchParams;
}

function withQuery(req: ProxiedRequest, name: string, value: string): void {
  const url = new URL(req.url, 'http://proxy');
  url.searchParams.set(name, value);
  req.url = `${url.pathname}${url.search}`;
}

/** Every event object in an answer: lists, and the event of a write answer. */
function eventsIn(json: any): any[] {
  return [...(Array.isArray(json?.events) ? json.events : []), ...(json?.event ? [json.event] : [])];
}

interface Scenario {
  perturbation: Perturbation;
  /** Case groups or IDs to run (runConformance `only`). */
  only: string[];
  /** Cases that must fail, and no other. */
  fails: string[];
  /** Each failing case must cite a requirement whose text matches this (the rule the change breaks). */
  cites?: RegExp;
  /** Groups that may also fail: only SHAPE-* (the response-conformance cases) for a broken shape. */
}

const SCENARIOS: Scenario[] = [
  {
    perturbation: {
      name: '`since` treated as inclusive on the events list',
      request: (req) => {
        const since = Number(query(req).get('since'));
        if (req.method === 'GET' && EVENTS_LIST.test(req.url) && since > 0) withQuery(req, 'since', String(since - 1));
      },
    },
    only: ['EVT-*'],
    fails: ['EVT-001'],
    cites: /after `since`|since/,
  },
  {
    perturbation: {
      name: 'next_seq (optional in the schema) dropped from events lists',
      response: (req, a) => {
        if (req.method === 'GET' && EVENTS_LIST.test(req.url)) delete a.json.next_seq;
      },
    },
    only: ['EVT-*'],
    fails: ['EVT-001'],
    cites: /next_seq/,
  },
  {
    perturbation: {
      name: 'a required field (intent.pending_with) dropped from every answer',
      response: (_req, a) => {
        if (a.json?.intent) delete a.json.intent.pending_with;
      },
    },
    only: ['EVT-*', 'SHAPE-*'],
    fails: ['SHAPE-001'],
    cites: /schema/,
  },
  {
    perturbation: {
      name: 'error code intent_terminal renamed',
      response: (_req, a) => {
        if (a.json?.code === 'intent_terminal') a.json.code = 'intent_closed';
      },
    },
    only: ['LC-*', 'SHAPE-*'],
    fails: ['SHAPE-002'],
    cites: /code/,
  },
  {
    perturbation: {
      name: '404 instead of 403 forbidden',
      response: (_req, a) => {
        if (a.status === 403 && a.json?.code === 'forbidden') {
          a.status = 404;
          a.json = { ...a.json, status: 404, code: 'intent_not_found', title: 'Not Found' };
        }
      },
    },
    only: ['SEC-*', 'DLV-*'],
    fails: ['DLV-004', 'DLV-011', 'SEC-003', 'SEC-011'],
    cites: /403|forbidden/,
  },
  {
    perturbation: {
      name: 'wait_seconds=0 refused on the poll route',
      request: (req) => {
        if (req.method === 'GET' && POLL.test(req.url) && query(req).get('wait_seconds') === '0') {
          return { status: 422, json: { type: 'https://axp.dev/problems/validation_failed', title: 'Unprocessable', status: 422, code: 'validation_failed', errors: [{ pointer: '/wait_seconds', location: 'query', message: 'must be >= 1' }] } };
        }
      },
    },
    only: ['POLL-*'],
    fails: ['POLL-002'],
    cites: /wait_seconds. accepts 0/,
  },
  {
    perturbation: {
      name: 'intent.acknowledged omitted from events lists',
      response: (req, a) => {
        if (req.method === 'GET' && EVENTS_LIST.test(req.url) && Array.isArray(a.json?.events)) a.json.events = a.json.events.filter((e: any) => e.event_type !== 'intent.acknowledged');
      },
    },
    only: ['EVT-*', 'DLV-*'],
    fails: ['DLV-002'],
    cites: /intent\.acknowledged/,
  },
  {
    perturbation: {
      name: 'no backoff: next_attempt_at equals the failure time',
      response: (_req, a) => {
        for (const e of eventsIn(a.json)) if (e.event_type === 'intent.delivery_attempt' && typeof e.details?.next_attempt_at === 'string') e.details.next_attempt_at = e.at;
      },
    },
    only: ['DLV-*'],
    fails: ['DLV-005'],
    cites: /backoff|next_attempt_at/,
  },
  {
    perturbation: {
      name: 'Idempotent-Replayed header dropped',
      response: (_req, a) => {
        delete a.headers['idempotent-replayed'];
      },
    },
    only: ['IDEM-*'],
    fails: ['IDEM-001', 'IDEM-009', 'IDEM-011'],
    cites: /Idempotent-Replayed/,
  },
  {
    perturbation: {
      name: '403 instead of 401 for an unknown key',
      response: (_req, a) => {
        if (a.status === 401) {
          a.status = 403;
          a.json = { ...a.json, type: 'https://axp.dev/problems/forbidden', status: 403, code: 'forbidden' };
        }
      },
    },
    only: ['SEC-*', 'ERR-*'],
    fails: ['ERR-007', 'SEC-001', 'SEC-002', 'SEC-009', 'SEC-010', 'SEC-011', 'SEC-201'],
    cites: /401|unauthorized/,
  },
  {
    perturbation: {
      name: 'the request\'s API key echoed in error answers',
      response: (req, a) => {
        if (a.status >= 400 && a.json && typeof req.headers['x-api-key'] === 'string') a.json.detail = `key ${req.headers['x-api-key']} refused`;
      },
    },
    only: ['ERR-*', 'SEC-*'],
    fails: ['ERR-009'],
    cites: /credential|key|secret/i,
  },
  {
    perturbation: {
      name: 'Allow header dropped from 405 answers',
      response: (_req, a) => {
        if (a.status === 405) delete a.headers.allow;
      },
    },
    only: ['ERR-*'],
    fails: ['ERR-005'],
    cites: /Allow/,
  },
  {
    perturbation: { name: 'every answer 200 ms late', delayMs: 200 },
    only: ['EVT-*', 'POLL-*', 'CLK-*'],
    fails: [],
  },
];

const REPORT = process.env.AXP_INTERPOSER_REPORT === '1';

describe('the kit against one defect at a time', () => {
  let server: EmbeddedServer;
  let proxy: Interposer;
  const cases = registeredCases();
  const byId = new Map(cases.map((c) => [c.id, c]));

  beforeAll(async () => {
    server = await startEmbedded();
    proxy = await startInterposer(server.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
  });

  for (const s of SCENARIOS) {
    it(s.perturbation.name, async () => {
      proxy.set(s.perturbation);
      const run = await runConformance({ target: proxy.url, adminKey: server.adminKey, only: s.only, seed: 1 });
      proxy.set(undefined);
      const failed = run.cases.filter((c) => c.outcome === 'failed' || c.outcome === 'errored').map((c) => c.id).sort();
      if (REPORT) {
        console.log(`\n## ${s.perturbation.name}\nfailed: ${failed.join(', ') || '-'}\nblocked: ${run.cases.filter((c) => c.outcome === 'blocked').map((c) => c.id).join(', ') || '-'}`);
        for (const c of run.cases.filter((r) => r.outcome === 'failed' || r.outcome === 'errored')) console.log(`  ${c.id}: ${(c.failure?.message ?? '').slice(0, 300)}`);
      }
      expect(run.harnessErrors).toEqual([]);
      expect(failed).toEqual([...s.fails].sort());
      // Only cases citing the broken rule fail (SHAPE-* cite the route owners at run time).
      for (const id of s.fails) {
        const cited = [...(byId.get(id)?.requirements ?? []), ...(run.cases.find((c) => c.id === id)?.requirements ?? [])];
        expect(cited.some((r) => s.cites?.test(TEXT.get(r) ?? '') ?? true), `${id} cites ${cited.join(', ')}`).toBe(true);
      }
    }, 120_000);
  }
});

describe('credentials are matched as whole tokens', () => {
  let server: EmbeddedServer;
  beforeAll(async () => {
    server = await startEmbedded({ adminKey: 'k' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a one-letter admin key is not "found" in answers that merely contain the letter', async () => {
    const run = await runConformance({ target: server.url, adminKey: 'k', only: ['ERR-009', 'SEC-006'], seed: 1 });
    expect(run.harnessErrors).toEqual([]);
    expect(run.cases.filter((c) => c.id === 'ERR-009' || c.id === 'SEC-006').map((c) => [c.id, c.outcome, c.failure?.message ?? ''])).toEqual([
      ['ERR-009', 'passed', ''],
      ['SEC-006', 'passed', ''],
    ]);
  }, 60_000);
});
