// Webhook verifier scenarios (spec/17-clients.md, "Webhook verifier"): the kit signs pushes itself
// (Standard Webhooks and X-Axme-Signature, HTTP-008..HTTP-011), some intact and some not, and
// compares the program's verdict on each with what the signature rules require.
import { createHmac, randomBytes } from 'node:crypto';
import { NotApplicable } from '../../case.js';
import type { ClientScenario, ScenarioRun } from '../scenario.js';
import { fail, finished } from './support.js';

type Scheme = 'standard-webhooks' | 'axme';

interface Push {
  id: string;
  secrets: string[];
  headers: Record<string, string>;
  body: string;
  /** What a correct verifier answers, and why. */
  valid: boolean;
  why: string;
}

function secret(s: ScenarioRun): string {
  const bytes = Buffer.alloc(32);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(s.random() * 256);
  return `whsec_${bytes.toString('base64')}`;
}

const key = (secretText: string) => Buffer.from(secretText.slice('whsec_'.length), 'base64');
const standard = (secretText: string, id: string, ts: number, body: string) => `v1,${createHmac('sha256', key(secretText)).update(`${id}.${ts}.${body}`).digest('base64')}`;
const axme = (secretText: string, body: string) => `sha256=${createHmac('sha256', key(secretText)).update(body).digest('hex')}`;

function delivery(s: ScenarioRun, id: string, pretty = false): string {
  const body = { intent_id: id, intent_type: 'invoice.pay.v1', payload: { amount: 100 + Math.floor(s.random() * 900), currency: 'EUR', memo: 'Zürich ✓ 東京' }, delivery_id: randomBytes(8).toString('hex'), attempt: 1 };
  return pretty ? `${JSON.stringify(body, null, 2)}\n` : JSON.stringify(body);
}

function uuid(s: ScenarioRun): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(s.random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A push signed for one scheme: only that scheme's header(s), so a verifier of either scheme knows which to check. */
function signed(scheme: Scheme, secrets: string[], id: string, ts: number, body: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts) };
  if (scheme === 'standard-webhooks') headers['webhook-signature'] = secrets.map((x) => standard(x, id, ts, body)).join(' ');
  else headers['x-axme-signature'] = secrets.map((x) => axme(x, body)).join(' ');
  return headers;
}

const now = () => Math.floor(Date.now() / 1000);
const signatureHeader = (scheme: Scheme) => (scheme === 'standard-webhooks' ? 'webhook-signature' : 'x-axme-signature');

async function judge(s: ScenarioRun, pushes: Push[], requirement: string): Promise<void> {
  const driver = s.start({ action: 'verify', webhooks: pushes.map(({ id, secrets, headers, body }) => ({ id, secrets: secrets as [string, ...string[]], headers, body })), tolerance_seconds: 300 }, 'unused');
  await finished(s, driver, 'verifying');
  const verdicts = new Map(driver.of('verdict').map((v) => [v.id, v.valid]));
  const missing = pushes.filter((p) => !verdicts.has(p.id));
  if (missing.length > 0) fail(`no verdict for ${missing.length} of ${pushes.length} pushes`, missing.map((p) => p.id), [...verdicts.keys()]);
  const wrong = pushes.filter((p) => verdicts.get(p.id) !== p.valid);
  if (wrong.length > 0) {
    fail(
      `${wrong.length} of ${pushes.length} verdicts are wrong (${requirement}): ${wrong.map((p) => `${p.id} ${p.valid ? 'rejected' : 'accepted'} (${p.why})`).join('; ')}`,
      wrong.map((p) => ({ id: p.id, valid: p.valid })),
      wrong.map((p) => ({ id: p.id, valid: verdicts.get(p.id) })),
    );
  }
}

function schemes(s: ScenarioRun, only?: Scheme): Scheme[] {
  const declared = s.webhookSchemes.filter((x) => !only || x === only);
  if (declared.length === 0) throw new NotApplicable(`the scenario needs the ${only} scheme; the program declares ${s.webhookSchemes.join(', ')} (webhook_schemes)`);
  return declared;
}

export const webhookScenarios: ClientScenario[] = [
  {
    id: 'HOOK-001', name: 'verify-valid', group: 'webhook', role: 'webhook_verifier', level: 'MUST',
    title: 'Correctly signed pushes verify: compact, pretty-printed and non-ASCII bodies, checked on the exact bytes',
    requirements: ['CLI-030'],
    async run(s) {
      const pushes: Push[] = [];
      for (const scheme of schemes(s)) {
        const a = secret(s);
        for (const [label, pretty, skew] of [['compact', false, 0], ['pretty', true, -60]] as const) {
          const id = uuid(s);
          const body = delivery(s, id, pretty);
          pushes.push({ id: `${scheme}-${label}`, secrets: [a], headers: signed(scheme, [a], id, now() + skew, body), body, valid: true, why: `a correct ${scheme} signature over the exact body` });
        }
      }
      await judge(s, pushes, 'CLI-030');
    },
  },
  {
    id: 'HOOK-002', name: 'verify-rotation', group: 'webhook', role: 'webhook_verifier', level: 'MUST',
    title: 'During a secret rotation a header carries two signatures: any entry that verifies under any secret held is accepted',
    requirements: ['CLI-031'],
    async run(s) {
      const pushes: Push[] = [];
      for (const scheme of schemes(s)) {
        const [older, newer] = [secret(s), secret(s)];
        const cases: Array<[string, string[], string[]]> = [
          ['holds-old', [newer, older], [older]],
          ['holds-new', [newer, older], [newer]],
          ['holds-both-old-signs', [older], [newer, older]],
        ];
        for (const [label, signers, held] of cases) {
          const id = uuid(s);
          const body = delivery(s, id);
          pushes.push({ id: `${scheme}-${label}`, secrets: held, headers: signed(scheme, signers, id, now(), body), body, valid: true, why: 'one entry verifies under a secret held (HTTP-011)' });
        }
        if (scheme === 'standard-webhooks') {
          const id = uuid(s);
          const body = delivery(s, id);
          const headers = signed(scheme, [older], id, now(), body);
          headers['webhook-signature'] = `v2,${randomBytes(32).toString('base64')} ${headers['webhook-signature']}`;
          pushes.push({ id: `${scheme}-other-version-first`, secrets: [older], headers, body, valid: true, why: 'an entry of another version is skipped, the v1 entry verifies' });
        }
      }
      await judge(s, pushes, 'CLI-031');
    },
  },
  {
    id: 'HOOK-003', name: 'verify-rejects-forgeries', group: 'webhook', role: 'webhook_verifier', level: 'MUST',
    title: 'A changed body, id or timestamp, another secret, a missing or malformed signature: all rejected',
    requirements: ['CLI-032'],
    async run(s) {
      const pushes: Push[] = [];
      for (const scheme of schemes(s)) {
        const a = secret(s);
        const header = signatureHeader(scheme);
        const make = (label: string, valid: boolean, why: string, change: (p: { headers: Record<string, string>; body: string; secrets: string[] }) => void) => {
          const id = uuid(s);
          const body = delivery(s, id);
          const p = { headers: signed(scheme, [a], id, now(), body), body, secrets: [a] };
          change(p);
          pushes.push({ id: `${scheme}-${label}`, ...p, valid, why });
        };
        make('control', true, 'untouched: must verify (else see CLI-030)', () => undefined);
        make('body-changed', false, 'one byte of the body changed after signing', (p) => void (p.body = p.body.replace('"attempt":1', '"attempt":2')));
        make('body-reserialized', false, 'white space added to the body after signing', (p) => void (p.body = p.body.replace('{', '{ ')));
        make('other-secret', false, 'signed with a secret the receiver does not hold', (p) => void (p.secrets = [secret(s)]));
        make('no-signature', false, 'the signature header is missing', (p) => void delete p.headers[header]);
        make('empty-signature', false, 'the signature header holds only the scheme prefix', (p) => void (p.headers[header] = scheme === 'standard-webhooks' ? 'v1,' : 'sha256='));
        make('truncated', false, 'the signature is cut short', (p) => void (p.headers[header] = p.headers[header].slice(0, -6)));
        if (scheme === 'standard-webhooks') {
          make('id-changed', false, 'webhook-id differs from the signed one', (p) => void (p.headers['webhook-id'] = uuid(s)));
          make('timestamp-changed', false, 'webhook-timestamp differs by one second from the signed one', (p) => void (p.headers['webhook-timestamp'] = String(Number(p.headers['webhook-timestamp']) - 1)));
        }
      }
      await judge(s, pushes, 'CLI-032');
    },
  },
  {
    id: 'HOOK-004', name: 'verify-timestamp-window', group: 'webhook', role: 'webhook_verifier', level: 'MUST',
    title: 'Standard Webhooks: a timestamp more than 5 minutes old or ahead is rejected, one within the window verifies',
    requirements: ['CLI-033'],
    async run(s) {
      const pushes: Push[] = [];
      schemes(s, 'standard-webhooks');
      const a = secret(s);
      for (const [label, skew, valid] of [['10-min-old', -600, false], ['10-min-ahead', 600, false], ['6-min-old', -360, false], ['4-min-old', -240, true], ['2-min-ahead', 120, true]] as const) {
        const id = uuid(s);
        const body = delivery(s, id);
        pushes.push({ id: `timestamp-${label}`, secrets: [a], headers: signed('standard-webhooks', [a], id, now() + skew, body), body, valid, why: valid ? 'within 300 s of now' : 'more than 300 s from now (replay)' });
      }
      await judge(s, pushes, 'CLI-033');
    },
  },
];
