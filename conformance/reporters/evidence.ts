// What every reporter shows about a failure: the requirement text, expected vs actual, and a curl
// command that replays the failing request against the target.
import { requirementById, specLink } from '../registry.js';
import type { CaseResult } from '../results.js';
import type { TranscriptEntry } from '../transcript.js';

export interface RequirementLine {
  id: string;
  level?: string;
  text: string;
  link?: string;
}

export function requirementLines(result: CaseResult): RequirementLine[] {
  return result.requirements.map((id) => {
    const req = requirementById(id);
    return req ? { id, level: req.level, text: req.text, link: specLink(req) } : { id, text: '(not in spec/requirements.json)' };
  });
}

/** A JSON-ish rendering of any value, safe against cycles and bigints. */
export function show(value: unknown): string {
  if (value === undefined) return '(not given)';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Rebuilds a value as plain JSON (what the JSON report can hold). */
export function jsonSafe(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  } catch {
    return String(value);
  }
}

/** Placeholders the runner put where credentials were ($AXP_ADMIN_KEY, $AXP_AGENT_KEY_SENDER, ...). */
const PLACEHOLDER = /\$AXP_[A-Z0-9_]+/g;

function shellQuote(text: string): string {
  // Keep every redacted credential a shell variable so the reader supplies it.
  return `'${text.replace(/'/g, `'\\''`)}'`.replace(PLACEHOLDER, (name) => `'"${name}"'`);
}

/** The request a failure most likely concerns: the last one the case sent. */
export function failingRequest(transcript: TranscriptEntry[]): TranscriptEntry | undefined {
  for (let i = transcript.length - 1; i >= 0; i--) if (transcript[i].kind === 'request') return transcript[i];
  return undefined;
}

export function curlFor(entry: TranscriptEntry): string {
  const parts = ['curl', '-sS', '-i'];
  if (entry.method && entry.method !== 'GET') parts.push('-X', entry.method);
  parts.push(shellQuote(entry.url ?? ''));
  for (const [name, value] of Object.entries(entry.headers ?? {})) parts.push('-H', shellQuote(`${name}: ${value}`));
  if (entry.headers?.accept?.includes('text/event-stream')) parts.push('-N');
  if (entry.body !== undefined) parts.push('--data-binary', shellQuote(entry.body));
  const cut = entry.body !== undefined && entry.bodyBytes !== undefined && entry.bodyBytes > Buffer.byteLength(entry.body);
  return parts.join(' ') + (cut ? '   # body shortened in the transcript' : '');
}

export function curlForResult(result: CaseResult): string | undefined {
  const entry = failingRequest(result.transcript);
  return entry ? curlFor(entry) : undefined;
}

export function isProblem(result: CaseResult): boolean {
  return result.outcome === 'failed' || result.outcome === 'errored' || result.baseline === 'stale';
}
