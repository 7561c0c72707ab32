/**
 * Starts the sample department systems on loopback with synthetic data: 公安 and 民政 as REST
 * services, 人社 and 医保 as MongoDB databases, 卫健 / 自然资源 / 市场监管 as files. Returns the
 * environment variables the demo catalogue's connectors.yaml reads.
 *
 * 自然资源 (不动产登记, resource ZR-REAL-ESTATE) moves to a PostgreSQL front-end database (前置库)
 * when the caller names a PostgreSQL server (`postgresUrl`; `hub demo` passes DEMO_POSTGRES_URL,
 * default postgres://postgres@127.0.0.1:5432/postgres) and it answers within two seconds: the
 * database `<prefix>ziranziyuan` is (re)loaded with the same rows as real_estate.csv, and
 * `bind(catalogue)` binds the resource to the catalogue's `ziranziyuan-postgres` connector.
 * Otherwise the department stays on its CSV file, and the catalogue is left as it is.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import type { Binding, Catalogue } from '../schema/index.ts';
import type { DemoData } from './data.ts';
import { startRestDepartment } from './systems/rest-department.ts';

export type RestDepartment = Awaited<ReturnType<typeof startRestDepartment>>;

export interface DepartmentSystems {
  readonly env: Readonly<Record<string, string>>;
  readonly gongan: RestDepartment;
  readonly minzheng: RestDepartment;
  /** MongoDB databases of 人社 and 医保. */
  readonly databases: { readonly renshe: string; readonly yibao: string };
  /** 自然资源's PostgreSQL database, when it serves the department (else it is on files). */
  readonly postgres?: { readonly database: string; readonly server: string };
  /** Resource code → the binding that replaces the catalogue's (ZR-REAL-ESTATE on PostgreSQL). */
  readonly bindings: Readonly<Record<string, Binding>>;
  /** The catalogue with `bindings` applied (a binding whose connector the catalogue lacks is skipped). */
  bind(catalogue: Catalogue): Catalogue;
  close(): Promise<void>;
}

export interface DepartmentOptions {
  readonly data: DemoData;
  readonly mongoUri: string;
  readonly filesDir: string;
  /** Prefix of the department databases (tests use a unique one and drop them). */
  readonly databasePrefix?: string;
  readonly gonganPort?: number;
  readonly minzhengPort?: number;
  /** PostgreSQL server (an admin login) for 自然资源; without it the department stays on files. */
  readonly postgresUrl?: string;
  /** Told which store each department uses. */
  readonly log?: (line: string) => void;
}

export const DEFAULT_DEMO_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The PostgreSQL server `hub demo` tries: DEMO_POSTGRES_URL, else the local default. */
export function demoPostgresUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env['DEMO_POSTGRES_URL'] || DEFAULT_DEMO_POSTGRES_URL;
}

/** The connector of the demo catalogue that reads 自然资源's PostgreSQL database. */
export const ZIRANZIYUAN_POSTGRES_CONNECTOR = 'ziranziyuan-postgres';
const REACH_TIMEOUT_MS = 2000;

/** host:port of a connection string, never its user or password. */
function serverOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}`;
  } catch {
    return 'the configured server';
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * Creates (once) the database and (re)loads 不动产登记 into `budongchan.real_estate_summary`.
 * Returns the database's connection string, or why PostgreSQL cannot serve the demo.
 */
async function loadZiranziyuan(adminUrl: string, database: string, rows: DemoData['sql']['ziranziyuan']['realEstate']): Promise<{ url: string } | { unavailable: string }> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: REACH_TIMEOUT_MS });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { unavailable: `not reachable (${typeof code === 'string' ? code : 'no answer within 2 s'})` };
  }
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { unavailable: `could not create database ${database} (SQLSTATE ${typeof code === 'string' ? code : '?'})` };
  } finally {
    await admin.end().catch(() => undefined);
  }
  const url = withDatabase(adminUrl, database);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: REACH_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { unavailable: `could not connect to database ${database} (${typeof code === 'string' ? code : 'no answer within 2 s'})` };
  }
  try {
    await client.query('BEGIN');
    await client.query('CREATE SCHEMA IF NOT EXISTS budongchan');
    await client.query('DROP TABLE IF EXISTS budongchan.real_estate_summary');
    await client.query(`CREATE TABLE budongchan.real_estate_summary (
      id_number char(18) PRIMARY KEY,
      property_count integer NOT NULL,
      total_area numeric(10,2) NOT NULL,
      updated_on date NOT NULL DEFAULT current_date)`);
    await client.query("COMMENT ON TABLE budongchan.real_estate_summary IS '不动产登记信息（汇总）: synthetic demo data'");
    await client.query(
      'INSERT INTO budongchan.real_estate_summary (id_number, property_count, total_area) SELECT * FROM unnest($1::text[], $2::int[], $3::numeric[])',
      [rows.map((r) => r.idNumber), rows.map((r) => r.propertyCount), rows.map((r) => r.totalArea.toFixed(2))],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const code = (error as { code?: unknown }).code;
    return { unavailable: `could not load database ${database} (SQLSTATE ${typeof code === 'string' ? code : '?'})` };
  } finally {
    await client.end().catch(() => undefined);
  }
  return { url };
}

export async function startDepartments(options: DepartmentOptions): Promise<DepartmentSystems> {
  const { data } = options;
  const log = options.log ?? (() => undefined);
  const prefix = options.databasePrefix ?? 'dept_';
  const databases = { renshe: `${prefix}renshe`, yibao: `${prefix}yibao` };

  await mkdir(options.filesDir, { recursive: true });
  for (const [name, content] of Object.entries(data.files)) await writeFile(join(options.filesDir, name), content, 'utf8');

  const client = new MongoClient(options.mongoUri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    for (const role of ['renshe', 'yibao'] as const) {
      const db = client.db(databases[role]);
      for (const [collection, docs] of Object.entries(data.mongo[role])) {
        await db.collection(collection).deleteMany({});
        if (docs.length) await db.collection(collection).insertMany(docs.map((d) => ({ ...d })));
        await db.collection(collection).createIndex({ idNumber: 1 });
      }
    }
  } finally {
    await client.close();
  }

  const sqlEnv: Record<string, string> = {};
  const bindings: Record<string, Binding> = {};
  let postgres: DepartmentSystems['postgres'];
  if (options.postgresUrl === undefined) {
    log('自然资源 (不动产登记): CSV file real_estate.csv');
  } else {
    const database = `${prefix}ziranziyuan`;
    const server = serverOf(options.postgresUrl);
    const loaded = await loadZiranziyuan(options.postgresUrl, database, data.sql.ziranziyuan.realEstate);
    if ('url' in loaded) {
      sqlEnv['DEMO_ZIRANZIYUAN_POSTGRES_URL'] = loaded.url;
      bindings['ZR-REAL-ESTATE'] = { connector: ZIRANZIYUAN_POSTGRES_CONNECTOR, dataset: 'real_estate', keyField: 'idNumber' };
      postgres = { database, server };
      log(`自然资源 (不动产登记): PostgreSQL database ${database} on ${server} (connector ${ZIRANZIYUAN_POSTGRES_CONNECTOR})`);
    } else {
      log(`自然资源 (不动产登记): CSV file real_estate.csv (PostgreSQL at ${server} ${loaded.unavailable})`);
    }
  }

  const gongan = await startRestDepartment({ datasets: data.rest.gongan, port: options.gonganPort ?? 0 });
  let minzheng: RestDepartment;
  try {
    minzheng = await startRestDepartment({ datasets: data.rest.minzheng, port: options.minzhengPort ?? 0 });
  } catch (error) {
    await gongan.close();
    throw error;
  }
  return {
    env: {
      DEMO_GONGAN_URL: gongan.url,
      DEMO_MINZHENG_URL: minzheng.url,
      DEMO_DEPARTMENT_MONGODB_URI: options.mongoUri,
      DEMO_RENSHE_DATABASE: databases.renshe,
      DEMO_YIBAO_DATABASE: databases.yibao,
      DEMO_FILES_DIR: options.filesDir,
      ...sqlEnv,
    },
    gongan,
    minzheng,
    databases,
    ...(postgres === undefined ? {} : { postgres }),
    bindings,
    bind(catalogue) {
      const connectors = new Set(catalogue.connectors.map((c) => c.name));
      return {
        ...catalogue,
        resources: catalogue.resources.map((r) => {
          const binding = bindings[r.code];
          return binding && connectors.has(binding.connector) ? { ...r, binding } : r;
        }),
      };
    },
    async close() {
      await Promise.allSettled([gongan.close(), minzheng.close()]);
    },
  };
}
