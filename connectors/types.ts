/**
 * The one interface every department-system connector implements (对接前置系统).
 *
 * A connector fetches many records by key in one call and returns only the asked items.
 * It never decides who may see what: that is `policies/`. It never writes audit: that is `audit/`.
 */

/** A record as the department system returned it, before validation and obligations. */
export type UpstreamRecord = Record<string, unknown>;

export interface FetchRequest {
  /** What to read inside the department system: REST path, MongoDB collection, file name, SQL table. */
  readonly dataset: string;
  /** The field of the upstream record that holds the subject key (citizen ID, credit code …). */
  readonly keyField: string;
  /** Subject keys, in the order the caller wants the answers. May contain duplicates. */
  readonly keys: readonly string[];
  /** Only these items are requested; a connector never returns more than these (plus the key). */
  readonly items: readonly string[];
  /** Aborted when the request is cancelled or the connector's timeout elapses. */
  readonly signal?: AbortSignal;
  /**
   * When the caller needs the answer by (`Date.now()` milliseconds): the request's overall
   * deadline. The resilience layer (resilience.ts) retries only within it and fails the call with
   * UpstreamTimeoutError once it passes; connector kinds need not read it.
   */
  readonly deadline?: number;
  /**
   * Who asks and why, for connectors that pass it on (another region's hub records the access
   * under the same request id). Department systems behind other kinds never see it. Absent on a
   * call that serves the reads of several requests (collapse.ts): a kind that reads it must
   * declare `perRequest` in its factory, and its reads are then never combined.
   */
  readonly context?: AccessContext;
}

/** The statement of the request a fetch serves. */
export interface AccessContext {
  readonly requestId: string;
  readonly purpose: string;
  readonly caseId: string;
  readonly operator: string;
  /** The consuming department and system at this hub. */
  readonly department: string;
  readonly system: string;
}

export interface HealthStatus {
  readonly ok: boolean;
  /** A short human-readable detail, never containing secrets. */
  readonly detail?: string;
}

/** When a dataset's data last changed, as the source can tell, and how it knows (data quality: freshness). */
export interface SourceChange {
  readonly at: Date;
  /** e.g. `modification time of file "x.csv"`, `latest updated_at of table y`. */
  readonly basis: string;
}

export interface Connector {
  readonly name: string;
  readonly kind: string;
  /**
   * Returns one entry per key, in the same order as `request.keys`: the record (only the asked
   * items and the key field) or `null` when the department system has no record for that key.
   * Throws `UpstreamError` when the department system cannot answer (`UpstreamTimeoutError` when
   * it does not answer in time), `ConflictingRecordsError` when it answered some keys with two
   * different records, and the caller's `signal.reason` when the caller aborted.
   */
  fetchMany(request: FetchRequest): Promise<Array<UpstreamRecord | null>>;
  health(): Promise<HealthStatus>;
  /**
   * Optional: when the dataset's data last changed (a file's modification time, the latest value of
   * a configured column). Resolves null when the source cannot tell, as REST services and MongoDB
   * collections cannot; kinds without the method are treated the same. Throws UpstreamError when
   * the source cannot be asked. Never reads records.
   */
  lastChanged?(request: { readonly dataset: string; readonly signal?: AbortSignal }): Promise<SourceChange | null>;
  close(): Promise<void>;
}

export interface ConnectorContext {
  /** Directory that relative paths in the connector config are resolved against. */
  readonly baseDir: string;
  /** Environment that `uriEnv` / `bearerTokenEnv` are read from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Told when a connector's circuit opens, half-opens or closes, and when a call is retried (for logs). */
  readonly onEvent?: (event: ConnectorEvent) => void;
  /** Told when each `fetchMany` through the resilience wrapper ends (for metrics). */
  readonly onCall?: (call: ConnectorCall) => void;
  /** Told the number of requests' reads each combined call serves (collapse.ts; for metrics). */
  readonly onCombined?: (connector: string, reads: number) => void;
}

/** One finished department call (retries included): how it ended and how long it took. No keys, no data. */
export interface ConnectorCall {
  readonly connector: string;
  readonly outcome: 'ok' | 'error' | 'timeout' | 'circuit_open' | 'cancelled';
  readonly durationMs: number;
  readonly keys: number;
}

/** Something operators want to know about a connector; never carries keys or record data. */
export interface ConnectorEvent {
  readonly connector: string;
  readonly event: 'circuit-open' | 'circuit-half-open' | 'circuit-closed' | 'retry';
  /** Why: the failure that opened the circuit or caused the retry. */
  readonly detail?: string;
  /** For `retry`: the attempt about to be made (2 = first retry) and its backoff in ms. */
  readonly attempt?: number;
  readonly delayMs?: number;
}

/** JSON Schema (draft 2020-12 subset understood by ajv) for one connector kind's config. */
export type ConfigSchema = Record<string, unknown>;

export interface ConnectorFactory {
  readonly kind: string;
  /** The JSON Schema of this kind's config (without the `kind` property itself). */
  readonly configSchema: ConfigSchema;
  create(name: string, config: Record<string, unknown>, context: ConnectorContext): Connector;
  /** The kind's default of `retry.retries` when the config gives none (default: the registry's). */
  readonly defaultRetries?: number;
  /**
   * True for kinds whose reads pass the request's statement (`FetchRequest.context`) on to the
   * source: reads of different requests are then never combined into one call (`collapse` is false).
   */
  readonly perRequest?: boolean;
}

/**
 * The source refused the access with a hub refusal code (another region's hub: no grant there,
 * purpose not accepted there …): served as that same refusal, not as an outage.
 */
export class UpstreamRefusal extends Error {
  readonly connector: string;
  readonly code: string;
  constructor(connector: string, code: string, message: string) {
    super(message);
    this.name = 'UpstreamRefusal';
    this.connector = connector;
    this.code = code;
  }
}

/**
 * Items of a returned record the source refused (another region's hub refusing single items), by
 * item: a non-enumerable property of the record, so it never reaches a response by itself.
 */
export const ITEM_REFUSALS: unique symbol = Symbol('yiwang.itemRefusals');
export type ItemRefusals = ReadonlyMap<string, { readonly code: string; readonly message: string }>;

export interface UpstreamErrorOptions {
  readonly cause?: unknown;
  /**
   * Whether asking again may help (default true): a network error, a timeout, a 5xx answer or a
   * malformed body may pass; a missing secret, an invalid connection string or a 4xx refusal will not.
   */
  readonly transient?: boolean;
}

/** A department system failed to answer: unreachable, timed out, or answered nonsense. */
export class UpstreamError extends Error {
  readonly connector: string;
  readonly transient: boolean;
  constructor(connector: string, message: string, options: UpstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UpstreamError';
    this.connector = connector;
    this.transient = options.transient ?? true;
  }
}

/** The department system did not answer within the connector's `timeoutMs` or the request's deadline. */
export class UpstreamTimeoutError extends UpstreamError {
  constructor(connector: string, message: string, options: UpstreamErrorOptions = {}) {
    super(connector, message, options);
    this.name = 'UpstreamTimeoutError';
  }
}

/**
 * The department system answered, but gave two different records for some asked keys: which one
 * is the subject's is unknown, so none is served for those keys. The other keys' answers are in
 * `answers` (one per requested key, in order; `null` at the conflicting keys) and may be served.
 * A caller that does not know this class treats it as a failed batch, which serves nothing wrong.
 * Never carries the keys in its message (they are personal identifiers).
 */
export class ConflictingRecordsError extends UpstreamError {
  readonly answers: ReadonlyArray<UpstreamRecord | null>;
  readonly conflicting: ReadonlySet<string>;
  constructor(connector: string, answers: ReadonlyArray<UpstreamRecord | null>, conflicting: ReadonlySet<string>) {
    super(connector, `connector "${connector}": the department system answered ${conflicting.size} key(s) with two different records; those keys are not served`, { transient: false });
    this.name = 'ConflictingRecordsError';
    this.answers = answers;
    this.conflicting = conflicting;
  }
}
