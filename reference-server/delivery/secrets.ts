// HTTP-011, HTTP-012, SEC-009, SEC-010: which signing secrets of an http agent sign a push.
//
// Secrets are stored in clear text, unlike API keys: the server must compute HMACs with them on
// every push, which a hash would not allow (SEC-010). routes/agents.ts issues them (shown once, in
// the registration answer that created them); they are never logged, never put in events or
// problem answers, never returned by a read route.
import type { SigningSecret } from '../model.js';

/**
 * The secrets that sign a push sent at `nowMs` (server clock), newest first: the current one,
 * plus a rotated-out one while its overlap window lasts (HTTP-012).
 */
export function signingSecrets(secrets: readonly SigningSecret[], nowMs: number): string[] {
  return secrets.filter((s) => s.expires_at === undefined || Date.parse(s.expires_at) > nowMs).map((s) => s.secret);
}
