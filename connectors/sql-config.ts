/**
 * The config shared by the SQL connector kinds `postgres` and `mysql` (前置库: a department's
 * front-end database), and reading its secrets.
 *
 *     zr-db:
 *       kind: postgres                    # or mysql (MySQL 8, MariaDB 10.4+)
 *       uriEnv: ZR_POSTGRES_URL           # or uriFile: secrets/zr.url — exactly one; never inline
 *       datasets:                         # resource binding.dataset → table
 *         real_estate:
 *           table: budongchan.owner_summary  # table or view, optionally schema-qualified
 *           keyColumn: id_number          # default: items[keyField], else the binding's keyField
 *           items: { propertyCount: property_count }   # item → column; default: same name
 *           updatedAtColumn: updated_at   # optional: a timestamp (or date) column; its latest value
 *                                         # dates the data for quality reports (freshness)
 *       poolSize: 10
 *       timeoutMs: 5000                   # client-side deadline of one batch call
 *       statementTimeoutMs: 5000          # server-side limit per statement (default timeoutMs)
 *       batchSize: 1000                   # keys per statement
 *       tls: { caFile: certs/ca.pem }     # optional: require TLS (verified unless rejectUnauthorized: false)
 *
 * A dataset that `datasets` does not list is never read: the catalogue names every table the hub
 * may touch. Identifiers are quoted with the driver's escaping and checked against the table's
 * columns before the first read, so a name in the config can never become SQL.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { ConfigSchema } from './types.ts';
import { UpstreamError } from './types.ts';

export interface SqlDatasetConfig {
  /** Table or view: `name` or `schema.name` (MySQL: `database.name`). */
  readonly table: string;
  readonly keyColumn?: string;
  /** Item name → column name; an item not listed reads the column of its own name. */
  readonly items: Readonly<Record<string, string>>;
  /** A timestamp or date column whose latest value says when the data last changed (freshness). */
  readonly updatedAtColumn?: string;
}

export interface SqlTlsConfig {
  readonly rejectUnauthorized: boolean;
  /** Absolute paths (resolved against the catalogue directory). */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export interface SqlConnectorConfig {
  readonly uriEnv?: string;
  /** Absolute path of the file holding the connection string. */
  readonly uriFile?: string;
  readonly datasets: Readonly<Record<string, SqlDatasetConfig>>;
  readonly poolSize: number;
  readonly timeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly batchSize: number;
  readonly tls?: SqlTlsConfig;
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_BATCH_SIZE = 1000;

/** A table or column name: anything printable (it is quoted), never a control character. */
const identifier = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]*$' } as const;
const filePath = { type: 'string', minLength: 1, description: 'file path; relative to the catalogue directory' } as const;

/** The JSON Schema of a SQL kind's config; `tableHelp` says how that kind qualifies a table. */
export function sqlConfigSchema(tableHelp: string): ConfigSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['datasets'],
    properties: {
      uriEnv: {
        type: 'string',
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        description: 'name of the environment variable holding the connection string',
      },
      uriFile: { ...filePath, description: 'file holding the connection string (a secret file); relative to the catalogue directory' },
      datasets: {
        type: 'object',
        minProperties: 1,
        description: 'resource binding.dataset → the table it reads',
        propertyNames: { minLength: 1, maxLength: 200 },
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['table'],
          properties: {
            table: {
              type: 'string',
              minLength: 1,
              maxLength: 257,
              pattern: '^[^.\\u0000-\\u001f\\u007f]+(\\.[^.\\u0000-\\u001f\\u007f]+)?$',
              description: tableHelp,
            },
            keyColumn: identifier,
            items: {
              type: 'object',
              propertyNames: { minLength: 1, maxLength: 100 },
              additionalProperties: identifier,
              default: {},
            },
            updatedAtColumn: { ...identifier, description: 'a timestamp or date column: its latest value says when the data last changed (quality reports: freshness)' },
          },
        },
      },
      poolSize: { type: 'integer', minimum: 1, maximum: 200, default: DEFAULT_POOL_SIZE },
      timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000, default: DEFAULT_TIMEOUT_MS },
      statementTimeoutMs: { type: 'integer', minimum: 1, maximum: 600_000, description: 'server-side limit per statement (default timeoutMs)' },
      batchSize: { type: 'integer', minimum: 1, maximum: 10_000, default: DEFAULT_BATCH_SIZE },
      tls: {
        type: 'object',
        additionalProperties: false,
        description: 'require TLS; without it, the connection string decides',
        properties: {
          rejectUnauthorized: { type: 'boolean', default: true, description: 'verify the server certificate and host name (never false in production)' },
          caFile: filePath,
          certFile: filePath,
          keyFile: filePath,
          minVersion: { enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2' },
        },
        dependentRequired: { certFile: ['keyFile'], keyFile: ['certFile'] },
      },
    },
    // Exactly one of uriEnv / uriFile. (`properties: {x: true}` satisfies ajv's strictRequired.)
    oneOf: [
      { type: 'object', properties: { uriEnv: true }, required: ['uriEnv'] },
      { type: 'object', properties: { uriFile: true }, required: ['uriFile'] },
    ],
  };
}

/** Reads an already validated config, applying defaults again for callers that skip the registry. */
export function readSqlConfig(config: Record<string, unknown>, baseDir: string): SqlConnectorConfig {
  const uriEnv = config['uriEnv'] as string | undefined;
  const uriFile = config['uriFile'] as string | undefined;
  const timeoutMs = (config['timeoutMs'] as number | undefined) ?? DEFAULT_TIMEOUT_MS;
  const datasets: Record<string, SqlDatasetConfig> = {};
  for (const [dataset, raw] of Object.entries((config['datasets'] ?? {}) as Record<string, Record<string, unknown>>)) {
    const keyColumn = raw['keyColumn'] as string | undefined;
    const updatedAtColumn = raw['updatedAtColumn'] as string | undefined;
    const entry: SqlDatasetConfig = {
      table: String(raw['table']),
      ...(keyColumn === undefined ? {} : { keyColumn }),
      ...(updatedAtColumn === undefined ? {} : { updatedAtColumn }),
      items: { ...((raw['items'] ?? {}) as Record<string, string>) },
    };
    Object.defineProperty(datasets, dataset, { value: entry, enumerable: true });
  }
  const tls = config['tls'] as Record<string, unknown> | undefined;
  const path = (key: string): { [k: string]: string } => {
    const value = tls?.[key];
    return typeof value === 'string' ? { [key]: resolve(baseDir, value) } : {};
  };
  return {
    ...(uriEnv === undefined ? {} : { uriEnv }),
    ...(uriFile === undefined ? {} : { uriFile: resolve(baseDir, uriFile) }),
    datasets,
    poolSize: (config['poolSize'] as number | undefined) ?? DEFAULT_POOL_SIZE,
    timeoutMs,
    statementTimeoutMs: (config['statementTimeoutMs'] as number | undefined) ?? timeoutMs,
    batchSize: (config['batchSize'] as number | undefined) ?? DEFAULT_BATCH_SIZE,
    ...(tls === undefined ? {} : {
      tls: {
        rejectUnauthorized: tls['rejectUnauthorized'] !== false,
        minVersion: tls['minVersion'] === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2',
        ...path('caFile'),
        ...path('certFile'),
        ...path('keyFile'),
      } as SqlTlsConfig,
    }),
  };
}

/** `schema.name` → its parts; the schema is optional. */
export interface SqlTableName {
  readonly schema?: string;
  readonly name: string;
}

export function parseTableName(table: string): SqlTableName {
  const dot = table.indexOf('.');
  return dot < 0 ? { name: table } : { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}

/**
 * The connection string, from the environment variable or the secret file (read on every connect,
 * so a rotated secret is picked up when the pool is rebuilt). Never echoed in an error.
 */
export async function readConnectionString(
  connector: string, label: string, config: SqlConnectorConfig, env: NodeJS.ProcessEnv,
): Promise<string> {
  if (config.uriEnv !== undefined) {
    const value = env[config.uriEnv];
    if (!value) throw new UpstreamError(connector, `${label}: environment variable ${config.uriEnv} (connection string) is not set`, { transient: false });
    return value.trim();
  }
  const file = config.uriFile ?? '';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UpstreamError(connector, `${label}: secret file ${file} (connection string) could not be read (${typeof code === 'string' ? code : 'unknown error'})`, { transient: false });
  }
  const value = text.trim();
  if (!value) throw new UpstreamError(connector, `${label}: secret file ${file} (connection string) is empty`, { transient: false });
  return value;
}

/** Node TLS options from the `tls` config: the files are read now; a missing one is named. */
export async function readTlsOptions(connector: string, label: string, tls: SqlTlsConfig): Promise<ConnectionOptions> {
  const read = async (file: string | undefined, what: string): Promise<string | undefined> => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new UpstreamError(connector, `${label}: tls ${what} ${file} could not be read (${typeof code === 'string' ? code : 'unknown error'})`, { transient: false });
    }
  };
  const [ca, cert, key] = await Promise.all([read(tls.caFile, 'caFile'), read(tls.certFile, 'certFile'), read(tls.keyFile, 'keyFile')]);
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    minVersion: tls.minVersion,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
}
