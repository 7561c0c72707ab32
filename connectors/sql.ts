/**
 * What the SQL connector kinds (`postgres`, `mysql`) share: one parameterised statement per batch,
 * identifiers checked against the table's real columns, deadlines on both sides, cancellation.
 *
 * - dataset = a key of the config's `datasets`, naming a table or view (sql-config.ts). A dataset
 *   not listed there is refused: the catalogue names every table the hub may read.
 * - Before the first read of a table its columns are read from the database catalogue; the key
 *   column and every mapped column must exist (an unknown column is an error naming it), and the
 *   statement only ever names columns found there, quoted with the driver's own escaping.
 * - fetchMany = `SELECT key, asked columns FROM table WHERE key IN (…keys)`, one statement per
 *   `batchSize` keys, batches run concurrently on the pool. Keys are always bound parameters.
 *   Rows are matched back to keys exactly (byte for byte), whatever the database's collation.
 * - Deadlines: `timeoutMs` bounds the whole call on the client (pool wait, connect, statements);
 *   `statementTimeoutMs` is set on every session so the server stops a statement by itself. A
 *   cancelled or timed-out call asks the server to stop its statement and drops the connection.
 * - Sessions are read-only and in UTC. Errors are UpstreamErrors naming the connector, the table
 *   and a driver code, never a driver message (it may quote data) nor the connection string.
 */
import {
  answerInOrder, distinctKeys, fetchInChunks, raceSignal, returnedFields, throwIfCallerAborted,
} from './batch.ts';
import {
  parseTableName, readConnectionString, readTlsOptions, type SqlConnectorConfig, type SqlDatasetConfig, type SqlTableName,
} from './sql-config.ts';
import type { ConnectionOptions } from 'node:tls';
import type { Connector, FetchRequest, HealthStatus, SourceChange, UpstreamRecord } from './types.ts';
import { UpstreamError, UpstreamTimeoutError } from './types.ts';

/** How keys are compared with a key column of this type. */
export type KeyMatch = 'string' | 'integer' | 'text';

export interface SqlColumn {
  /** The column's name as the database spells it. */
  readonly name: string;
  readonly keyMatch: KeyMatch;
  /** Blank-padded (PostgreSQL `char(n)`): trailing spaces are not part of the value. */
  readonly padded: boolean;
  /** Dialect-specific type name used to bind keys (PostgreSQL: a quoted array element type). */
  readonly bindType?: string;
}

/** A ready lookup statement: keys that cannot match the column were left out (`null`: none can). */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** One checked-out connection, set up for the hub (read-only, UTC, statement timeout). */
export interface SqlSession {
  /** The table's columns in order; empty when there is no such table (or no privilege to see it). */
  describe(table: SqlTableName): Promise<SqlColumn[]>;
  /** Runs one statement; rows as arrays of values already mapped to JSON-friendly types. */
  run(statement: SqlStatement): Promise<unknown[][]>;
  ping(): Promise<void>;
  /** Best effort, never throws: asks the server to stop this session's running statement. */
  cancel(): void;
  /** Returns the connection to the pool, or closes it (`destroy`). Idempotent. */
  release(destroy: boolean): void;
}

export interface SqlPool {
  /** A session; the caller releases it. */
  acquire(): Promise<SqlSession>;
  end(): Promise<void>;
}

export interface SqlPoolSettings {
  readonly poolSize: number;
  readonly timeoutMs: number;
  readonly statementTimeoutMs: number;
  /** Node TLS options when the config requires TLS. */
  readonly tls?: ConnectionOptions;
}

export type SqlErrorKind = 'statement-timeout' | 'schema-changed' | 'other';

/** What one SQL product contributes: its pool, its quoting, its error codes. */
export interface SqlDialect {
  readonly kind: string;
  /** Product name for messages (PostgreSQL, MySQL/MariaDB). */
  readonly product: string;
  /** MySQL compares column names case-insensitively; PostgreSQL (quoted) does not. */
  readonly caseInsensitiveColumns: boolean;
  /** Checks the connection string's form (throws a message without its content) and builds a pool. */
  createPool(uri: string, settings: SqlPoolSettings): SqlPool;
  /** `SELECT max(column) FROM table`: when the data last changed (a dataset's `updatedAtColumn`). */
  latest(table: SqlTableName, column: SqlColumn): SqlStatement;
  /** The lookup statement for these keys, or null when none of them can match the key column. */
  lookup(table: SqlTableName, key: SqlColumn, columns: readonly SqlColumn[], keys: readonly string[]): SqlStatement | null;
  /** The table as it would be written in a statement (for messages). */
  tableLabel(table: SqlTableName): string;
  /** A data-free description of a driver error: its code, never its message. */
  describeError(error: unknown): string;
  errorKind(error: unknown): SqlErrorKind;
  /** Whether asking again may help (network, server shutdown, too many connections, timeouts, deadlocks). */
  transient(error: unknown): boolean;
}

/** The health check never waits longer than this, whatever `timeoutMs` says. */
const HEALTH_TIMEOUT_MS = 2000;

interface TableInfo {
  readonly label: string;
  /** Column lookup name (lower-cased where the dialect ignores case) → column. */
  readonly columns: ReadonlyMap<string, SqlColumn>;
}

/** A thrown message that is already safe to show; turned into an UpstreamError by fetchMany. */
class ConfigProblem extends Error {}

/** An integer key as the database prints it: no sign for zero, no leading zeros, within int64. */
export function canonicalInteger(key: string): boolean {
  if (!/^-?(0|[1-9][0-9]{0,18})$/.test(key) || key === '-0') return false;
  const value = BigInt(key);
  return value >= -(2n ** 63n) && value < 2n ** 63n;
}

/** The keys a key column of this kind can hold; others are answered "no record" without asking. */
export function keysFor(column: SqlColumn, keys: readonly string[]): string[] {
  // No subject key holds a NUL, and PostgreSQL text cannot: such a key would fail the whole batch.
  const usable = keys.filter((k) => !k.includes('\u0000'));
  if (column.keyMatch === 'integer') return usable.filter(canonicalInteger);
  if (column.padded) return usable.filter((k) => !k.endsWith(' '));
  return usable;
}

export class SqlConnector implements Connector {
  readonly name: string;
  readonly kind: string;
  readonly #dialect: SqlDialect;
  readonly #config: SqlConnectorConfig;
  readonly #env: NodeJS.ProcessEnv;
  readonly #label: string;
  readonly #tables = new Map<string, Promise<TableInfo>>();
  #connecting: Promise<SqlPool> | undefined;
  #closing: Promise<void> | undefined;

  constructor(name: string, dialect: SqlDialect, config: SqlConnectorConfig, env: NodeJS.ProcessEnv = process.env) {
    this.name = name;
    this.kind = dialect.kind;
    this.#dialect = dialect;
    this.#config = config;
    this.#env = env;
    this.#label = `${dialect.kind} connector "${name}"`;
  }

  /** The shared pool, built on first use; concurrent first calls share one; a failure is retried next call. */
  #pool(): Promise<SqlPool> {
    this.#connecting ??= this.#createPool().catch((error: unknown) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  async #createPool(): Promise<SqlPool> {
    const config = this.#config;
    const uri = await readConnectionString(this.name, this.#label, config, this.#env);
    const tls = config.tls === undefined ? undefined : await readTlsOptions(this.name, this.#label, config.tls);
    try {
      return this.#dialect.createPool(uri, {
        poolSize: config.poolSize,
        timeoutMs: config.timeoutMs,
        statementTimeoutMs: config.statementTimeoutMs,
        ...(tls === undefined ? {} : { tls }),
      });
    } catch (error) {
      // createPool's own messages never quote the connection string.
      throw new UpstreamError(this.name, `${this.#label}: ${error instanceof Error ? error.message : 'connection string is invalid'}`, { transient: false });
    }
  }

  /**
   * Runs `work` on a session. When `signal` aborts, the statement is cancelled on the server, the
   * connection dropped and the call rejects at once with the signal's reason.
   */
  async #withSession<T>(signal: AbortSignal, work: (session: SqlSession) => Promise<T>): Promise<T> {
    const pool = await raceSignal(this.#pool(), signal);
    const acquiring = pool.acquire();
    let session: SqlSession;
    try {
      session = await raceSignal(acquiring, signal);
    } catch (error) {
      // A session that arrives after we stopped waiting goes straight back.
      acquiring.then((late) => late.release(false), () => undefined);
      if (signal.aborted || error instanceof UpstreamError) throw error;
      throw new UpstreamError(this.name, `${this.#label}: could not connect to ${this.#dialect.product} (${this.#dialect.describeError(error)})`, {
        transient: this.#dialect.transient(error),
      });
    }
    if (signal.aborted) {
      session.release(false);
      throw signal.reason;
    }
    const stop = (): void => {
      session.cancel();
      session.release(true);
    };
    signal.addEventListener('abort', stop, { once: true });
    try {
      const result = await raceSignal(work(session), signal);
      session.release(false);
      return result;
    } catch (error) {
      // A failed statement may leave the connection in any state: do not reuse it.
      if (!signal.aborted) session.release(!(error instanceof ConfigProblem));
      throw error;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  #dataset(dataset: string): SqlDatasetConfig {
    const entry = Object.hasOwn(this.#config.datasets, dataset) ? this.#config.datasets[dataset] : undefined;
    if (entry === undefined) {
      throw new UpstreamError(this.name, `${this.#label}: dataset "${dataset}" is not configured (add it under datasets with its table)`, { transient: false });
    }
    return entry;
  }

  #columnKey(name: string): string {
    return this.#dialect.caseInsensitiveColumns ? name.toLowerCase() : name;
  }

  /** The table's columns, read once per dataset; the configured key and item columns must exist. */
  #table(dataset: string, entry: SqlDatasetConfig, session: SqlSession): Promise<TableInfo> {
    let info = this.#tables.get(dataset);
    if (info === undefined) {
      info = (async () => {
        const table = parseTableName(entry.table);
        const label = this.#dialect.tableLabel(table);
        const columns = await session.describe(table);
        if (columns.length === 0) throw new ConfigProblem(`table ${label} (dataset "${dataset}") does not exist or is not visible to the connector's database user`);
        const info: TableInfo = { label, columns: new Map(columns.map((c) => [this.#columnKey(c.name), c])) };
        const configured = [
          ...(entry.keyColumn === undefined ? [] : [entry.keyColumn]),
          ...(entry.updatedAtColumn === undefined ? [] : [entry.updatedAtColumn]),
          ...Object.values(entry.items),
        ];
        this.#checkColumns(info, configured, dataset);
        return info;
      })();
      const pending = info;
      this.#tables.set(dataset, pending);
      pending.catch(() => {
        if (this.#tables.get(dataset) === pending) this.#tables.delete(dataset);
      });
    }
    return info;
  }

  #checkColumns(info: TableInfo, names: readonly string[], dataset: string): SqlColumn[] {
    const unknown = [...new Set(names.filter((n) => !info.columns.has(this.#columnKey(n))))];
    if (unknown.length > 0) {
      const list = unknown.map((n) => JSON.stringify(n)).join(', ');
      throw new ConfigProblem(`table ${info.label} (dataset "${dataset}") has no column ${list}`);
    }
    return names.map((n) => info.columns.get(this.#columnKey(n))!);
  }

  async fetchMany(request: FetchRequest): Promise<Array<UpstreamRecord | null>> {
    throwIfCallerAborted(request.signal);
    if (this.#closing) throw new UpstreamError(this.name, `${this.#label} is closed`, { transient: false });
    const entry = this.#dataset(request.dataset);
    const keys = distinctKeys(request.keys);
    if (keys.length === 0) return [];

    const { keyField } = request;
    const fields = returnedFields(request).filter((f) => f !== keyField);
    const keyColumnName = entry.keyColumn ?? (Object.hasOwn(entry.items, keyField) ? entry.items[keyField]! : keyField);
    const columnOf = (item: string): string => (Object.hasOwn(entry.items, item) ? entry.items[item]! : item);
    const what = `${this.#label}: read ${entry.table} (dataset "${request.dataset}")`;
    const { timeoutMs, statementTimeoutMs, batchSize } = this.#config;
    const timeout = AbortSignal.timeout(timeoutMs);
    const siblings = new AbortController();
    const signal = AbortSignal.any(request.signal ? [timeout, siblings.signal, request.signal] : [timeout, siblings.signal]);

    let found: Map<string, UpstreamRecord>;
    try {
      found = await fetchInChunks(keys, batchSize, keyField, (part) => this.#withSession(signal, async (session) => {
        const info = await this.#table(request.dataset, entry, session);
        const [key, ...columns] = this.#checkColumns(info, [keyColumnName, ...fields.map(columnOf)], request.dataset) as [SqlColumn, ...SqlColumn[]];
        const statement = this.#dialect.lookup(parseTableName(entry.table), key, columns, keysFor(key, part));
        if (statement === null) return [];
        const rows = await session.run(statement);
        return rows.map((row) => {
          const raw = row[0];
          const value = typeof raw === 'string' ? (key.padded ? raw.replace(/ +$/, '') : raw) : raw === null || raw === undefined ? null : String(raw);
          return Object.fromEntries([[keyField, value], ...fields.map((f, i) => [f, row[i + 1] ?? null] as const)]) as UpstreamRecord;
        });
      }));
    } catch (error) {
      siblings.abort();
      if (request.signal?.aborted) throw request.signal.reason;
      if (error instanceof UpstreamError) throw error;
      if (error instanceof ConfigProblem) throw new UpstreamError(this.name, `${this.#label}: ${error.message}`, { transient: false });
      if (timeout.aborted) throw new UpstreamTimeoutError(this.name, `${what} timed out after ${timeoutMs} ms`);
      const kind = this.#dialect.errorKind(error);
      if (kind === 'schema-changed') this.#tables.delete(request.dataset);
      if (kind === 'statement-timeout') {
        throw new UpstreamError(this.name, `${what}: the server stopped the statement after statementTimeoutMs (${statementTimeoutMs} ms)`);
      }
      throw new UpstreamError(this.name, `${what} failed (${this.#dialect.describeError(error)})`, { transient: this.#dialect.transient(error) });
    }
    return answerInOrder(request, found, this.name);
  }

  /**
   * When the dataset's data last changed: the latest value of its `updatedAtColumn` (a timestamp
   * without a zone is read as UTC, as sessions run in UTC); null when the dataset names no such
   * column, or the table is empty.
   */
  async lastChanged(request: { readonly dataset: string; readonly signal?: AbortSignal }): Promise<SourceChange | null> {
    throwIfCallerAborted(request.signal);
    if (this.#closing) throw new UpstreamError(this.name, `${this.#label} is closed`, { transient: false });
    const entry = this.#dataset(request.dataset);
    const column = entry.updatedAtColumn;
    if (column === undefined) return null;
    const timeout = AbortSignal.timeout(this.#config.timeoutMs);
    const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    const what = `${this.#label}: latest ${column} of ${entry.table} (dataset "${request.dataset}")`;
    let value: unknown;
    try {
      value = await this.#withSession(signal, async (session) => {
        const info = await this.#table(request.dataset, entry, session);
        const [checked] = this.#checkColumns(info, [column], request.dataset) as [SqlColumn];
        const rows = await session.run(this.#dialect.latest(parseTableName(entry.table), checked));
        return rows[0]?.[0] ?? null;
      });
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (error instanceof UpstreamError) throw error;
      if (error instanceof ConfigProblem) throw new UpstreamError(this.name, `${this.#label}: ${error.message}`, { transient: false });
      if (timeout.aborted) throw new UpstreamTimeoutError(this.name, `${what} timed out after ${this.#config.timeoutMs} ms`);
      throw new UpstreamError(this.name, `${what} failed (${this.#dialect.describeError(error)})`, { transient: this.#dialect.transient(error) });
    }
    if (value === null || value === undefined) return null;
    const at = instantOf(value);
    if (at === null) throw new UpstreamError(this.name, `${what}: the column does not hold timestamps or dates`, { transient: false });
    return { at, basis: `latest ${column} of ${this.#dialect.tableLabel(parseTableName(entry.table))}` };
  }

  async health(): Promise<HealthStatus> {
    if (this.#closing) return { ok: false, detail: 'connector is closed' };
    const ms = Math.min(this.#config.timeoutMs, HEALTH_TIMEOUT_MS);
    const signal = AbortSignal.timeout(ms);
    try {
      await this.#withSession(signal, (session) => session.ping());
      return { ok: true, detail: 'SELECT 1 answered' };
    } catch (error) {
      if (signal.aborted) return { ok: false, detail: `SELECT 1 timed out after ${ms} ms` };
      return { ok: false, detail: error instanceof UpstreamError ? error.message : `SELECT 1 failed (${this.#dialect.describeError(error)})` };
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const connecting = this.#connecting;
      if (!connecting) return;
      const pool = await connecting.catch(() => undefined);
      // A connection still being made when the pool ends fails with its own error: nothing to report.
      await pool?.end().catch(() => undefined);
    })();
    return this.#closing;
  }
}

const ZONED = /(Z|[+-]\d\d(:?\d\d)?)$/;

/** A timestamp or date as the dialects map them (ISO text, zoned or not) or a Date; null otherwise. */
export function instantOf(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\d/.test(value)) return null;
  const text = /^\d{4}-\d\d-\d\d$/.test(value) ? `${value}T00:00:00Z` : ZONED.test(value) ? value : `${value}Z`;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : new Date(time);
}

/** The next power of two: statements padded to it keep the number of distinct prepared statements small. */
export function paddedSize(count: number): number {
  let size = 1;
  while (size < count) size *= 2;
  return size;
}
