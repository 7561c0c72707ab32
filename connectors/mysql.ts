/**
 * MySQL / MariaDB connector (kind `mysql`): a department's front-end database (前置库) in MySQL 8 or
 * MariaDB 10.4+, through `mysql2`. Config and behaviour shared with `postgres`: sql-config.ts, sql.ts.
 *
 * - Connection string: `mysql://user:password@host:3306/database` (or `mariadb://`); the only
 *   query parameter accepted is `socketPath`. TLS comes from the connector's `tls`, nowhere else.
 * - One server-side prepared statement per batch: `SELECT `key`, `col`, … FROM `db`.`table`
 *   WHERE `key` IN (?, …)`. The placeholder count is padded to a power of two (repeating a key),
 *   so each connection prepares only a handful of distinct statements. Integer key columns get
 *   only keys written as integers (MySQL would compare '12abc' equal to 12); other non-text key
 *   columns are compared as text.
 * - Columns come from information_schema.COLUMNS; MySQL compares column names without case.
 * - Each new session is `READ ONLY`, in UTC (`time_zone = '+00:00'`), with the server-side
 *   statement limit: `max_statement_time` on MariaDB, `max_execution_time` on MySQL. A cancelled
 *   call sends `KILL QUERY <thread>` on a separate connection, then drops its own.
 * - Values: `dateStrings`, `supportBigNumbers` (big integers as strings) and `decimalNumbers: false`
 *   (DECIMAL as exact strings); then DATE → 'YYYY-MM-DD', DATETIME → 'YYYY-MM-DDTHH:MM:SS[.ffffff]',
 *   TIMESTAMP → the same with 'Z', BIT → a number, binary strings → base64.
 */
import { createConnection, createPool, escapeId } from 'mysql2/promise';
import type { FieldPacket, PoolConnection, PoolOptions } from 'mysql2/promise';
import { readSqlConfig, sqlConfigSchema, type SqlTableName } from './sql-config.ts';
import {
  paddedSize, SqlConnector, type KeyMatch, type SqlColumn, type SqlDialect, type SqlErrorKind, type SqlPool,
  type SqlPoolSettings, type SqlSession, type SqlStatement,
} from './sql.ts';
import type { ConfigSchema, Connector, ConnectorContext, ConnectorFactory } from './types.ts';

export const mysqlConfigSchema: ConfigSchema = sqlConfigSchema('table or view, optionally qualified by its database: name or database.name');

const TYPE = { TIMESTAMP: 7, DATETIME: 12, BIT: 16, TIMESTAMP2: 17, DATETIME2: 18 } as const;
const DATETIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)$/;

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const STRING_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set']);

const ER_STATEMENT_TIMEOUT = 1969; // MariaDB max_statement_time
const ER_QUERY_TIMEOUT = 3024; // MySQL max_execution_time
const ER_BAD_FIELD_ERROR = 1054;
const ER_NO_SUCH_TABLE = 1146;
const KILL_TIMEOUT_MS = 2000;

/** A value as the hub wants it, given the column type mysql2 reported. */
export function mysqlValue(value: unknown, columnType: number | undefined): unknown {
  if (typeof value === 'string') {
    if (columnType === TYPE.DATETIME || columnType === TYPE.DATETIME2) return value.replace(DATETIME, '$1T$2');
    if (columnType === TYPE.TIMESTAMP || columnType === TYPE.TIMESTAMP2) return DATETIME.test(value) ? `${value.replace(DATETIME, '$1T$2')}Z` : value;
    return value;
  }
  if (Buffer.isBuffer(value)) {
    if (columnType === TYPE.BIT && value.length <= 6) return value.length === 0 ? 0 : value.readUIntBE(0, value.length);
    return value.toString('base64');
  }
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

/** Server errors worth asking again for: too many connections, shutdown, lock waits, deadlocks, interruptions, timeouts. */
const TRANSIENT_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 1969, 2006, 2013, 3024]);

/**
 * Whether asking again may help: a network or protocol error (no server error number), or one of
 * TRANSIENT_ERRNOS. Not: access denied, unknown database, table or column, a read-only violation.
 */
export function isTransientMysqlError(error: unknown): boolean {
  const { errno, sqlState } = (error ?? {}) as { errno?: unknown; sqlState?: unknown };
  if (typeof errno !== 'number' || typeof sqlState !== 'string') return true;
  return TRANSIENT_ERRNOS.has(errno);
}

export function describeMysqlError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const { code, errno } = error as Error & { code?: unknown; errno?: unknown };
  if (typeof code === 'string') return typeof errno === 'number' && code.startsWith('ER_') ? `${code} (errno ${errno})` : code;
  return error.name;
}

interface Target {
  readonly host?: string;
  readonly port?: number;
  readonly socketPath?: string;
  readonly user: string;
  readonly password: string;
  readonly database?: string;
}

/** Parses the connection string; messages never quote it. */
export function parseMysqlUri(uri: string): Target {
  if (!/^(mysql|mariadb):\/\//i.test(uri)) throw new Error('connection string must start with mysql:// or mariadb://');
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error('connection string is not a valid URL');
  }
  let socketPath: string | undefined;
  for (const [name, value] of url.searchParams) {
    if (name !== 'socketPath') throw new Error(`connection string parameter "${name}" is not supported (only socketPath; TLS goes in the connector's tls)`);
    socketPath = value;
  }
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new Error('connection string has a malformed %-escape');
    }
  };
  const database = decode(url.pathname.replace(/^\//, ''));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    ...(socketPath === undefined ? { host: host || '127.0.0.1', port: url.port ? Number(url.port) : 3306 } : { socketPath }),
    user: decode(url.username),
    password: decode(url.password),
    ...(database ? { database } : {}),
  };
}

function qualified(table: SqlTableName): string {
  return table.schema === undefined ? escapeId(table.name, true) : `${escapeId(table.schema, true)}.${escapeId(table.name, true)}`;
}

const DESCRIBE = `
  SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
   WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
   ORDER BY ORDINAL_POSITION`;

/** Sends `KILL QUERY` for a thread on a connection of its own: fire and forget. */
async function killQuery(options: PoolOptions, threadId: number): Promise<void> {
  let connection: Awaited<ReturnType<typeof createConnection>> | undefined;
  try {
    connection = await createConnection({ ...options, connectTimeout: KILL_TIMEOUT_MS });
    await connection.query(`KILL QUERY ${Math.floor(threadId)}`);
  } catch {
    // best effort: the server-side statement limit still bounds the statement
  } finally {
    connection?.destroy();
  }
}

class MysqlSession implements SqlSession {
  readonly #connection: PoolConnection;
  readonly #options: PoolOptions;
  #released = false;

  constructor(connection: PoolConnection, options: PoolOptions) {
    this.#connection = connection;
    this.#options = options;
  }

  async describe(table: SqlTableName): Promise<SqlColumn[]> {
    const [rows] = await this.#connection.execute({ sql: DESCRIBE, rowsAsArray: true }, [table.schema ?? null, table.name]);
    return (rows as unknown as Array<[string, string]>).map(([name, type]) => {
      const dataType = String(type).toLowerCase();
      const keyMatch: KeyMatch = INTEGER_TYPES.has(dataType) ? 'integer' : STRING_TYPES.has(dataType) ? 'string' : 'text';
      return { name: String(name), keyMatch, padded: false };
    });
  }

  async run(statement: SqlStatement): Promise<unknown[][]> {
    const [rows, fields] = await this.#connection.execute({ sql: statement.sql, rowsAsArray: true }, statement.params as string[]);
    const types = (fields as FieldPacket[] | undefined ?? []).map((f) => f.columnType);
    return (rows as unknown as unknown[][]).map((row) => row.map((value, i) => mysqlValue(value, types[i])));
  }

  async ping(): Promise<void> {
    await this.#connection.query('SELECT 1');
  }

  cancel(): void {
    if (this.#released) return;
    const threadId = this.#connection.threadId;
    if (typeof threadId === 'number') void killQuery(this.#options, threadId);
  }

  release(destroy: boolean): void {
    if (this.#released) return;
    this.#released = true;
    if (destroy) this.#connection.destroy();
    else this.#connection.release();
  }
}

function createMysqlPool(uri: string, settings: SqlPoolSettings): SqlPool {
  const target = parseMysqlUri(uri);
  const tls = settings.tls;
  const options: PoolOptions = {
    ...target,
    connectionLimit: settings.poolSize,
    maxIdle: settings.poolSize,
    idleTimeout: 30_000,
    waitForConnections: true,
    queueLimit: 0,
    connectTimeout: settings.timeoutMs,
    enableKeepAlive: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    multipleStatements: false,
    timezone: 'Z',
    maxPreparedStatements: 256,
    ...(tls === undefined ? {} : {
      ssl: {
        rejectUnauthorized: tls.rejectUnauthorized !== false,
        verifyIdentity: tls.rejectUnauthorized !== false,
        ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
        ...(tls.ca === undefined ? {} : { ca: tls.ca as string }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert as string }),
        ...(tls.key === undefined ? {} : { key: tls.key as string }),
      },
    }),
  };
  const pool = createPool(options);
  const ms = Math.floor(settings.statementTimeoutMs);
  let timeoutSetting: Promise<string> | undefined;
  const prepared = new WeakSet<object>();
  return {
    async acquire() {
      const connection = await pool.getConnection();
      const core = connection.connection;
      if (!prepared.has(core)) {
        try {
          // A second error on an idle connection would otherwise be unhandled (the pool listens once).
          core.on('error', () => undefined);
          timeoutSetting ??= connection.query({ sql: 'SELECT VERSION()', rowsAsArray: true }).then(([rows]) => {
            const version = String((rows as unknown as unknown[][])[0]?.[0] ?? '');
            return /mariadb/i.test(version) ? `max_statement_time = ${(ms / 1000).toFixed(3)}` : `max_execution_time = ${ms}`;
          }).catch((error: unknown) => {
            timeoutSetting = undefined;
            throw error;
          });
          await connection.query(`SET SESSION time_zone = '+00:00', SESSION ${await timeoutSetting}`);
          await connection.query('SET SESSION TRANSACTION READ ONLY');
        } catch (error) {
          connection.destroy();
          throw error;
        }
        prepared.add(core);
      }
      return new MysqlSession(connection, options);
    },
    end: () => pool.end(),
  };
}

export const mysqlDialect: SqlDialect = {
  kind: 'mysql',
  product: 'MySQL/MariaDB',
  caseInsensitiveColumns: true,
  createPool: createMysqlPool,
  tableLabel: qualified,
  latest: (table: SqlTableName, column: SqlColumn): SqlStatement => ({ sql: `SELECT MAX(${escapeId(column.name, true)}) FROM ${qualified(table)}`, params: [] }),
  lookup(table: SqlTableName, key: SqlColumn, columns: readonly SqlColumn[], keys: readonly string[]): SqlStatement | null {
    if (keys.length === 0) return null;
    const params = [...keys];
    const last = keys[keys.length - 1]!;
    for (let size = paddedSize(keys.length); params.length < size;) params.push(last);
    const select = [key, ...columns].map((c) => escapeId(c.name, true)).join(', ');
    const column = key.keyMatch === 'text' ? `CAST(${escapeId(key.name, true)} AS CHAR)` : escapeId(key.name, true);
    return { sql: `SELECT ${select} FROM ${qualified(table)} WHERE ${column} IN (${params.map(() => '?').join(', ')})`, params };
  },
  describeError: describeMysqlError,
  errorKind(error: unknown): SqlErrorKind {
    const { errno } = error as { errno?: unknown };
    if (errno === ER_STATEMENT_TIMEOUT || errno === ER_QUERY_TIMEOUT) return 'statement-timeout';
    if (errno === ER_BAD_FIELD_ERROR || errno === ER_NO_SUCH_TABLE) return 'schema-changed';
    return 'other';
  },
  transient: isTransientMysqlError,
};

export const mysqlConnectorFactory: ConnectorFactory = {
  kind: 'mysql',
  configSchema: mysqlConfigSchema,
  create(name: string, config: Record<string, unknown>, context: ConnectorContext): Connector {
    return new SqlConnector(name, mysqlDialect, readSqlConfig(config, context.baseDir), context.env);
  },
};
