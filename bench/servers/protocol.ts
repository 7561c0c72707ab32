/**
 * What the benchmark orchestrator and a server child process say to each other over IPC.
 */
import type { ProfileSummary } from './profile.ts';

/** `hub-noaudit` is a diagnostic: the hub with its audit appends discarded (never a deployment). */
export type ServerKind = 'ceiling' | 'plain' | 'hub' | 'hub-noaudit';

/** How to start one server process (passed as JSON in BENCH_SERVER_SPEC). */
export interface ServerSpec {
  readonly kind: ServerKind;
  /** Variables the demo catalogue's connectors read (department URLs, databases, files). */
  readonly departmentEnv: Readonly<Record<string, string>>;
  /** The hub's MongoDB (hub only). */
  readonly mongoUri: string;
  readonly database: string;
  /** Subject-hash key, hex (hub only; shared by hub processes on one database). */
  readonly subjectKeyHex: string;
  /** 0 = any free port; processes of a cluster need a fixed one. */
  readonly port: number;
  /** More than 1: node:cluster workers sharing the port (hub only). */
  readonly workers: number;
  /** Return the raw CPU profile with its summary (to save as .cpuprofile). */
  readonly keepProfile: boolean;
  /** Audit writer overrides for what-if runs (hub only; undefined = the hub's defaults). */
  readonly audit?: { readonly maxBatch?: number; readonly maxInFlight?: number; readonly lingerMs?: number };
  /** Trusted documents enforced, the scenarios' operations registered for every system (hub only; what-if). */
  readonly trustedDocuments?: 'enforce';
  /** Node/V8 flags of the server process (what-if). */
  readonly nodeFlags?: readonly string[];
  /**
   * The connectors' `collapse` (calls shared among concurrent requests): undefined = the hub's
   * default (on) for the hub, off for (a) and (b), which batch within a request only.
   */
  readonly collapse?: boolean;
}

export interface CallCounts {
  /** fetchMany calls per `connector/dataset`. */
  readonly calls: Readonly<Record<string, number>>;
}

export interface MemoryStats {
  /** Resident set size now, bytes (summed over workers). */
  readonly rss: number;
  /** Highest sampled RSS since the previous `memory` call, bytes. */
  readonly windowPeakRss: number;
  /** Peak RSS of the process lifetime (getrusage maxrss), bytes. */
  readonly maxRss: number;
  /** CPU time used so far (user + system), microseconds. */
  readonly cpuMicros: number;
  /** The event loop's time so far running callbacks and waiting for events, ms (summed over workers). */
  readonly loopActiveMs: number;
  readonly loopIdleMs: number;
}

export interface AuditStats {
  /** Access records the hub's AuditWriter acknowledged as durable (0 for (a) and (b)). */
  readonly written: number;
  /** Inserts of evidence that landed (records per write = written / writes). */
  readonly writes: number;
  /** Their time from sending to acknowledgement, summed, ms. */
  readonly writeMillis: number;
}

export interface OpResults {
  counts: CallCounts;
  memory: MemoryStats;
  audit: AuditStats;
  'profile-start': null;
  'profile-stop': ProfileSummary;
  stop: null;
}

export type Op = keyof OpResults;

export interface RpcRequest {
  readonly id: number;
  readonly op: Op;
}

export type RpcReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

export interface ReadyMessage {
  readonly type: 'ready';
  readonly url: string;
  readonly pid: number;
  readonly workerPids: readonly number[];
}

export function isRpcRequest(value: unknown): value is RpcRequest {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number' && typeof (value as { op?: unknown }).op === 'string';
}

export function isRpcReply(value: unknown): value is RpcReply {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number' && typeof (value as { ok?: unknown }).ok === 'boolean';
}

export function isReady(value: unknown): value is ReadyMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'ready';
}
