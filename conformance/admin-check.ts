// Whether the target takes the admin key, asked once before any case runs: with a refused key
// every case that registers agents would fail on the same 401, one root cause as a hundred
// failures. The question is the one the cases would ask first: registering an agent (AGT-001) at a
// run-unique address, as every case's agents are; only 401 and 403 mean "refused".
import type { Dispatcher } from 'undici';
import { CaseClient } from './client.js';
import { Transcript, type Redaction } from './transcript.js';

export interface AdminKeyCheck {
  state: 'accepted' | 'refused';
  /** With state refused: the request and its answer, e.g. `PUT /v1/agents/… answered 401 unauthorized`. */
  refusal?: string;
}

/** A binding the target lists (poll preferred: it needs nothing from the kit), else poll. */
function bindingFor(capabilities: unknown): string {
  const listed = (capabilities as { bindings?: unknown } | undefined)?.bindings;
  const bindings = Array.isArray(listed) ? listed.filter((b): b is string => typeof b === 'string' && b !== 'http') : [];
  return bindings.includes('poll') || bindings.length === 0 ? 'poll' : bindings[0];
}

export async function checkAdminKey(
  baseUrl: string, adminKey: string, runId: string, capabilities: unknown, dispatcher: Dispatcher, timeoutScale: number, redactions: Redaction[],
): Promise<AdminKeyCheck | undefined> {
  const client = new CaseClient({ baseUrl, dispatcher, transcript: new Transcript(redactions), signal: new AbortController().signal, timeoutScale });
  const path = `/v1/agents/conf-${runId}/admin-key-check`;
  try {
    const res = await client.request({ method: 'PUT', path, key: adminKey, json: { delivery: { binding: bindingFor(capabilities) } }, validate: false });
    if (res.status !== 401 && res.status !== 403) return { state: 'accepted' };
    const body = res.body as { code?: unknown } | undefined;
    const code = typeof body?.code === 'string' ? ` ${body.code}` : '';
    return { state: 'refused', refusal: `PUT ${path} with it answered ${res.status}${code}` };
  } catch {
    // No answer is no verdict on the key: the cases meet the same trouble and report it themselves.
    return undefined;
  }
}
