// Verifies a recorded push against a secret, recomputing both schemes here rather than with the
// server's own code (HTTP-008..HTTP-011): true when any listed signature of each header matches.
import { createHmac } from 'node:crypto';
import type { Push } from './receiver.js';

export function verifies(secret: string, push: Pick<Push, 'headers' | 'body'>): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const id = String(push.headers['webhook-id']);
  const ts = String(push.headers['webhook-timestamp']);
  const standard = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${push.body}`).digest('base64')}`;
  const axme = `sha256=${createHmac('sha256', key).update(push.body).digest('hex')}`;
  return String(push.headers['webhook-signature']).split(' ').includes(standard)
    && String(push.headers['x-axme-signature']).split(' ').includes(axme);
}
