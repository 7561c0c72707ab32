/**
 * The `postgres` connector against the machine's PostgreSQL (HUB_TEST_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), in a database of its own that is dropped afterwards.
 */
import { access } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

import { upstreamError } from '../support/connectors.ts';
import { postgresTestDatabase } from '../support/sql.ts';
import { sqlConnectorSuite, type SuiteDatabase } from './sql-suite.ts';

const SNAKEOIL = '/etc/ssl/certs/ssl-cert-snakeoil.pem';

const suite = sqlConnectorSuite({
  kind: 'postgres',
  protocol: 'postgres',
  async database(): Promise<SuiteDatabase> {
    const t = await postgresTestDatabase();
    await t.client.query("SET TimeZone = 'UTC'; SET search_path = public, bdc");
    return {
      name: t.name, url: t.url, host: t.host, port: t.port,
      exec: async (sql, params) => (await t.client.query(sql, params)).rows as Array<Record<string, unknown>>,
      running: async (marker) => {
        const { rows } = await t.client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND position($1 in query) > 0",
          [marker],
        );
        return rows[0]?.n ?? 0;
      },
      drop: () => t.drop(),
    };
  },
  async fixtures(db) {
    await db.exec(`
      CREATE SCHEMA bdc;
      CREATE TABLE bdc.real_estate (
        id_number char(18) PRIMARY KEY, full_name varchar(50), property_count integer, total_area numeric(12,2),
        big_value bigint, born date, registered_at timestamp, updated_at timestamptz, note text);
      CREATE VIEW public.slow_estate AS
        SELECT id_number, property_count + (SELECT 0 FROM pg_sleep(5)) AS property_count FROM bdc.real_estate;
      CREATE TABLE public.counters (id bigint PRIMARY KEY, label text);`);
  },
  qualifiedTable: () => 'bdc.real_estate',
  async insert(db, table, columns, rows) {
    for (const row of rows) {
      await db.exec(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, [...row]);
    }
  },
  quote: (name) => `"${name.replaceAll('"', '""')}"`,
});

describe('postgres connector, PostgreSQL specifics', () => {
  it('maps interval, bytea, non-finite numbers, infinite dates and offsets to plain values', async () => {
    await suite.db().exec(`
      CREATE VIEW public.typed AS SELECT 'k1'::text AS k, interval '1 day 02:00' AS span, '\\x0102ff'::bytea AS bin,
        'NaN'::float8 AS f8, 12.5::float4 AS f4, 'infinity'::date AS d, '2024-01-02 03:04:05.5+00'::timestamptz AS tz,
        NULL::numeric AS nothing, true AS yes, '{"a":1}'::jsonb AS doc`);
    const c = suite.connector({ datasets: { typed: { table: 'typed', keyColumn: 'k' } } });
    const [record] = await c.fetchMany({ dataset: 'typed', keyField: 'k', keys: ['k1'], items: ['span', 'bin', 'f8', 'f4', 'd', 'tz', 'nothing', 'yes', 'doc'] });
    expect(record).toEqual({
      k: 'k1', span: '1 day 02:00:00', bin: 'AQL/', f8: 'NaN', f4: 12.5, d: 'infinity', tz: '2024-01-02T03:04:05.5Z', nothing: null, yes: true, doc: { a: 1 },
    });
  });

  it('matches char(n) keys without their padding, and binds keys in the column\'s (base) type', async () => {
    const db = suite.db();
    const id = suite.people[7]!.idNumber;
    await db.exec('CREATE TABLE public.padded (id char(20) PRIMARY KEY, v text)');
    await db.exec('INSERT INTO public.padded VALUES ($1, $2)', [id, 'padded']);
    const c = suite.watched({ datasets: { padded: { table: 'padded', keyColumn: 'id' } } });
    expect(await c.fetchMany({ dataset: 'padded', keyField: 'idNumber', keys: [id, `${id} `], items: ['v'] }))
      .toEqual([{ idNumber: id, v: 'padded' }, null]);
    expect(suite.proxy().executed.at(-1)).toBe('SELECT "id", "v" FROM "padded" WHERE "id" = ANY($1::"pg_catalog"."bpchar"[])');

    // A domain's CHECK must not fail the batch over one odd key: keys are bound as its base type.
    await db.exec("CREATE DOMAIN public.id18 AS varchar(18) CHECK (length(VALUE) = 18); CREATE TABLE public.checked (id public.id18 PRIMARY KEY, v text)");
    await db.exec('INSERT INTO public.checked VALUES ($1, $2)', [id, 'checked']);
    const d = suite.watched({ datasets: { checked: { table: 'checked', keyColumn: 'id' } } });
    expect(await d.fetchMany({ dataset: 'checked', keyField: 'idNumber', keys: ['short', id], items: ['v'] }))
      .toEqual([null, { idNumber: id, v: 'checked' }]);
    expect(suite.proxy().executed.at(-1)).toBe('SELECT "id", "v" FROM "checked" WHERE "id" = ANY($1::"pg_catalog"."varchar"[])');
  });

  it('reads in read-only sessions: a view that writes fails and writes nothing', async () => {
    const db = suite.db();
    await db.exec(`
      CREATE FUNCTION public.touch() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO public.counters VALUES (99, 'written'); SELECT 1 $$;
      CREATE VIEW public.writer AS SELECT id, label, public.touch() AS touched FROM public.counters`);
    const c = suite.connector({ datasets: { writer: { table: 'writer', keyColumn: 'id' } } });
    const error = await upstreamError(c.fetchMany({ dataset: 'writer', keyField: 'id', keys: ['12'], items: ['touched'] }));
    expect(error.message).toBe('postgres connector "postgres-zr": read writer (dataset "writer") failed (SQLSTATE 25006 read_only_sql_transaction)');
    expect(await db.exec('SELECT count(*)::int AS n FROM public.counters WHERE id = 99')).toEqual([{ n: 0 }]);
  });

  it('requires TLS when tls is set, verifying the server certificate, whatever sslmode the connection string says', async (ctx) => {
    const db = suite.db();
    const [{ ssl } = { ssl: 'off' }] = await db.exec('SHOW ssl') as Array<{ ssl: string }>;
    const snakeoil = await access(SNAKEOIL).then(() => true, () => false);
    if (ssl !== 'on' || !snakeoil) {
      ctx.skip();
      return;
    }
    const byName = new URL(db.url);
    byName.hostname = 'localhost';
    byName.search = '?sslmode=disable';
    const env = { ZR_DB_URL: byName.toString() };
    const id = suite.people[2]!.idNumber;
    const read = (config: Record<string, unknown>) =>
      suite.connector(config, env).fetchMany({ dataset: 'real_estate', keyField: 'idNumber', keys: [id], items: ['fullName'] });

    expect(await read({ tls: { caFile: SNAKEOIL } })).toEqual([{ idNumber: id, fullName: '测试2' }]);
    const encrypted = await db.exec(`SELECT bool_and(s.ssl) AS all_tls, count(*)::int AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
      WHERE a.application_name = 'yiwang-hub' AND a.datname = current_database()`);
    expect(encrypted).toEqual([{ all_tls: true, n: 1 }]);

    // The snakeoil certificate signs itself: a chain of one, not trusted without its CA.
    const untrusted = await upstreamError(read({ tls: {} }));
    expect(untrusted.message).toMatch(/^postgres connector "postgres-zr": could not connect to PostgreSQL \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
    expect(await read({ tls: { rejectUnauthorized: false } })).toEqual([{ idNumber: id, fullName: '测试2' }]);
    const missing = await upstreamError(read({ tls: { caFile: 'no-such-ca.pem' } }));
    expect(missing.message).toMatch(/tls caFile \S+no-such-ca\.pem could not be read \(ENOENT\)$/);
  });
});
