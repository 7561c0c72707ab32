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
}

export interface HealthStatus {
  readonly ok: boolean;
  /** A short human-readable detail, never containing secrets. */
  readonly detail?: string;
}

export interface Connector {
  readonly name: string;
  readonly kind: string;
  /**
   * Returns one entry per key, in the same order as `request.keys`: the record (only the asked
   * items and the key field) or `null` when the department system has no record for that key.
   * Throws `UpstreamError` when the department system cannot answer.
   */
  fetchMany(request: FetchRequest): Promise<Array<UpstreamRecord | null>>;
  health(): Promise<HealthStatus>;
  close(): Promise<void>;
}

export interface ConnectorContext {
  /** Directory that relative paths in the connector config are resolved against. */
  readonly baseDir: string;
  /** Environment that `uriEnv` / `bearerTokenEnv` are read from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** JSON Schema (draft 2020-12 subset understood by ajv) for one connector kind's config. */
export type ConfigSchema = Record<string, unknown>;

export interface ConnectorFactory {
  readonly kind: string;
  /** The JSON Schema of this kind's config (without the `kind` property itself). */
  readonly configSchema: ConfigSchema;
  create(name: string, config: Record<string, unknown>, context: ConnectorContext): Connector;
}

/** A department system failed to answer: unreachable, timed out, or answered nonsense. */
export class UpstreamError extends Error {
  readonly connector: string;
  constructor(connector: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamError';
    this.connector = connector;
  }
}
