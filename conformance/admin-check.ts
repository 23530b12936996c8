// Whether the target takes the admin key, asked once before any case runs: with a refused key
// every case that registers agents would fail on the same 401, one root cause as a hundred
// failures. The question is a read with no effect: an agent address no run ever registers, which
// the admin may read (AGT-010) and which answers 404 (AGT-012); only 401 and 403 mean "refused".
import type { Dispatcher } from 'undici';
import { CaseClient } from './client.js';
import { Transcript, type Redaction } from './transcript.js';

export interface AdminKeyCheck {
  state: 'accepted' | 'refused';
  /** With state refused: the request and its answer, e.g. `GET /v1/agents/… answered 401 unauthorized`. */
  refusal?: string;
}

export async function checkAdminKey(
  baseUrl: string, adminKey: string, runId: string, dispatcher: Dispatcher, timeoutScale: number, redactions: Redaction[],
): Promise<AdminKeyCheck | undefined> {
  const client = new CaseClient({ baseUrl, dispatcher, transcript: new Transcript(redactions), signal: new AbortController().signal, timeoutScale });
  const path = `/v1/agents/conf-${runId}/admin-key-check`;
  try {
    const res = await client.request({ method: 'GET', path, key: adminKey, validate: false });
    if (res.status !== 401 && res.status !== 403) return { state: 'accepted' };
    const body = res.body as { code?: unknown } | undefined;
    const code = typeof body?.code === 'string' ? ` ${body.code}` : '';
    return { state: 'refused', refusal: `GET ${path} with it answered ${res.status}${code}` };
  } catch {
    // No answer is no verdict on the key: the cases meet the same trouble and report it themselves.
    return undefined;
  }
}
