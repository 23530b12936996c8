// The admin key across restarts (SEC-001: one admin key). A durable store keeps only the key's
// SHA-256 hash: the first start generates a key, prints it once and stores its hash; later
// starts accept the same key; a key given (--admin-key, AXP_ADMIN_KEY) replaces the stored one,
// as does a rotation (a fresh key, printed once). A store that forgets (memory) gets a fresh key
// on every start unless one is given.
import type { Store } from './store/store.js';
import { generateAdminKey, hashKey } from './auth.js';

export const ADMIN_KEY_SETTING = 'admin_key_sha256';

export interface AdminKey {
  /** SHA-256 hex of the admin key: what the server compares presented keys with. */
  hash: string;
  /** The key itself, when this start knows it (given, generated or rotated); never for a stored one. */
  key?: string;
  /**
   * given: from the options (stored when durable); generated: new, first start or memory store;
   * rotated: new, replacing the stored one; stored: an earlier start's, kept by the store.
   */
  origin: 'given' | 'generated' | 'rotated' | 'stored';
  /** Whether the store keeps the hash across restarts. */
  kept: boolean;
}

export async function resolveAdminKey(store: Store, given: string | undefined, rotate = false): Promise<AdminKey> {
  const durable = store.readSetting !== undefined && store.writeSetting !== undefined;
  if (given !== undefined) {
    if (durable) await store.writeSetting!(ADMIN_KEY_SETTING, hashKey(given));
    return { hash: hashKey(given), key: given, origin: 'given', kept: durable };
  }
  const fresh = generateAdminKey();
  if (!durable) return { hash: hashKey(fresh), key: fresh, origin: 'generated', kept: false };
  if (rotate) {
    await store.writeSetting!(ADMIN_KEY_SETTING, hashKey(fresh));
    return { hash: hashKey(fresh), key: fresh, origin: 'rotated', kept: true };
  }
  // Processes starting together on one database: the first hash stored wins, the others adopt it.
  const stored = await store.writeSetting!(ADMIN_KEY_SETTING, hashKey(fresh), { ifAbsent: true });
  if (stored === hashKey(fresh)) return { hash: stored, key: fresh, origin: 'generated', kept: true };
  return { hash: stored, origin: 'stored', kept: true };
}
