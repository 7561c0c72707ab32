/**
 * Data-quality counters against a real MongoDB-wire server: counted in memory, no write per read;
 * each process writes its own documents (running totals, `$set`: a repeated flush changes nothing);
 * a report sums every process; closing writes what is left.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QUALITY_COLLECTION, QualityCounter } from '../../store/index.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

let t: TestDatabase;
let monitored: MongoClient;
const writes: string[] = [];

beforeAll(async () => {
  t = await testDatabase('quality');
  monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
  monitored.on('commandStarted', (e) => {
    if (e.databaseName === t.name && ['update', 'insert'].includes(e.commandName)) writes.push(e.commandName);
  });
  await monitored.connect();
});
afterAll(async () => {
  await monitored?.close();
  await t?.drop();
});

const counter = (process: string) => new QualityCounter(monitored.db(t.name), { process, onError: (e) => { throw e; } });

describe('quality counters', () => {
  it('count in memory, write per process on flush, and sum every process in a report', async () => {
    const a = counter('hub-a');
    const b = counter('hub-b');
    await a.ensureIndexes();
    writes.length = 0;
    for (let i = 0; i < 100; i++) a.count('GA-VEHICLE', '2026-11-23', { records: 1, items: 2, invalidItems: i % 10 === 0 ? ['vehicleCount'] : [] });
    a.count('GA-VEHICLE', '2026-11-23', { conflicting: true });
    a.count('GA-VEHICLE', '2026-11-22', { failed: true });
    b.count('GA-VEHICLE', '2026-11-23', { records: 1, items: 2, invalidItems: ['vehicleCount', 'plates'] });
    b.count('GA-HUKOU', '2026-11-23', { records: 1, items: 8 });
    expect(writes).toEqual([]);

    await Promise.all([a.flush(), b.flush()]);
    expect(writes).toEqual(['update', 'update']);
    const days = await a.perDay('GA-VEHICLE', '2026-11-01', '2026-11-30', 2000);
    expect(Object.fromEntries(days)).toEqual({
      '2026-11-22': { records: 0, invalidRecords: 0, conflictingRecords: 0, failedReads: 1, items: 0, invalidItems: 0, invalidByItem: {} },
      '2026-11-23': { records: 101, invalidRecords: 11, conflictingRecords: 1, failedReads: 0, items: 202, invalidItems: 12, invalidByItem: { vehicleCount: 11, plates: 1 } },
    });
    expect((await a.perDay('GA-VEHICLE', '2026-11-23', '2026-11-23', 2000)).size).toBe(1);
    expect((await a.perDay('GA-HUKOU', '2026-11-23', '2026-11-23', 2000)).get('2026-11-23')).toMatchObject({ records: 1, items: 8 });
    // One document per process, day and resource, written by that process only.
    const ids = (await t.db.collection(QUALITY_COLLECTION).find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)).sort();
    expect(ids).toEqual(['hub-a|2026-11-22|GA-VEHICLE', 'hub-a|2026-11-23|GA-VEHICLE', 'hub-b|2026-11-23|GA-HUKOU', 'hub-b|2026-11-23|GA-VEHICLE']);

    // Running totals: more counts and flushes, and a flush with nothing new, never double count.
    a.count('GA-VEHICLE', '2026-11-23', { records: 1, items: 2 });
    await a.flush();
    writes.length = 0;
    await a.flush();
    expect(writes).toEqual([]);
    expect((await b.perDay('GA-VEHICLE', '2026-11-23', '2026-11-23', 2000)).get('2026-11-23')).toMatchObject({ records: 102, items: 204, invalidItems: 12 });

    // Closing writes what is left.
    b.count('GA-VEHICLE', '2026-11-23', { records: 1, items: 2 });
    await b.close();
    expect((await a.perDay('GA-VEHICLE', '2026-11-23', '2026-11-23', 2000)).get('2026-11-23')).toMatchObject({ records: 103 });
    await a.close();
  });

  it('removes counts past the retention, whichever process wrote them', async () => {
    const old = { process: 'gone', resource: 'GA-HUKOU', records: 1, invalidRecords: 0, conflictingRecords: 0, failedReads: 0, items: 1, invalidItems: 0, invalidByItem: {}, at: new Date() };
    await t.db.collection(QUALITY_COLLECTION).insertMany([
      { _id: 'gone|2025-10-18|GA-HUKOU' as never, day: '2025-10-18', ...old },
      { _id: 'gone|2025-10-19|GA-HUKOU' as never, day: '2025-10-19', ...old },
    ]);
    const d = counter('hub-d');
    d.count('GA-HUKOU', '2026-11-23', { records: 1, items: 8 });
    await d.close();
    // 400 days before 2026-11-23 is 2025-10-19: kept; the day before it goes.
    const days = await d.perDay('GA-HUKOU', '2025-01-01', '2026-12-31', 2000);
    expect([...days.keys()].sort()).toEqual(['2025-10-19', '2026-11-23']);
  });

  it('keeps what a failed flush did not write, and writes it with the next', async () => {
    const client = new MongoClient(inject('mongoUri'));
    await client.connect();
    const errors: unknown[] = [];
    const c = new QualityCounter(client.db(t.name), { process: 'hub-c', onError: (e) => errors.push(e) });
    c.count('WJ-BIRTH-CERT', '2026-11-23', { records: 1, items: 8, invalidItems: ['birthDate'] });
    await client.close();
    await expect(c.flush()).rejects.toThrow();
    await client.connect();
    await c.flush();
    expect((await c.perDay('WJ-BIRTH-CERT', '2026-11-23', '2026-11-23', 2000)).get('2026-11-23')).toMatchObject({ records: 1, invalidByItem: { birthDate: 1 } });
    await c.close();
    await client.close();
  });
});
