// Faults in the wake-up bus and the authenticator: the real instances with one method replaced.
import type { Notifier } from '../reference-server/notifier.js';
import type { Authenticator } from '../reference-server/auth.js';
import type { FaultSet } from './catalogue.js';

/** observe-not-live: a bus that never delivers an intent's wake-ups (agents' still arrive). */
export function faultyNotifier(notifier: Notifier, faults: FaultSet): Notifier {
  if (!faults.has('observe-not-live')) return notifier;
  const subscribe = notifier.subscribe.bind(notifier);
  notifier.subscribe = (topic, fn) => (topic.startsWith('intent:') ? () => {} : subscribe(topic, fn));
  return notifier;
}

/** rotated-key-still-valid: the key cache is never told a key was rotated out. */
export function faultyAuthenticator(auth: Authenticator, faults: FaultSet): Authenticator {
  if (!faults.has('rotated-key-still-valid')) return auth;
  auth.forget = () => {};
  return auth;
}
