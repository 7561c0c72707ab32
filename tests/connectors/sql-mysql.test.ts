/**
 * The `mysql` connector against the machine's MariaDB or MySQL (HUB_TEST_MYSQL_URL, default
 * mysql://root@127.0.0.1:3306), in a database of its own that is dropped afterwards.
 */
import { describe, expect, it } from 'vitest';

import { upstreamError } from '../support/connectors.ts';
import { mysqlTestDatabase } from '../support/sql.ts';
import { sqlConnectorSuite, type SuiteDatabase } from './sql-suite.ts';

const suite = sqlConnectorSuite({
  kind: 'mysql',
  protocol: 'mysql',
  async database(): Promise<SuiteDatabase> {
    const t = await mysqlTestDatabase();
    await t.connection.query("SET SESSION time_zone = '+00:00'");
    return {
      name: t.name, url: t.url, host: t.host, port: t.port,
      exec: async (sql, params) => {
        const [rows] = await t.connection.query(sql, params);
        return Array.isArray(rows) ? rows as Array<Record<string, unknown>> : [];
      },
      running: async (marker) => {
        const [rows] = await t.connection.query(
          'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND LOCATE(?, INFO) > 0',
          [marker],
        );
        return Number((rows as Array<{ n: number }>)[0]?.n ?? 0);
      },
      drop: () => t.drop(),
    };
  },
  async fixtures(db) {
    await db.exec(`
      CREATE TABLE real_estate (
        id_number CHAR(18) PRIMARY KEY, full_name VARCHAR(50), property_count INT, total_area DECIMAL(12,2),
        big_value BIGINT, born DATE, registered_at DATETIME(6), updated_at TIMESTAMP NULL, note TEXT);
      CREATE VIEW slow_estate AS SELECT id_number, property_count + SLEEP(5) AS property_count FROM real_estate;
      CREATE TABLE counters (id BIGINT PRIMARY KEY, label VARCHAR(20));`);
  },
  qualifiedTable: (db) => `${db.name}.real_estate`,
  async insert(db, table, columns, rows) {
    for (const row of rows) {
      await db.exec(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, [...row]);
    }
  },
  quote: (name) => `\`${name.replaceAll('`', '``')}\``,
});

describe('mysql connector, MySQL/MariaDB specifics', () => {
  it('maps BIT, binary strings, TIME, YEAR and JSON to plain values', async () => {
    await suite.db().exec(`
      CREATE TABLE typed (k VARCHAR(10) PRIMARY KEY, flag BIT(1), bits BIT(12), bin VARBINARY(8), t TIME, y YEAR, doc JSON, d DATE);
      INSERT INTO typed VALUES ('k1', b'1', b'101010101010', x'0102ff', '12:34:56', 2024, '{"a": 1}', NULL)`);
    const c = suite.connector({ datasets: { typed: { table: 'typed', keyColumn: 'k' } } });
    const [record] = await c.fetchMany({ dataset: 'typed', keyField: 'k', keys: ['k1'], items: ['flag', 'bits', 'bin', 't', 'y', 'doc', 'd'] });
    expect(record).toEqual({ k: 'k1', flag: 1, bits: 2730, bin: 'AQL/', t: '12:34:56', y: 2024, doc: { a: 1 }, d: null });
  });

  it('pads the placeholder count to a power of two, so a connection prepares few statements', async () => {
    const c = suite.watched({ poolSize: 1 });
    const ids = suite.people.map((p) => p.idNumber);
    for (const n of [3, 4, 3, 5, 8, 1]) {
      const answers = await c.fetchMany({ dataset: 'real_estate', keyField: 'idNumber', keys: ids.slice(0, n), items: ['fullName'] });
      expect(answers.map((r) => r?.['fullName'])).toEqual(suite.people.slice(0, n).map((p) => p.fullName));
    }
    const lookups = suite.proxy().prepared.filter((sql) => sql.includes('`real_estate`'));
    expect(lookups.map((sql) => sql.split('?').length - 1)).toEqual([4, 8, 1]);
    expect(suite.proxy().executed.filter((sql) => sql.includes('`real_estate`'))).toHaveLength(6);
  });

  it('matches column names without case, as MySQL does', async () => {
    const id = suite.people[6]!.idNumber;
    const c = suite.connector({ datasets: { real_estate: { table: 'REAL_ESTATE'.toLowerCase(), keyColumn: 'ID_Number', items: { fullName: 'Full_Name' } } } });
    expect(await c.fetchMany({ dataset: 'real_estate', keyField: 'idNumber', keys: [id], items: ['fullName'] })).toEqual([{ idNumber: id, fullName: '测试6' }]);
  });

  it('refuses connection string parameters (naming the parameter, not the string) and a TLS the server lacks', async () => {
    const db = suite.db();
    const withParam = new URL(db.url);
    withParam.password = 'pa55-secret';
    withParam.search = '?multipleStatements=true';
    const c = suite.connector({}, { ZR_DB_URL: withParam.toString() });
    const error = await upstreamError(c.fetchMany({ dataset: 'real_estate', keyField: 'idNumber', keys: ['x'], items: [] }));
    expect(error.message).toBe('mysql connector "mysql-zr": connection string parameter "multipleStatements" is not supported (only socketPath; TLS goes in the connector\'s tls)');
    expect(error.transient).toBe(false);

    const [{ Value: haveSsl } = { Value: 'DISABLED' }] = await db.exec("SHOW VARIABLES LIKE 'have_ssl'") as Array<{ Value: string }>;
    if (haveSsl !== 'YES') {
      const tls = suite.connector({ tls: {} });
      const refused = await upstreamError(tls.fetchMany({ dataset: 'real_estate', keyField: 'idNumber', keys: ['x'], items: [] }));
      expect(refused.message).toMatch(/^mysql connector "mysql-zr": could not connect to MySQL\/MariaDB \(\w+\)$/);
    }
  });

  it('refuses a wrong password without showing it', async () => {
    const wrong = new URL(suite.db().url);
    wrong.password = 'definitely-wrong-pw';
    const c = suite.connector({}, { ZR_DB_URL: wrong.toString() });
    const error = await upstreamError(c.fetchMany({ dataset: 'real_estate', keyField: 'idNumber', keys: ['x'], items: [] }));
    expect(error.message).toBe('mysql connector "mysql-zr": could not connect to MySQL/MariaDB (ER_ACCESS_DENIED_ERROR (errno 1045))');
    expect(error.transient).toBe(false);
  });
});
