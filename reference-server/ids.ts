// Intent and delivery ids: UUID v7 (TERM-011 allows any UUID). v7 starts with the time, so new
// rows land at the end of the store's B-trees instead of on random pages. uuid's v7 asks
// crypto.getRandomValues for 16 bytes per id (profiled: 3 % of a lifecycle's CPU); here its
// random bytes come from a pool refilled 4 KiB at a time.
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;

export function timeOrderedId(): string {
  if (used + 16 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const random = pool.subarray(used, used + 16);
  used += 16;
  return v7({ random });
}
