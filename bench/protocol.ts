// Messages between the bench (parent) and its child processes, and the load workers' configs.

export type ToServer = { type: 'memory' } | { type: 'stop' };
export type FromServer =
  | { type: 'listening'; url: string; pid: number }
  | ({ type: 'memory' } & Memory);

/** Event-loop delay and GC pauses in the server since the previous sample. */
export interface Stalls { loop_p99_ms: number; loop_max_ms: number; gc_count: number; gc_total_ms: number; gc_max_ms: number }
/** A server sample: memory after two full GCs, CPU, timers fired and store work counters so far. */
export interface Memory { rss: number; heapUsed: number; external: number; cpuMs: number; sysMs: number; timers: number; units: number; commits: number; stalls: Stalls; pg?: PostgresCounts }

/** The PostgreSQL store's own counters (round trips, statements, COMMITs, units, replayed batches). */
export interface PostgresCounts { roundTrips: number; statements: number; commits: number; units: number; replays: number; readWaitMs: number; commitWaitMs: number }

export interface AgentKey { address: string; key: string }

/** bare Fastify: closed loop of same-sized JSON POSTs. */
export interface BoundConfig { role: 'bound'; url: string; body: string; connections: number }

/** Sends intents: closed loop bounded by a window of unfinished lifecycles (credits), or open loop at a rate. */
export interface SenderConfig {
  role: 'sender';
  url: string;
  /** Several server processes (a load balancer's view): each call goes to the next one. */
  urls?: string[];
  key: string;
  agents: string[];
  body: string;
  connections: number;
  /** closed loop: at most this many lifecycles in flight (credits come back from the agents). */
  window?: number;
  /** open loop: intents per second. */
  rate?: number;
  /** Record intent_id → accepted time (for send → delivery latency). */
  record: boolean;
  /** Observe every n-th intent over SSE until its terminal event (0 = none). */
  observeEvery: number;
}

/** Receiving agents: stream or poll; each delivery is resolved COMPLETED. */
export interface AgentConfig {
  role: 'agent';
  url: string;
  /** Several server processes: streams are spread over them, polls and resolves go round robin. */
  urls?: string[];
  binding: 'stream' | 'poll';
  agents: AgentKey[];
  pollersPerAgent: number;
  connections: number;
  record: boolean;
}

/** SSE observers: one connection per entry (intent ids may repeat). */
export interface ObserverConfig { role: 'observer'; url: string; key: string; intents: string[] }

/** Busy-intent driver: the receiver reports progress on each intent, perIntent writes in flight per intent. */
export interface DriverConfig { role: 'driver'; url: string; key: string; intents: string[]; connections: number; perIntent: number }

export type WorkerConfig = BoundConfig | SenderConfig | AgentConfig | ObserverConfig | DriverConfig;

export type ToWorker =
  | { type: 'go'; warmupMs: number; measureMs: number }
  | { type: 'credit'; n: number }
  | { type: 'stop' };

export interface WorkerResult {
  /** Operations counted inside the measurement window (requests, completions, events). */
  count: number;
  /** Bytes received inside the window (observers). */
  bytes: number;
  errors: number;
  /** Seconds the window really lasted. */
  seconds: number;
  /** intent_id → epoch ms (high resolution): accepted at the sender / delivery frame at the agent. */
  times?: Record<string, number>;
  /** send accepted → terminal event at the observer, ms. */
  observed?: number[];
  /** Observers: connections that were open when the window started. */
  open?: number;
  firstError?: string;
  /** CPU time this worker used, ms (user + system, whole life). */
  cpuMs?: number;
  /** This worker's own event-loop delay inside the window: a late timestamp is not the server's. */
  loop?: { p99_ms: number; max_ms: number };
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'credit'; n: number }
  | { type: 'result'; result: WorkerResult };
