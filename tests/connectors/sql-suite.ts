/**
 * The behaviour both SQL connector kinds share, run against a real server by
 * sql-postgres.test.ts and sql-mysql.test.ts. Each kind supplies its fixtures' DDL and a way to
 * see the server's running statements; statements are counted on the wire (tests/support/wire-proxy.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createConnector, UpstreamTimeoutError, validateConnectorConfig, type Connector, type UpstreamRecord } from '../../connectors/index.ts';
import { createRecordValidator, seededRandom, syntheticIdNumber, ValidationError, type Resource } from '../../schema/index.ts';
import { upstreamError } from '../support/connectors.ts';
import { eventually } from '../support/sql.ts';
import { startSilentServer, startWireProxy, type WireProtocol, type WireProxy } from '../support/wire-proxy.ts';

export interface SuiteDatabase {
  readonly name: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Runs SQL on the fixture connection (`?` placeholders for mysql, `$1` for postgres); rows as objects. */
  exec(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** How many statements other sessions are running whose text contains `marker`. */
  running(marker: string): Promise<number>;
  drop(): Promise<void>;
}

export interface SqlSuiteSpec {
  readonly kind: 'postgres' | 'mysql';
  readonly protocol: WireProtocol;
  database(): Promise<SuiteDatabase>;
  /** DDL run once: a `real_estate` table (see `columns` below), a slow view and an integer-keyed table. */
  fixtures(db: SuiteDatabase): Promise<void>;
  /** The people table as the config names it, qualified (schema.table / database.table). */
  qualifiedTable(db: SuiteDatabase): string;
  /** Inserts rows into a table: column names and values. */
  insert(db: SuiteDatabase, table: string, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>): Promise<void>;
  /** The quoted form of an identifier in this dialect (for checking statement text). */
  quote(name: string): string;
}

export interface SuiteContext {
  readonly db: () => SuiteDatabase;
  /** A connector on the test database (datasets real_estate, slow, counters), closed after the test. */
  readonly connector: (config?: Record<string, unknown>, env?: Record<string, string>) => Connector;
  /** The same through the wire proxy, whose counts start at zero. */
  readonly watched: (config?: Record<string, unknown>) => Connector;
  readonly proxy: () => WireProxy;
  readonly people: readonly Person[];
}

export interface Person {
  readonly idNumber: string;
  readonly fullName: string;
  readonly propertyCount: number;
  readonly totalArea: string;
  readonly bigValue: string;
  readonly born: string;
  readonly note: string | null;
}

const random = seededRandom(2026);
/** A citizen ID whose check character is X (MySQL's default collation would match a lower-case x). */
function idEndingInX(): string {
  for (;;) {
    const id = syntheticIdNumber(random);
    if (id.endsWith('X')) return id;
  }
}
const PEOPLE: Person[] = Array.from({ length: 25 }, (_, i) => ({
  idNumber: i === 0 ? idEndingInX() : syntheticIdNumber(random),
  fullName: `测试${i}`,
  propertyCount: i % 4,
  totalArea: `${i * 10 + 100}.25`,
  bigValue: i === 0 ? '9007199254740993' : String(i * 1000),
  born: `19${String(50 + i).padStart(2, '0')}-0${(i % 9) + 1}-1${i % 10}`,
  note: i % 3 === 0 ? null : `备注${i}`,
}));
const MISSING = syntheticIdNumber(random, { region: '440300' });
export const PEOPLE_COLUMNS = ['id_number', 'full_name', 'property_count', 'total_area', 'big_value', 'born', 'registered_at', 'updated_at', 'note'] as const;

const ITEMS = {
  fullName: 'full_name', propertyCount: 'property_count', totalArea: 'total_area', bigValue: 'big_value',
  born: 'born', registeredAt: 'registered_at', updatedAt: 'updated_at', note: 'note',
};

/** The connection string with another host:port (to route through a proxy or nowhere). */
function via(url: string, port: number, password?: string): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  if (password !== undefined) u.password = password;
  return u.toString();
}

const fetch = (connector: Connector, keys: readonly string[], items: readonly string[], dataset = 'real_estate', signal?: AbortSignal) =>
  connector.fetchMany({ dataset, keyField: 'idNumber', keys, items, ...(signal ? { signal } : {}) });

export function sqlConnectorSuite(spec: SqlSuiteSpec): SuiteContext {
  let db: SuiteDatabase | undefined;
  let proxy: WireProxy | undefined;
  const open: Connector[] = [];
  const current = (): SuiteDatabase => {
    if (!db) throw new Error('test database not created');
    return db;
  };

  beforeAll(async () => {
    db = await spec.database();
    await spec.fixtures(db);
    await spec.insert(db, 'real_estate', PEOPLE_COLUMNS, PEOPLE.map((p, i) => [
      p.idNumber, p.fullName, p.propertyCount, p.totalArea, p.bigValue, p.born,
      `2024-01-0${(i % 9) + 1} 03:04:05.123456`, '2024-06-30 23:59:59', p.note,
    ]));
    await spec.insert(db, 'counters', ['id', 'label'], [[12, 'twelve'], [0, 'zero'], [-7, 'minus seven']]);
    proxy = await startWireProxy(spec.protocol, { host: db.host, port: db.port });
  });
  afterAll(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await proxy?.close();
    await db?.drop();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });

  const connector = (config: Record<string, unknown> = {}, env?: Record<string, string>): Connector => {
    const database = current();
    const created = createConnector(`${spec.kind}-zr`, {
      kind: spec.kind,
      uriEnv: 'ZR_DB_URL',
      datasets: {
        real_estate: { table: spec.qualifiedTable(database), keyColumn: 'id_number', items: ITEMS },
        slow: { table: 'slow_estate', keyColumn: 'id_number', items: { propertyCount: 'property_count' } },
        counters: { table: 'counters', keyColumn: 'id', items: { label: 'label' } },
      },
      // The registry's resilience layer (retries, circuit breaker) is tested in resilience tests;
      // here each call is one attempt, so what is seen is the SQL connector's own behaviour.
      retry: { retries: 0 },
      breaker: { failures: 1000 },
      ...config,
    }, { baseDir: tmpdir(), env: env ?? { ZR_DB_URL: database.url } });
    open.push(created);
    return created;
  };
  /** A connector whose traffic goes through the wire proxy. */
  const watched = (config: Record<string, unknown> = {}): Connector => {
    proxy!.reset();
    return connector(config, { ZR_DB_URL: via(current().url, proxy!.port) });
  };
  const lookups = (): string[] => proxy!.executed.filter((sql) => sql.includes(spec.quote('real_estate')));
  const rowCount = async (): Promise<number> => Number(Object.values((await current().exec('SELECT COUNT(*) AS n FROM real_estate'))[0] ?? {})[0]);
  const person = (i: number): Person => PEOPLE[i]!;

  describe(`${spec.kind} connector`, () => {
    it('answers in key order with only the asked items and the key, null for a missing key, duplicates repeated', async () => {
      const c = connector();
      const records = await fetch(c, [person(4).idNumber, MISSING, person(1).idNumber, person(4).idNumber], ['fullName', 'propertyCount']);
      expect(records).toEqual([
        { idNumber: person(4).idNumber, fullName: '测试4', propertyCount: 0 },
        null,
        { idNumber: person(1).idNumber, fullName: '测试1', propertyCount: 1 },
        { idNumber: person(4).idNumber, fullName: '测试4', propertyCount: 0 },
      ]);
      expect(records[0]).not.toBe(records[3]);
      expect(await fetch(c, [], ['fullName'])).toEqual([]);
      expect((await c.health())).toEqual({ ok: true, detail: 'SELECT 1 answered' });
    });

    it('sends one parameterised statement per batch of batchSize keys, naming only the asked columns', async () => {
      const c = watched({ batchSize: 10 });
      const keys = [...PEOPLE.map((p) => p.idNumber).reverse(), MISSING];
      const records = await fetch(c, keys, ['propertyCount']);
      expect(records.map((r) => r?.['propertyCount'] ?? null)).toEqual([...PEOPLE.map((p) => p.propertyCount).reverse(), null]);
      const sent = lookups();
      expect(sent).toHaveLength(3);
      for (const sql of sent) {
        expect(sql).toMatch(new RegExp(`^SELECT ${escapeRegExp(spec.quote('id_number'))}, ${escapeRegExp(spec.quote('property_count'))} FROM `));
        expect(sql).not.toContain('full_name');
        for (const p of PEOPLE) expect(sql).not.toContain(p.idNumber);
      }
      // A second call reuses the table's column list: only the lookups go over the wire.
      proxy!.reset();
      await fetch(c, [person(0).idNumber], ['fullName', 'note']);
      expect(proxy!.executed).toHaveLength(1);
      expect(lookups()[0]).toContain(spec.quote('full_name'));
    });

    it('maps dates, timestamps, decimals, big integers and NULL so they validate as the items declare', async () => {
      const [first, second] = await fetch(connector(), [person(0).idNumber, person(3).idNumber], Object.keys(ITEMS));
      expect(first).toEqual({
        idNumber: person(0).idNumber,
        fullName: '测试0',
        propertyCount: 0,
        totalArea: '100.25',
        bigValue: '9007199254740993', // beyond 2^53: the exact digits, never a rounded number
        born: person(0).born,
        registeredAt: '2024-01-01T03:04:05.123456',
        updatedAt: '2024-06-30T23:59:59Z',
        note: null,
      });
      expect(second).toMatchObject({ bigValue: 3000, totalArea: '130.25', note: null });
      const resource = {
        code: 'T', items: [
          { name: 'propertyCount', type: 'integer' }, { name: 'totalArea', type: 'number' }, { name: 'bigValue', type: 'string' },
          { name: 'born', type: 'date' }, { name: 'registeredAt', type: 'string' }, { name: 'note', type: 'string' },
        ],
      } as unknown as Resource;
      const { record, problems } = createRecordValidator(resource).check(first as UpstreamRecord);
      expect(problems).toEqual([]);
      expect(record).toMatchObject({ propertyCount: 0, totalArea: 100.25, bigValue: '9007199254740993', born: person(0).born, note: null });
    });

    it('dates its data by the latest value of a dataset\'s updatedAtColumn (freshness); null without one', async () => {
      const table = spec.qualifiedTable(current());
      const c = connector({
        datasets: {
          zoned: { table, keyColumn: 'id_number', items: ITEMS, updatedAtColumn: 'updated_at' },
          local: { table, keyColumn: 'id_number', updatedAtColumn: 'registered_at' },
          dated: { table, keyColumn: 'id_number', updatedAtColumn: 'born' },
          plain: { table, keyColumn: 'id_number' },
          text: { table, keyColumn: 'id_number', updatedAtColumn: 'full_name' },
          absent: { table, keyColumn: 'id_number', updatedAtColumn: 'changed_on' },
        },
      });
      const zoned = await c.lastChanged!({ dataset: 'zoned' });
      expect(zoned?.at).toEqual(new Date('2024-06-30T23:59:59Z'));
      expect(zoned?.basis).toMatch(/^latest updated_at of .*real_estate/);
      // A timestamp without a zone is read as UTC (sessions run in UTC); a date as its midnight UTC.
      expect((await c.lastChanged!({ dataset: 'local' }))?.at).toEqual(new Date('2024-01-09T03:04:05.123Z'));
      const latestBorn = [...PEOPLE.map((p) => p.born)].sort().at(-1)!;
      expect((await c.lastChanged!({ dataset: 'dated' }))?.at).toEqual(new Date(`${latestBorn}T00:00:00Z`));
      expect(await c.lastChanged!({ dataset: 'plain' })).toBeNull();
      expect((await upstreamError(c.lastChanged!({ dataset: 'text' }))).message).toMatch(/does not hold timestamps or dates/);
      expect((await upstreamError(c.lastChanged!({ dataset: 'absent' }))).message).toMatch(/no column "changed_on"/);
      expect((await upstreamError(c.lastChanged!({ dataset: 'unlisted' }))).message).toMatch(/dataset "unlisted" is not configured/);
    });

    it('treats injection-shaped keys as plain values: no harm, only exact matches', async () => {
      const c = connector();
      const hostile = ["' OR 1=1 --", '"); DROP TABLE real_estate; --', "1' OR '1'='1", `${person(2).idNumber}' --`, '\\', '%', `${person(2).idNumber} `];
      const records = await fetch(c, [...hostile, person(2).idNumber], ['fullName']);
      expect(records).toEqual([...hostile.map(() => null), { idNumber: person(2).idNumber, fullName: '测试2' }]);
      expect(await rowCount()).toBe(PEOPLE.length);
      // Matching is exact whatever the collation: a lower-case x is another key.
      expect(await fetch(c, [person(0).idNumber.toLowerCase(), person(0).idNumber], ['fullName'])).toEqual([null, { idNumber: person(0).idNumber, fullName: '测试0' }]);
    });

    it('gives integer key columns only keys written as integers', async () => {
      const records = await fetch(connector(), ['12', '012', '12abc', '0', '-7', '1 OR 1=1', '99999999999999999999'], ['label'], 'counters');
      expect(records).toEqual([{ idNumber: '12', label: 'twelve' }, null, null, { idNumber: '0', label: 'zero' }, { idNumber: '-7', label: 'minus seven' }, null, null]);
    });

    it('refuses a column the table lacks, naming it, and quotes hostile names instead of running them', async () => {
      const hostile = connector({
        datasets: {
          real_estate: { table: spec.qualifiedTable(current()), keyColumn: 'id_number', items: { fullName: 'full_name', evil: 'full_name" FROM real_estate; DROP TABLE real_estate; --' } },
        },
      });
      // Every configured column is checked before the first read, asked or not.
      const evil = await upstreamError(fetch(hostile, [person(0).idNumber], ['fullName']));
      expect(evil.message).toMatch(new RegExp(`^${spec.kind} connector "${spec.kind}-zr": table \\S+ \\(dataset "real_estate"\\) has no column `));
      expect(evil.message).toContain('has no column "full_name\\" FROM real_estate; DROP TABLE real_estate; --"');

      const c = connector({
        datasets: {
          real_estate: { table: spec.qualifiedTable(current()), keyColumn: 'id_number', items: ITEMS },
          nokey: { table: spec.qualifiedTable(current()), keyColumn: 'citizen_id' },
          hostileTable: { table: 'real_estate; DROP TABLE real_estate' },
        },
      });
      const unasked = await upstreamError(fetch(c, [person(0).idNumber], ['fullName', 'nothing', 'norThis']));
      expect(unasked.message).toMatch(/\(dataset "real_estate"\) has no column "nothing", "norThis"$/);
      const key = await upstreamError(fetch(c, [person(0).idNumber], [], 'nokey'));
      expect(key.message).toMatch(/\(dataset "nokey"\) has no column "citizen_id"$/);
      const table = await upstreamError(fetch(c, [person(0).idNumber], [], 'hostileTable'));
      expect(table.message).toMatch(/: table .+ \(dataset "hostileTable"\) does not exist or is not visible to the connector's database user$/);
      const unknown = await upstreamError(fetch(c, [person(0).idNumber], [], 'elsewhere'));
      expect(unknown.message).toBe(`${spec.kind} connector "${spec.kind}-zr": dataset "elsewhere" is not configured (add it under datasets with its table)`);
      expect(await rowCount()).toBe(PEOPLE.length);
      // The connector still answers what it can.
      expect(await fetch(c, [person(0).idNumber], ['fullName'])).toEqual([{ idNumber: person(0).idNumber, fullName: '测试0' }]);
    });

    it('refuses control characters in identifiers when the config is validated', () => {
      expect(() => connector({ datasets: { d: { table: 'real_estate', items: { a: 'x\u0000y' } } } })).toThrow(ValidationError);
      expect(validateConnectorConfig('connectors.yaml', {
        kind: spec.kind, uriEnv: 'U', datasets: { d: { table: 'a.b.c', keyColumn: 'k\n', items: { a: '' } } },
      })).toEqual([
        expect.objectContaining({ path: '/datasets/d/table', rule: 'pattern' }),
        expect.objectContaining({ path: '/datasets/d/keyColumn', rule: 'pattern' }),
        expect.objectContaining({ path: '/datasets/d/items/a', rule: 'minLength' }),
      ]);
    });

    it('stops a statement at statementTimeoutMs on the server', async () => {
      const c = connector({ statementTimeoutMs: 300, timeoutMs: 10_000 });
      const started = performance.now();
      const error = await upstreamError(fetch(c, [person(0).idNumber], ['propertyCount'], 'slow'));
      expect(error.message).toBe(`${spec.kind} connector "${spec.kind}-zr": read slow_estate (dataset "slow"): the server stopped the statement after statementTimeoutMs (300 ms)`);
      expect(performance.now() - started).toBeLessThan(3000);
    });

    it('gives up at timeoutMs on the client and stops the statement on the server', async () => {
      const c = watched({ statementTimeoutMs: 60_000, timeoutMs: 500 });
      await fetch(c, ['12'], ['label'], 'counters'); // connect first: the deadline below is the statement's
      const started = performance.now();
      const error = await upstreamError(fetch(c, [person(0).idNumber], ['propertyCount'], 'slow'));
      // Whichever notices first: the connector's own deadline or the registry's per-attempt timeout.
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect(error.message).toMatch(/timed out after 500 ms/);
      expect(performance.now() - started).toBeLessThan(2500);
      await eventually(async () => (await current().running('slow_estate')) === 0, 3000, 'the server stopping the slow statement');
      // It was asked to: PostgreSQL's cancel request, or KILL QUERY on MySQL/MariaDB.
      expect(proxy!.cancelRequests + proxy!.queries.filter((q) => q.startsWith('KILL QUERY')).length).toBe(1);
    });

    it('stops waiting when the caller aborts, rejecting with the abort reason', async () => {
      const c = connector({ statementTimeoutMs: 60_000, timeoutMs: 60_000 });
      const controller = new AbortController();
      const reason = new Error('caller went away');
      setTimeout(() => controller.abort(reason), 300);
      const started = performance.now();
      await expect(fetch(c, [person(1).idNumber], ['propertyCount'], 'slow', controller.signal)).rejects.toBe(reason);
      expect(performance.now() - started).toBeLessThan(2000);
      await eventually(async () => (await current().running('slow_estate')) === 0, 3000, 'the server stopping the aborted statement');
      // The pool is still usable afterwards.
      expect(await fetch(c, [person(1).idNumber], ['fullName'])).toEqual([{ idNumber: person(1).idNumber, fullName: '测试1' }]);
      await expect(fetch(c, [person(1).idNumber], ['fullName'], 'real_estate', controller.signal)).rejects.toBe(reason);
    });

    it('fails fast when the server is unreachable, without showing the connection string', async () => {
      const c = connector({ timeoutMs: 3000 }, { ZR_DB_URL: via(current().url, 1, 'pa55-word-secret') });
      const started = performance.now();
      const error = await upstreamError(fetch(c, [person(0).idNumber], ['fullName']));
      expect(error.message).toMatch(new RegExp(`^${spec.kind} connector "${spec.kind}-zr": could not connect to \\S+ \\(ECONNREFUSED\\)$`));
      expect(error.message).not.toContain('pa55-word-secret');
      expect(error.connector).toBe(`${spec.kind}-zr`);
      expect(performance.now() - started).toBeLessThan(2000);
      const health = await c.health();
      expect(health.ok).toBe(false);
      expect(health.detail).not.toContain('pa55-word-secret');
    });

    it('gives up on a server that accepts but never answers, at timeoutMs', async () => {
      const silent = await startSilentServer();
      try {
        const c = connector({ timeoutMs: 400 }, { ZR_DB_URL: via(current().url, silent.port) });
        const started = performance.now();
        const error = await upstreamError(fetch(c, [person(0).idNumber], ['fullName']));
        expect(error.message).toMatch(/timed out after 400 ms|could not connect to \S+ \(.+\)$/);
        expect(performance.now() - started).toBeLessThan(2000);
        expect(await c.health()).toMatchObject({ ok: false });
      } finally {
        await silent.close();
      }
    });

    it('reads the connection string from uriEnv or from a uriFile relative to the catalogue directory', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hub-sql-secret-'));
      try {
        await writeFile(join(dir, 'zr.url'), `${current().url}\n`, { mode: 0o600 });
        const base = { datasets: { real_estate: { table: spec.qualifiedTable(current()), keyColumn: 'id_number', items: ITEMS } } };
        const fromFile = createConnector('zr-file', { kind: spec.kind, uriFile: 'zr.url', ...base, retry: { retries: 0 } }, { baseDir: dir, env: {} });
        open.push(fromFile);
        expect(await fetch(fromFile, [person(5).idNumber], ['fullName'])).toEqual([{ idNumber: person(5).idNumber, fullName: '测试5' }]);

        const missingFile = createConnector('zr-file', { kind: spec.kind, uriFile: 'nowhere.url', ...base, retry: { retries: 0 } }, { baseDir: dir, env: {} });
        open.push(missingFile);
        expect((await upstreamError(fetch(missingFile, [person(5).idNumber], []))).message)
          .toBe(`${spec.kind} connector "zr-file": secret file ${join(dir, 'nowhere.url')} (connection string) could not be read (ENOENT)`);

        const unset = connector({}, {});
        expect((await upstreamError(fetch(unset, [person(5).idNumber], []))).message)
          .toBe(`${spec.kind} connector "${spec.kind}-zr": environment variable ZR_DB_URL (connection string) is not set`);
        expect(await unset.health()).toEqual({ ok: false, detail: `${spec.kind} connector "${spec.kind}-zr": environment variable ZR_DB_URL (connection string) is not set` });

        const wrongScheme = connector({}, { ZR_DB_URL: 'http://user:hunter2@127.0.0.1/x' });
        const error = await upstreamError(fetch(wrongScheme, [person(5).idNumber], []));
        expect(error.message).toMatch(/connection string must start with/);
        expect(error.message).not.toContain('hunter2');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('serves concurrent calls from a small pool', async () => {
      const c = connector({ poolSize: 2 });
      const answers = await Promise.all(PEOPLE.slice(0, 12).map((p) => fetch(c, [p.idNumber], ['fullName'])));
      expect(answers.map(([r]) => r?.['fullName'])).toEqual(PEOPLE.slice(0, 12).map((p) => p.fullName));
    });

    it('rereads the columns after the table changes', async () => {
      await current().exec('CREATE TABLE changing (id_number VARCHAR(18) PRIMARY KEY, a VARCHAR(10))');
      try {
        await spec.insert(current(), 'changing', ['id_number', 'a'], [[person(0).idNumber, 'one']]);
        const datasets = { changing: { table: 'changing', keyColumn: 'id_number' } };
        const d = connector({ datasets });
        expect(await fetch(d, [person(0).idNumber], ['a'], 'changing')).toEqual([{ idNumber: person(0).idNumber, a: 'one' }]);
        await current().exec('ALTER TABLE changing RENAME COLUMN a TO b');
        expect((await upstreamError(fetch(d, [person(0).idNumber], ['a'], 'changing'))).message).toMatch(/failed \(.+\)$/);
        expect(await fetch(d, [person(0).idNumber], ['b'], 'changing')).toEqual([{ idNumber: person(0).idNumber, b: 'one' }]);
      } finally {
        await current().exec('DROP TABLE changing');
      }
    });

    it('lets the registry retry what may pass (a statement the server stopped), never a configuration error', async () => {
      const c = watched({ retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5 }, statementTimeoutMs: 200, timeoutMs: 5000 });
      await upstreamError(fetch(c, [person(0).idNumber], ['propertyCount'], 'slow'));
      expect(proxy!.executed.filter((sql) => sql.includes('slow_estate'))).toHaveLength(3);
      proxy!.reset();
      const error = await upstreamError(fetch(c, [person(0).idNumber], ['nothing']));
      expect(error.transient).toBe(false);
      expect(proxy!.executed.filter((sql) => sql.includes(spec.quote('real_estate')))).toHaveLength(0);
    });

    it('refuses calls after close', async () => {
      const c = connector();
      await fetch(c, [person(0).idNumber], []);
      await c.close();
      expect((await upstreamError(fetch(c, [person(0).idNumber], []))).message).toBe(`${spec.kind} connector "${spec.kind}-zr" is closed`);
      expect(await c.health()).toEqual({ ok: false, detail: 'connector is closed' });
      await c.close();
    });

    it('validates its config with messages naming the path and the rule', () => {
      const check = (config: Record<string, unknown>) => validateConnectorConfig('connectors.yaml', { kind: spec.kind, ...config })
        .map((v) => `${v.path} ${v.rule}: ${v.message}`);
      const datasets = { d: { table: 't' } };
      expect(check({ datasets })).toEqual(expect.arrayContaining(['/uriEnv required: is required', '/uriFile required: is required', ' oneOf: must match exactly one schema in oneOf']));
      expect(check({ uriEnv: 'A', uriFile: 'b', datasets })).toEqual([' oneOf: must match exactly one schema in oneOf']);
      expect(check({ uriEnv: 'A', uri: 'postgres://u:p@h/db', datasets })).toEqual(['/uri additionalProperties: is not an allowed property']);
      expect(check({ uriEnv: 'not a name', datasets: {} })).toEqual([
        '/uriEnv pattern: must match pattern "^[A-Za-z_][A-Za-z0-9_]*$"',
        '/datasets minProperties: must NOT have fewer than 1 properties',
      ]);
      expect(check({ uriEnv: 'A', datasets, poolSize: 0, timeoutMs: 'soon', batchSize: 100_000, statementTimeoutMs: 0 })).toEqual([
        '/poolSize minimum: must be >= 1', '/timeoutMs type: must be integer', '/statementTimeoutMs minimum: must be >= 1', '/batchSize maximum: must be <= 10000',
      ]);
      expect(check({ uriEnv: 'A', datasets, tls: { certFile: 'c.pem', verify: true, minVersion: 'TLSv1.0' } })).toEqual([
        '/tls/verify additionalProperties: is not an allowed property',
        '/tls/minVersion enum: must be one of "TLSv1.2", "TLSv1.3"',
        '/tls dependentRequired: must have property keyFile when property certFile is present',
      ]);
      expect(check({ uriEnv: 'A', datasets: { d: { keyColumn: 'k', items: { a: 3 } } } })).toEqual([
        '/datasets/d/table required: is required', '/datasets/d/items/a type: must be string',
      ]);
      expect(check({ uriFile: 'secrets/zr.url', datasets, tls: { caFile: 'ca.pem', rejectUnauthorized: false } })).toEqual([]);
    });
  });

  return { db: current, connector, watched, proxy: () => proxy!, people: PEOPLE };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
