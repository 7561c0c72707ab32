/**
 * `node tests/support/sql-servers.ts`: says whether the SQL servers the connector tests use answer
 * (HUB_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres; HUB_TEST_MYSQL_URL,
 * default mysql://root@127.0.0.1:3306), each within three seconds. Exit status 1 names the ones
 * that do not. .ci/run calls it before the tests.
 */
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { MYSQL_ADMIN_URL, POSTGRES_ADMIN_URL } from './sql.ts';

const TIMEOUT_MS = 3000;

/** host:port of a connection string, never its password. */
function server(url: string, port: number): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || port}`;
}

function reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

async function postgres(): Promise<string> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: TIMEOUT_MS });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return `PostgreSQL ${rows[0]?.v ?? '?'}`;
  } finally {
    await client.end();
  }
}

async function mysql(): Promise<string> {
  const u = new URL(MYSQL_ADMIN_URL);
  const connection = await createConnection({
    host: u.hostname || '127.0.0.1', port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), connectTimeout: TIMEOUT_MS,
  });
  try {
    const [rows] = await connection.query({ sql: 'SELECT VERSION()', rowsAsArray: true });
    return `MySQL/MariaDB ${String((rows as unknown[][])[0]?.[0] ?? '?')}`;
  } finally {
    connection.destroy();
  }
}

const checks = [
  { name: 'PostgreSQL', variable: 'HUB_TEST_POSTGRES_URL', where: server(POSTGRES_ADMIN_URL, 5432), run: postgres },
  { name: 'MySQL/MariaDB', variable: 'HUB_TEST_MYSQL_URL', where: server(MYSQL_ADMIN_URL, 3306), run: mysql },
];
let failed = 0;
for (const check of checks) {
  try {
    console.log(`${check.name}: ${check.where} answers (${await check.run()})`);
  } catch (error) {
    failed += 1;
    console.log(`${check.name}: NOT reachable at ${check.where} (${reason(error)}); start it, or set ${check.variable} to a server the tests may create databases on`);
  }
}
process.exit(failed > 0 ? 1 : 0);
