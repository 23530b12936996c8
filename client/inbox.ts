// Inbox calls (INBOX-003..INBOX-008): human tasks and completion notices. thread_id = intent_id.
import { randomUUID } from 'node:crypto';
import type { InboxDecisionRequest, InboxListResponse, InboxThread, InboxThreadResponse, IntentWriteResponse } from '../schemas/types.js';
import { threadPath } from './paths.js';
import type { Transport } from './transport.js';

export interface WriteOptions {
  /** Defaults to a fresh UUID, which makes the write safe to retry; false sends none (no retries). */
  idempotencyKey?: string | false;
  signal?: AbortSignal;
}

export function keyOf(options: WriteOptions | undefined): string | undefined {
  const key = options?.idempotencyKey;
  return key === false ? undefined : key ?? randomUUID();
}

export interface InboxListOptions {
  /** Whose inbox; defaults to the caller's own agent. */
  ownerAgent?: string;
  /** true: only tasks still awaiting a decision. */
  open?: boolean;
  signal?: AbortSignal;
}

export class InboxApi {
  constructor(private readonly transport: Transport) {}

  async list(options: InboxListOptions = {}): Promise<InboxThread[]> {
    const query = { owner_agent: options.ownerAgent, open: options.open };
    const answer = await this.transport.json<InboxListResponse>('GET', '/v1/inbox', { query, signal: options.signal });
    return answer.threads;
  }

  async get(threadId: string, options: { ownerAgent?: string; signal?: AbortSignal } = {}): Promise<InboxThread> {
    const answer = await this.transport.json<InboxThreadResponse>('GET', threadPath(threadId), { query: { owner_agent: options.ownerAgent }, signal: options.signal });
    return answer.thread;
  }

  /** Completes the task (default outcome `approved`). */
  approve(threadId: string, decision: InboxDecisionRequest = {}, options?: WriteOptions): Promise<IntentWriteResponse> {
    return this.decide(threadId, 'approve', decision, options);
  }

  /** Fails the task with error.code task_rejected (default outcome `rejected`). */
  reject(threadId: string, decision: InboxDecisionRequest = {}, options?: WriteOptions): Promise<IntentWriteResponse> {
    return this.decide(threadId, 'reject', decision, options);
  }

  /** Completes the task with outcome `replied` (or the given one) and the message as its comment. */
  reply(threadId: string, message: string, extra: { outcome?: string; data?: Record<string, unknown> } = {}, options?: WriteOptions): Promise<IntentWriteResponse> {
    return this.decide(threadId, 'reply', { message, ...extra }, options);
  }

  private decide(threadId: string, action: 'approve' | 'reject' | 'reply', body: object, options?: WriteOptions): Promise<IntentWriteResponse> {
    return this.transport.json<IntentWriteResponse>('POST', threadPath(threadId, action), { body, idempotencyKey: keyOf(options), signal: options?.signal });
  }
}
