// SEC-001..SEC-006: x-api-key or Authorization: Bearer; one admin key; agent keys `axp_…`, shown
// once, stored as a SHA-256 hash.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Problem } from './errors.js';
import { ADMIN_ADDRESS, type Caller } from './model.js';
import type { Store } from './store/store.js';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `axp_${randomBytes(24).toString('base64url')}`;
}

export function generateAdminKey(): string {
  return `axp_admin_${randomBytes(24).toString('base64url')}`;
}

/** HTTP-014: `whsec_` + base64 of 32 random bytes (Standard Webhooks). */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function headerKeys(headers: IncomingHttpHeaders): { apiKey?: string; bearer?: string } {
  const header = headers['x-api-key'];
  const authorization = headers.authorization;
  return {
    apiKey: typeof header === 'string' && header.length > 0 ? header.trim() : undefined,
    bearer: (typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null)?.[1],
  };
}

export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const { apiKey, bearer } = headerKeys(headers);
  return apiKey ?? bearer;
}

/** Hashing each request's key was 2 % of a lifecycle's CPU; a few thousand callers fit. */
const MAX_CACHED_KEYS = 4096;

export class Authenticator {
  private readonly adminHash: Buffer;
  /** key hash → agent address; only this process writes agents, so it stays exact. */
  private readonly cache = new Map<string, string>();
  /** presented key → its hash (a function of the key alone, so never stale); bounded. */
  private readonly hashes = new Map<string, string>();

  /** The admin key itself, or only its SHA-256 hex (what a durable store keeps: admin-key.ts). */
  constructor(adminKey: string | { sha256: string }, private readonly store: Store) {
    this.adminHash = Buffer.from(typeof adminKey === 'string' ? hashKey(adminKey) : adminKey.sha256, 'hex');
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<Caller> {
    const { apiKey, bearer } = headerKeys(headers);
    // SEC-001: two different keys in the two headers leave the caller ambiguous: refused.
    if (apiKey !== undefined && bearer !== undefined && apiKey !== bearer) {
      throw new Problem('unauthorized', 'x-api-key and Authorization: Bearer carry different keys');
    }
    const key = apiKey ?? bearer;
    if (!key) throw new Problem('unauthorized', 'an API key is required (x-api-key or Authorization: Bearer)');
    const hash = this.hashOf(key);
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.adminHash)) return { address: ADMIN_ADDRESS, admin: true };
    let address = this.cache.get(hash);
    if (!address) {
      address = (await this.store.read((tx) => tx.findAgentByKeyHash(hash)))?.address;
      // A store shared by several processes has writers elsewhere: a key they rotate must stop at once here too (SEC-006).
      if (address && this.store.kind !== 'postgres') this.cache.set(hash, address);
    }
    if (!address) throw new Problem('unauthorized', 'unknown API key');
    return { address, admin: false };
  }

  private hashOf(key: string): string {
    let hash = this.hashes.get(key);
    if (hash === undefined) {
      if (this.hashes.size >= MAX_CACHED_KEYS) this.hashes.clear();
      hash = hashKey(key);
      this.hashes.set(key, hash);
    }
    return hash;
  }

  /** SEC-006: a rotated key stops working at once. */
  forget(keyHash: string): void {
    this.cache.delete(keyHash);
  }
}
