// The server's view of the wire objects. The wire is schemas/*.schema.json; its generated types
// (schemas/types.ts) are used as they are where the server only passes a value through, and the
// records the server builds and reads field by field name their fields with the generated types
// and are checked, at the end of this file, to be assignable to the wire object they become.
import type * as Wire from '../schemas/types.js';
import type { Status, LifecycleEventType } from './lifecycle.js';

export type Binding = Wire.Binding;
export type WaitingReason = Wire.WaitingReason;
export type Json = Record<string, unknown>;
export type ErrorObject = Wire.ErrorObject;
export type HumanTask = Wire.HumanTask;

/** An intent as stored: the wire intent with `last_seq` always set (INT-017). */
export type Intent = {
  intent_id: Wire.Uuid;
  intent_type: Wire.IntentType;
  from_agent: Wire.Address;
  to_agent: Wire.Address;
  payload: Json;
  correlation_id: Wire.Uuid;
  status: Status;
  lifecycle_status: Status;
  waiting_reason?: WaitingReason;
  created_at: Wire.Timestamp;
  updated_at: Wire.Timestamp;
  deadline_at?: Wire.Timestamp;
  reply_to?: Wire.Address;
  escalate_to?: Wire.Address;
  remind_after_seconds?: number;
  remind_interval_seconds?: number;
  max_reminders?: number;
  human_task?: HumanTask;
  metadata?: Wire.Metadata;
  delivery_attempt: number;
  max_delivery_attempts: number;
  pending_with: Wire.Address | null;
  last_seq: number;
  result?: Json;
  error?: ErrorObject;
  reason?: Wire.Reason;
};

export type IntentEvent = {
  intent_id: Wire.Uuid;
  seq: number;
  event_type: LifecycleEventType;
  status: Status;
  at: Wire.Timestamp;
  actor?: string;
  waiting_reason?: WaitingReason;
  details?: Json;
};

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

/**
 * The wire delivery (schema delivery) as the server builds it: the intent flat plus the delivery
 * fields, with the fields the schema leaves optional always written (null when unset).
 */
export type Delivery = {
  intent_id: Wire.Uuid;
  intent_type: Wire.IntentType;
  from_agent: Wire.Address;
  to_agent: Wire.Address;
  correlation_id: Wire.Uuid;
  payload: Json;
  status: Status;
  deadline_at: Wire.Timestamp | null;
  reply_to: Wire.Address | null;
  human_task: HumanTask | null;
  metadata?: Wire.Metadata;
  seq: number;
  delivery_id: Wire.Uuid;
  attempt: number;
  max_delivery_attempts: number;
  lease_expires_at: Wire.Timestamp;
  escalated_from?: Wire.Address;
};

/** A dead-letter entry (schema dead-letter) as stored, every field written. */
export type DeadLetter = {
  intent_id: Wire.Uuid;
  to_agent: Wire.Address;
  intent_type: Wire.IntentType;
  binding: Binding;
  attempts: number;
  last_error: string;
  last_status_code: number | null;
  failed_at: Wire.Timestamp;
  redelivered_at: Wire.Timestamp | null;
};

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

/** Compile-time: each record the server answers with is a valid value of its wire type (object
 * types, not interfaces, so they are checked against the wire types' index signatures). */
type Assignable<From extends To, To> = [From, To];
export type WireChecks = [
  Assignable<Intent, Wire.Intent>,
  Assignable<IntentEvent, Wire.Event>,
  Assignable<Delivery, Wire.Delivery>,
  Assignable<DeadLetter, Wire.DeadLetter>,
  Assignable<DeliveryPolicy, Wire.DeliveryPolicy>,
];
