/**
 * PostgreSQL connector (kind `postgres`): a department's front-end database (前置库) in PostgreSQL,
 * through node-postgres (`pg`). Config and behaviour shared with `mysql`: sql-config.ts, sql.ts.
 *
 * - One statement per batch: `SELECT "key", "col", … FROM "schema"."table" WHERE "key" = ANY($1)`,
 *   the keys bound as one array parameter cast to the key column's own type (so its index is
 *   used). Integer key columns get only keys written as integers; other non-text key columns
 *   are compared as text.
 * - Columns are read from `pg_attribute` for the relation `to_regclass` finds (tables, views,
 *   materialized views, foreign tables), as the statement itself will resolve the name.
 * - Each new session runs `SET statement_timeout`, `default_transaction_read_only = on` and
 *   `TimeZone = 'UTC'`. A cancelled call sends PostgreSQL's cancel request for the session's
 *   backend, then drops the connection.
 * - Type parsers are the pool's own (never pg's global ones): `date` → 'YYYY-MM-DD', `timestamp`
 *   → 'YYYY-MM-DDTHH:MM:SS[.ffffff]', `timestamptz` → the same with 'Z' (or ±HH:MM), `bigint` → a
 *   number when safe else its decimal string, `numeric` → its exact decimal string, non-finite
 *   floats → 'NaN' / 'Infinity', `interval` → its text, `bytea` → base64. The hub's record
 *   validator then coerces strings to each item's declared type.
 * - With `tls` in the config, TLS is required with those options, and the connection string's
 *   own ssl parameters (sslmode, sslrootcert, …) are ignored.
 */
import { connect as netConnect } from 'node:net';
import pg from 'pg';
import type { CustomTypesConfig, PoolClient } from 'pg';
import { readSqlConfig, sqlConfigSchema, type SqlTableName } from './sql-config.ts';
import {
  SqlConnector, type KeyMatch, type SqlColumn, type SqlDialect, type SqlErrorKind, type SqlPool,
  type SqlPoolSettings, type SqlSession, type SqlStatement,
} from './sql.ts';
import type { ConfigSchema, Connector, ConnectorContext, ConnectorFactory } from './types.ts';

const { escapeIdentifier } = pg;

export const postgresConfigSchema: ConfigSchema = sqlConfigSchema('table or view, optionally schema-qualified: name or schema.name');

const OID = {
  bytea: 17, int8: 20, float4: 700, float8: 701, date: 1082, timestamp: 1114, timestamptz: 1184, interval: 1186, numeric: 1700,
} as const;

const TIMESTAMP = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)$/;
const TIMESTAMPTZ = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(?::(\d\d))?$/;

/** `2024-01-02 03:04:05.5` → `2024-01-02T03:04:05.5`; anything else (infinity, BC) as PostgreSQL wrote it. */
export function isoTimestamp(text: string): string {
  const m = TIMESTAMP.exec(text);
  return m ? `${m[1]}T${m[2]}` : text;
}

/** `2024-01-02 03:04:05+00` → `2024-01-02T03:04:05Z`, `…+05:30` → `…+05:30`. */
export function isoTimestamptz(text: string): string {
  const m = TIMESTAMPTZ.exec(text);
  if (!m) return text;
  const [, date, time, hours, minutes = '00'] = m;
  return `${date}T${time}${hours === '+00' && minutes === '00' ? 'Z' : `${hours}:${minutes}`}`;
}

/** A safe integer as a number, a larger one as its exact decimal string. */
export function safeInteger(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

function finiteFloat(text: string): number | string {
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/** The pool's own type parsers: pg's defaults with the overrides above. Text format only. */
function typeParsers(): CustomTypesConfig {
  const byteaParser = pg.types.getTypeParser(OID.bytea, 'text') as (text: string) => Buffer;
  const overrides = new Map<number, (text: string) => unknown>([
    [OID.bytea, (text) => byteaParser(text).toString('base64')],
    [OID.int8, safeInteger],
    [OID.float4, finiteFloat],
    [OID.float8, finiteFloat],
    [OID.numeric, (text) => text],
    [OID.date, (text) => text],
    [OID.timestamp, isoTimestamp],
    [OID.timestamptz, isoTimestamptz],
    [OID.interval, (text) => text],
  ]);
  const getTypeParser = (oid: number, format?: 'text' | 'binary'): unknown =>
    (format === 'binary' ? undefined : overrides.get(oid)) ?? pg.types.getTypeParser(oid, format ?? 'text');
  return { getTypeParser: getTypeParser as CustomTypesConfig['getTypeParser'] };
}

/** SQLSTATE → condition name, for the codes a connector meets (the rest are shown as codes). */
const CONDITIONS: Readonly<Record<string, string>> = {
  '08001': 'sqlclient_unable_to_establish_sqlconnection',
  '08006': 'connection_failure',
  '0A000': 'feature_not_supported',
  '22021': 'character_not_in_repertoire',
  '25006': 'read_only_sql_transaction',
  '28000': 'invalid_authorization_specification',
  '28P01': 'invalid_password',
  '3D000': 'invalid_catalog_name',
  '3F000': 'invalid_schema_name',
  '42501': 'insufficient_privilege',
  '42703': 'undefined_column',
  '42883': 'undefined_function',
  '42P01': 'undefined_table',
  '53300': 'too_many_connections',
  '57014': 'query_canceled',
  '57P01': 'admin_shutdown',
  '57P03': 'cannot_connect_now',
};

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function describePostgresError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = codeOf(error);
  if (error instanceof pg.DatabaseError && code !== undefined) {
    const condition = CONDITIONS[code];
    return condition ? `SQLSTATE ${code} ${condition}` : `SQLSTATE ${code}`;
  }
  if (code !== undefined) return code;
  // pg's own client-side errors ("Connection terminated due to connection timeout", …) are fixed
  // texts; a server's message (DatabaseError, above) may quote data and is never shown.
  return error.message && error.message.length <= 120 ? error.message : error.name;
}

/**
 * Whether asking again may help: a network or client-side error, or a server error of class 08
 * (connection), 40 (rollback: deadlock, serialization), 53 (insufficient resources), 57
 * (operator intervention, statement timeout) or 58 (system error). Not: authentication, missing
 * database, table or column, privileges, a read-only violation, bad data.
 */
export function isTransientPostgresError(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return true;
  const code = codeOf(error) ?? '';
  return ['08', '40', '53', '57', '58'].includes(code.slice(0, 2));
}

const TLS_PARAMS = new Set(['ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'sslnegotiation', 'sslpassword', 'uselibpqcompat']);

/** The connection string without its ssl parameters (the connector's `tls` decides). */
export function withoutTlsParams(uri: string): string {
  const q = uri.indexOf('?');
  if (q < 0) return uri;
  const kept = uri.slice(q + 1).split('&').filter((pair) => {
    const name = pair.split('=')[0] ?? '';
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // keep the raw name
    }
    return pair !== '' && !TLS_PARAMS.has(decoded.toLowerCase());
  });
  return kept.length > 0 ? `${uri.slice(0, q)}?${kept.join('&')}` : uri.slice(0, q);
}

const CANCEL_REQUEST_CODE = 80877102;
const CANCEL_TIMEOUT_MS = 2000;

/** PostgreSQL's CancelRequest (what `pg_cancel_backend` does, without a login): fire and forget. */
function sendCancelRequest(host: string, port: number, processId: number, secretKey: number): void {
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  message.writeInt32BE(processId, 8);
  message.writeInt32BE(secretKey, 12);
  const socket = host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host);
  socket.setTimeout(CANCEL_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.once('connect', () => socket.end(message));
}

/**
 * Columns of the relation the name resolves to, each with the type keys are bound as: a domain's
 * base type (so a domain's CHECK never fails a batch over one odd key; a domain over a domain is
 * compared as text).
 */
const DESCRIBE = `
  SELECT a.attname, t.typname, tn.nspname, CASE WHEN t.typtype = 'd' THEN 'X' ELSE t.typcategory END
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_type d ON d.oid = a.atttypid
    JOIN pg_catalog.pg_type t ON t.oid = CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
   WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
   ORDER BY a.attnum`;

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8']);

function qualified(table: SqlTableName): string {
  return table.schema === undefined ? escapeIdentifier(table.name) : `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`;
}

class PostgresSession implements SqlSession {
  readonly #client: PoolClient;
  #released = false;

  constructor(client: PoolClient) {
    this.#client = client;
  }

  async describe(table: SqlTableName): Promise<SqlColumn[]> {
    const result = await this.#client.query<[string, string, string, string]>({ text: DESCRIBE, values: [qualified(table)], rowMode: 'array' });
    return result.rows.map(([name, type, typeSchema, category]) => {
      const builtin = typeSchema === 'pg_catalog';
      const keyMatch: KeyMatch = builtin && INTEGER_TYPES.has(type) ? 'integer' : category === 'S' ? 'string' : 'text';
      return {
        name,
        keyMatch,
        padded: builtin && type === 'bpchar',
        ...(keyMatch === 'string' ? { bindType: `${escapeIdentifier(typeSchema)}.${escapeIdentifier(type)}` } : {}),
      };
    });
  }

  async run(statement: SqlStatement): Promise<unknown[][]> {
    const result = await this.#client.query<unknown[]>({ text: statement.sql, values: [...statement.params], rowMode: 'array' });
    return result.rows;
  }

  async ping(): Promise<void> {
    await this.#client.query('SELECT 1');
  }

  cancel(): void {
    if (this.#released) return;
    const { processID, secretKey } = this.#client as unknown as { processID?: unknown; secretKey?: unknown };
    if (typeof processID !== 'number' || typeof secretKey !== 'number') return;
    try {
      sendCancelRequest(this.#client.host, this.#client.port, processID, secretKey);
    } catch {
      // best effort: statement_timeout still bounds the statement
    }
  }

  release(destroy: boolean): void {
    if (this.#released) return;
    this.#released = true;
    this.#client.release(destroy ? true : undefined);
  }
}

function createPostgresPool(uri: string, settings: SqlPoolSettings): SqlPool {
  if (!/^postgres(ql)?:\/\//i.test(uri)) throw new Error('connection string must start with postgres:// or postgresql://');
  const pool = new pg.Pool({
    connectionString: settings.tls === undefined ? uri : withoutTlsParams(uri),
    ...(settings.tls === undefined ? {} : { ssl: settings.tls }),
    max: settings.poolSize,
    connectionTimeoutMillis: settings.timeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'yiwang-hub',
    types: typeParsers(),
  });
  // An idle connection that fails (server restart, network) is dropped by the pool; without a
  // listener the 'error' event would end the process.
  pool.on('error', () => undefined);
  const setup = [
    `SET statement_timeout = ${Math.floor(settings.statementTimeoutMs)}`,
    'SET default_transaction_read_only = on',
    "SET TimeZone = 'UTC'",
  ].join('; ');
  const prepared = new WeakSet<PoolClient>();
  return {
    async acquire() {
      const client = await pool.connect();
      if (!prepared.has(client)) {
        try {
          await client.query(setup);
        } catch (error) {
          client.release(true);
          throw error;
        }
        prepared.add(client);
      }
      return new PostgresSession(client);
    },
    end: () => pool.end(),
  };
}

export const postgresDialect: SqlDialect = {
  kind: 'postgres',
  product: 'PostgreSQL',
  caseInsensitiveColumns: false,
  createPool: createPostgresPool,
  tableLabel: qualified,
  latest: (table: SqlTableName, column: SqlColumn): SqlStatement => ({ sql: `SELECT max(${escapeIdentifier(column.name)}) FROM ${qualified(table)}`, params: [] }),
  lookup(table: SqlTableName, key: SqlColumn, columns: readonly SqlColumn[], keys: readonly string[]): SqlStatement | null {
    if (keys.length === 0) return null;
    const select = [key, ...columns].map((c) => escapeIdentifier(c.name)).join(', ');
    const column = escapeIdentifier(key.name);
    const where = key.keyMatch === 'integer' ? `${column} = ANY($1::pg_catalog.int8[])`
      : key.keyMatch === 'string' && key.bindType !== undefined ? `${column} = ANY($1::${key.bindType}[])`
        : `${column}::text = ANY($1::pg_catalog.text[])`;
    return { sql: `SELECT ${select} FROM ${qualified(table)} WHERE ${where}`, params: [[...keys]] };
  },
  describeError: describePostgresError,
  errorKind(error: unknown): SqlErrorKind {
    const code = codeOf(error);
    if (code === '57014') return 'statement-timeout';
    if (code === '42P01' || code === '42703' || code === '3F000') return 'schema-changed';
    return 'other';
  },
  transient: isTransientPostgresError,
};

export const postgresConnectorFactory: ConnectorFactory = {
  kind: 'postgres',
  configSchema: postgresConfigSchema,
  create(name: string, config: Record<string, unknown>, context: ConnectorContext): Connector {
    return new SqlConnector(name, postgresDialect, readSqlConfig(config, context.baseDir), context.env);
  },
};
