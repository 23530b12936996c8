// The server's own view of the wire objects (schemas/*.schema.json are the authority; these types
// name the fields the server reads and writes).
import type { Status, LifecycleEventType } from './lifecycle.js';

export type Binding = 'stream' | 'poll' | 'http' | 'inbox' | 'internal';
export type WaitingReason = 'WAITING_FOR_HUMAN' | 'WAITING_FOR_AGENT' | 'WAITING_FOR_TOOL' | 'WAITING_FOR_TIME';
export type Json = Record<string, unknown>;

export interface ErrorObject { code: string; message?: string; [k: string]: unknown }

export interface HumanTask {
  title: string;
  task_type: string;
  description?: string;
  allowed_outcomes?: string[];
  required_comment?: boolean;
  assignees?: string[];
}

export interface Intent {
  intent_id: string;
  intent_type: string;
  from_agent: string;
  to_agent: string;
  payload: Json;
  correlation_id: string;
  status: Status;
  lifecycle_status: Status;
  waiting_reason?: WaitingReason;
  created_at: string;
  updated_at: string;
  deadline_at?: string;
  reply_to?: string;
  escalate_to?: string;
  remind_after_seconds?: number;
  remind_interval_seconds?: number;
  max_reminders?: number;
  human_task?: HumanTask;
  metadata?: Record<string, string>;
  delivery_attempt: number;
  max_delivery_attempts: number;
  pending_with: string | null;
  last_seq: number;
  result?: Json;
  error?: ErrorObject;
  reason?: string;
}

export interface IntentEvent {
  intent_id: string;
  seq: number;
  event_type: LifecycleEventType;
  status: Status;
  at: string;
  actor?: string;
  waiting_reason?: WaitingReason;
  details?: Json;
}

/** The effective delivery policy of an agent (defaults filled in), schema delivery-policy. */
export interface DeliveryPolicy {
  binding: Binding;
  url?: string;
  max_delivery_attempts: number;
  initial_delay_ms: number;
  max_delay_ms: number;
  multiplier: number;
  lease_seconds: number;
  timeout_ms?: number;
  max_concurrency?: number;
}

export { POLICY_DEFAULTS, HTTP_POLICY_DEFAULTS } from './limits.js';

export interface SigningSecret { secret: string; created_at: string; /** set once rotated out: signs until then */ expires_at?: string }

export interface AgentRecord {
  address: string;
  delivery: DeliveryPolicy;
  display_name?: string;
  metadata?: Record<string, string>;
  created_at: string;
  updated_at: string;
  /** sha256 hex of the API key; the key itself is never stored (SEC-007). */
  key_hash: string;
  /** http binding: signing secrets, newest first. */
  secrets: SigningSecret[];
  /** Last per-agent delivery cursor issued (the `seq` of deliveries). */
  last_delivery_seq: number;
}

export type DeliveryState = 'pending' | 'leased' | 'acked' | 'failed' | 'canceled';

export interface DeliveryRecord {
  delivery_id: string;
  intent_id: string;
  /** The agent this delivery goes to: to_agent, or escalate_to for an escalation. */
  agent: string;
  attempt: number;
  state: DeliveryState;
  agent_seq: number | null;
  lease_expires_at: string | null;
  created_at: string;
  escalated_from?: string;
}

/** The wire delivery (schema delivery): the intent flat plus the delivery fields. */
export interface Delivery {
  intent_id: string;
  intent_type: string;
  from_agent: string;
  to_agent: string;
  correlation_id: string;
  payload: Json;
  status: Status;
  deadline_at: string | null;
  reply_to: string | null;
  human_task: HumanTask | null;
  metadata?: Record<string, string>;
  seq: number;
  delivery_id: string;
  attempt: number;
  max_delivery_attempts: number;
  lease_expires_at: string;
  escalated_from?: string;
}

export interface DeadLetter {
  intent_id: string;
  to_agent: string;
  intent_type: string;
  binding: Binding;
  attempts: number;
  last_error: string;
  last_status_code: number | null;
  failed_at: string;
  redelivered_at: string | null;
}

export interface IdempotencyRecord {
  scope: string;
  key: string;
  fingerprint: string;
  status: number;
  body: Json;
  created_at_ms: number;
}

export interface TimerRecord {
  id: number;
  due_at: number;
  kind: string;
  intent_id: string | null;
  data: Json;
}

/**
 * An inbox thread as stored (INBOX-001, INBOX-020): which owner sees which intent, and the
 * messages of its decision. Status, open, task, result and error are read from the intent.
 */
export interface ThreadRecord {
  owner_agent: string;
  thread_id: string;
  kind: 'task' | 'completion';
  created_at: string;
  updated_at: string;
  messages: { at: string; author: string; text: string }[];
}

/** Who is calling: an agent, or the admin key (which acts as agent://system/admin). */
export interface Caller { address: string; admin: boolean }
export const ADMIN_ADDRESS = 'agent://system/admin';
/** EVT-009, INBOX-013: an event's actor (a message's author) is `admin` when the admin key acted. */
export function actorOf(caller: Caller): string {
  return caller.admin ? 'admin' : caller.address;
}
