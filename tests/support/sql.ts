/**
 * Throwaway databases on the machine's PostgreSQL and MySQL/MariaDB servers, for the SQL connector
 * tests. Admin logins come from HUB_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * and HUB_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306). Each call creates a uniquely
 * named database (`hubtest_<pid>_<time>_<random>`) and `drop()` removes it; databases of this shape
 * older than six hours (left by a killed run) are dropped when the next one is created.
 *
 *     let db: PostgresTestDatabase;
 *     beforeAll(async () => { db = await postgresTestDatabase(); });
 *     afterAll(() => db?.drop());
 */
import { randomBytes } from 'node:crypto';
import { createConnection, type Connection } from 'mysql2/promise';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env['HUB_TEST_POSTGRES_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres';
export const MYSQL_ADMIN_URL = process.env['HUB_TEST_MYSQL_URL'] || 'mysql://root@127.0.0.1:3306';

const STALE_MS = 6 * 3600_000;
const NAME = /^hubtest_\d+_([0-9a-z]+)_[0-9a-f]{8}$/;

function uniqueName(): string {
  return `hubtest_${process.pid}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

function stale(name: string): boolean {
  const m = NAME.exec(name);
  return m !== null && Date.now() - parseInt(m[1]!, 36) > STALE_MS;
}

/** The URL with its password hidden, for messages. */
function shown(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface PostgresTestDatabase {
  readonly name: string;
  /** Connection string of the new database. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** An open client on the new database, for fixtures and checks. */
  readonly client: pg.Client;
  drop(): Promise<void>;
}

export async function postgresTestDatabase(): Promise<PostgresTestDatabase> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${shown(POSTGRES_ADMIN_URL)} (${(error as Error).message}): start it (README, "SQL front-end databases") or set HUB_TEST_POSTGRES_URL`, { cause: error });
  }
  const name = uniqueName();
  let client: pg.Client | undefined;
  try {
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'hubtest\\_%'");
    for (const { datname } of rows.filter((r) => stale(r.datname))) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`).catch(() => undefined);
    }
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    const url = withDatabase(POSTGRES_ADMIN_URL, name);
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const u = new URL(url);
    let dropped: Promise<void> | undefined;
    const opened = client;
    return {
      name, url, host: u.hostname, port: Number(u.port || 5432), client: opened,
      drop() {
        dropped ??= (async () => {
          try {
            await opened.end().catch(() => undefined);
            await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
          } finally {
            await admin.end();
          }
        })();
        return dropped;
      },
    };
  } catch (error) {
    await client?.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    throw error;
  }
}

export interface MysqlTestDatabase {
  readonly name: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** An open connection with the new database selected. */
  readonly connection: Connection;
  drop(): Promise<void>;
}

export async function mysqlTestDatabase(): Promise<MysqlTestDatabase> {
  const u = new URL(MYSQL_ADMIN_URL);
  const login = {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    connectTimeout: 5000,
  };
  let admin: Connection;
  try {
    admin = await createConnection(login);
  } catch (error) {
    throw new Error(`MySQL/MariaDB is not reachable at ${shown(MYSQL_ADMIN_URL)} (${(error as Error).message}): start it (README, "SQL front-end databases") or set HUB_TEST_MYSQL_URL`, { cause: error });
  }
  const name = uniqueName();
  const quoted = admin.escapeId(name);
  try {
    const [rows] = await admin.query("SHOW DATABASES LIKE 'hubtest\\_%'");
    for (const row of rows as Array<Record<string, string>>) {
      const existing = Object.values(row)[0] ?? '';
      if (stale(existing)) await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(existing)}`).catch(() => undefined);
    }
    await admin.query(`CREATE DATABASE ${quoted} CHARACTER SET utf8mb4`);
    const connection = await createConnection({ ...login, database: name, multipleStatements: true });
    let dropped: Promise<void> | undefined;
    return {
      name, url: withDatabase(MYSQL_ADMIN_URL, name), host: login.host, port: login.port, connection,
      drop() {
        dropped ??= (async () => {
          try {
            connection.destroy();
            await admin.query(`DROP DATABASE IF EXISTS ${quoted}`);
          } finally {
            admin.destroy();
          }
        })();
        return dropped;
      },
    };
  } catch (error) {
    await admin.query(`DROP DATABASE IF EXISTS ${quoted}`).catch(() => undefined);
    admin.destroy();
    throw error;
  }
}

/** Resolves when `check` returns true, or rejects after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
