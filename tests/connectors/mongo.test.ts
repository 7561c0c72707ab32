import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createConnector, validateConnectorConfig, type Connector } from '../../connectors/index.ts';
import { seededRandom, syntheticIdNumber } from '../../schema/index.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';
import { connectorsOfKind, upstreamError } from '../support/connectors.ts';

const random = seededRandom(44);
const people = Array.from({ length: 25 }, (_, i) => ({
  idNumber: syntheticIdNumber(random),
  name: `测试${i}`,
  insured: i % 2 === 0,
  contributionMonths: i * 3,
  bankAccount: `6222000000000${String(i).padStart(3, '0')}`,
}));
const idOf = (i: number): string => people[i]?.idNumber ?? '';
const missingId = syntheticIdNumber(random, { region: '440300' });

let t: TestDatabase;
beforeAll(async () => {
  t = await testDatabase('connectors');
  await t.db.collection('socialInsurance').insertMany(people.map((p) => ({ ...p })));
});
afterAll(() => t?.drop());

const newConnector = connectorsOfKind('mongodb', () => ({ uri: t.uri, database: t.name }), () => process.cwd());
const mongoConnector = (config: Record<string, unknown> = {}): Connector => newConnector(config, 'renshe-db');


describe('mongodb connector', () => {
  it('answers in key order with only the asked items, null for a missing key, duplicates repeated', async () => {
    const records = await mongoConnector().fetchMany({
      dataset: 'socialInsurance', keyField: 'idNumber', keys: [idOf(4), missingId, idOf(1), idOf(4)], items: ['insured', 'contributionMonths'],
    });
    expect(records).toEqual([
      { idNumber: idOf(4), insured: true, contributionMonths: 12 },
      null,
      { idNumber: idOf(1), insured: false, contributionMonths: 3 },
      { idNumber: idOf(4), insured: true, contributionMonths: 12 },
    ]);
    expect(records[0]).not.toHaveProperty('_id');
    expect(records[0]).not.toBe(records[3]);
  });

  it('splits keys into chunks of maxKeysPerCall', async () => {
    const keys = [...people.map((p) => p.idNumber).reverse(), missingId];
    const records = await mongoConnector({ maxKeysPerCall: 4 }).fetchMany({ dataset: 'socialInsurance', keyField: 'idNumber', keys, items: ['name'] });
    expect(records.map((r) => r?.['name'] ?? null)).toEqual([...people.map((p) => p.name).reverse(), null]);
  });

  it('serves concurrent first calls (they share one connect)', async () => {
    const connector = mongoConnector();
    const answers = await Promise.all(people.slice(0, 8).map((p) => connector.fetchMany({
      dataset: 'socialInsurance', keyField: 'idNumber', keys: [p.idNumber], items: ['name'],
    })));
    expect(answers.map(([r]) => r?.['name'])).toEqual(people.slice(0, 8).map((p) => p.name));
    expect(await connector.health()).toEqual({ ok: true, detail: 'ping answered' });
  });

  it('reads the connection string from uriEnv', async () => {
    process.env['HUB_TEST_MONGO_URI'] = t.uri;
    try {
      const connector = createConnector('renshe-db', { kind: 'mongodb', uriEnv: 'HUB_TEST_MONGO_URI', database: t.name }, { baseDir: '.' });
      try {
        const [record] = await connector.fetchMany({ dataset: 'socialInsurance', keyField: 'idNumber', keys: [idOf(2)], items: ['name'] });
        expect(record).toEqual({ idNumber: idOf(2), name: people[2]?.name });
      } finally {
        await connector.close();
      }
    } finally {
      delete process.env['HUB_TEST_MONGO_URI'];
    }
  });

  it('fails naming the variable when uriEnv is not set', async () => {
    const connector = createConnector('renshe-db', { kind: 'mongodb', uriEnv: 'HUB_TEST_MONGO_URI_UNSET', database: 'x' }, { baseDir: '.' });
    try {
      const error = await upstreamError(connector.fetchMany({ dataset: 'socialInsurance', keyField: 'idNumber', keys: [idOf(0)], items: [] }));
      expect(error.message).toContain('HUB_TEST_MONGO_URI_UNSET');
    } finally {
      await connector.close();
    }
  });

  it('fails with UpstreamError when the server is unreachable, and health says so', async () => {
    const connector = mongoConnector({ uri: 'mongodb://127.0.0.1:1/?directConnection=true', timeoutMs: 300 });
    const started = Date.now();
    const error = await upstreamError(connector.fetchMany({ dataset: 'socialInsurance', keyField: 'idNumber', keys: [idOf(0)], items: ['name'] }));
    expect(error.connector).toBe('renshe-db');
    expect(error.message).toMatch(/^mongodb connector "renshe-db": (could not connect|find in collection "socialInsurance" timed out|timed out after 300 ms)/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await connector.health()).ok).toBe(false);
  });

  it('turns a driver error into UpstreamError', async () => {
    const error = await upstreamError(mongoConnector().fetchMany({ dataset: 'bad$name', keyField: 'idNumber', keys: [idOf(0)], items: [] }));
    expect(error.message).toMatch(/^mongodb connector "renshe-db": find in collection "bad\$name" failed \(Mongo\w+/);
  });

  it('refuses calls after close', async () => {
    const connector = mongoConnector();
    await connector.fetchMany({ dataset: 'socialInsurance', keyField: 'idNumber', keys: [idOf(0)], items: [] });
    await connector.close();
    await upstreamError(connector.fetchMany({ dataset: 'socialInsurance', keyField: 'idNumber', keys: [idOf(0)], items: [] }));
  });

  it('requires exactly one of uri and uriEnv', () => {
    expect(validateConnectorConfig('connectors.yaml', { kind: 'mongodb', database: 'renshe' })).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: '/uri', rule: 'required' }),
      expect.objectContaining({ path: '/uriEnv', rule: 'required' }),
    ]));
    expect(validateConnectorConfig('connectors.yaml', { kind: 'mongodb', database: 'renshe', uri: 'mongodb://h', uriEnv: 'X' }))
      .toEqual([expect.objectContaining({ path: '', rule: 'oneOf' })]);
    expect(validateConnectorConfig('connectors.yaml', { kind: 'mongodb', database: 'a.b', uri: 'http://h' })).toEqual([
      expect.objectContaining({ path: '/uri', rule: 'pattern' }),
      expect.objectContaining({ path: '/database', rule: 'pattern' }),
    ]);
  });
});
