// A driver for the client kit, as an SDK author writes one: here the "SDK" is a send() with fetch.
import { randomUUID } from 'node:crypto';

const print = (line) => console.log(JSON.stringify(line));
if (process.env.AXP_CONFORMANCE_SCENARIO === 'capabilities') {
  print({ type: 'capabilities', roles: ['sender'], sdk: 'readme-example 0.1' });
  process.exit(0);
}
const { action, intent } = JSON.parse(process.env.AXP_SCENARIO_CONTEXT);

async function send(body) {                      // the SDK under test
  const key = randomUUID();                      // one key for every retry (CLI-001, CLI-002)
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${process.env.AXP_BASE_URL}/v1/intents`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-api-key': process.env.AXP_API_KEY, 'idempotency-key': key },
    }).catch(() => null);                          // network error: retry
    if (res?.ok) return res.json();
    const retryable = !res || res.status === 429 || res.status >= 500;  // never other 4xx (CLI-004)
    if (!retryable || attempt === 5) throw Object.assign(new Error('refused'), await res?.json().catch(() => ({})));
    const after = Number(res?.headers.get('retry-after')) * 1000 || Date.parse(res?.headers.get('retry-after')) - Date.now() || 0;
    await new Promise((r) => setTimeout(r, Math.max(after, 250 * 2 ** attempt * (0.8 + Math.random() * 0.4))));
  }
}

if (action === 'send') {
  try {
    print({ type: 'sent', intent_id: (await send(intent)).intent_id });
  } catch (e) {
    print({ type: 'error', code: e.code ?? 'network_error', status: e.status ?? 0 });
  }
}
print({ type: 'done' });
