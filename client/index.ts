export { AxpClient, type AxpClientOptions, type WaitOptions } from './client.js';
export { AxpError, type ClientErrorCode } from './errors.js';
export { InboxApi, type InboxListOptions, type WriteOptions } from './inbox.js';
export { agentPath, isTerminal } from './paths.js';
export type { ListenOptions, ObserveOptions, PollOptions } from './streams.js';
export type { RetryPolicy } from './transport.js';
export type * from '../schemas/types.js';
export { verifyWebhook, DEFAULT_TOLERANCE_SECONDS, type VerifyWebhookInput, type WebhookVerdict } from './webhooks.js';
