/**
 * The group-commit writer against a real MongoDB-wire server: records are durable when append
 * resolves, appends of one tick share one insert, and a failed write fails every waiting append.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ACCESS_COLLECTION, AuditUnavailableError, AuditWriter, createAuditIndexes, ensureAuditIndexes, EvidenceLog, isFerretDB, noteSigner, searchAccess, subjectHash, type AccessRecord } from '../../audit/index.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

let t: TestDatabase;
let monitored: MongoClient;
const inserts: number[] = [];

beforeAll(async () => {
  t = await testDatabase('audit');
  monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
  monitored.on('commandStarted', (e) => {
    if (e.commandName === 'insert' && e.databaseName === t.name) {
      for (const doc of e.command['documents'] as Array<{ count: number }>) inserts.push(doc.count);
    }
  });
  await monitored.connect();
});
afterAll(async () => {
  await monitored?.close();
  await t?.drop();
});

function record(i: number): AccessRecord {
  return {
    at: new Date(), requestId: `req-${i}`, action: 'read', system: 'mz-dibao', department: 'MZ', principalKind: 'system',
    operator: 'op', purpose: 'P', caseId: 'C', resource: 'GA-HUKOU', provider: 'GA', subjectType: 'person',
    subject: subjectHash(Buffer.alloc(32, 1), `id-${i}`), itemsReturned: ['name'], itemsMasked: [], itemsRefused: [], itemsVerified: [],
    grants: [], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null,
  };
}

describe('audit indexes', () => {
  it('can be ensured again on every restart: position, time and subject on MongoDB, none on FerretDB (it scans whatever exists)', async () => {
    await ensureAuditIndexes(t.db);
    const ferret = await isFerretDB(t.db);
    expect(await ensureAuditIndexes(t.db)).toBe(!ferret);
    await t.db.collection(ACCESS_COLLECTION).insertOne({ probe: true });
    const names = (await t.db.collection(ACCESS_COLLECTION).indexes()).map((i) => i.name).sort();
    expect(names).toEqual(ferret ? ['_id_'] : ['_id_', 'claims_day', 'keys_last', 'last', 'log_seq', 'subject_last']);
    await t.db.collection(ACCESS_COLLECTION).deleteMany({ probe: true });
  });

  it('are created on request whatever the server (what benchmarks compare)', async () => {
    const db = t.client.db(`${t.name}_idx`);
    try {
      await createAuditIndexes(db);
      expect((await db.collection(ACCESS_COLLECTION).indexes()).map((i) => i.name).sort()).toEqual(['_id_', 'claims_day', 'keys_last', 'last', 'log_seq', 'subject_last']);
    } finally {
      await db.dropDatabase();
    }
  });
});

describe('audit writer', () => {
  it('makes every record findable once its append resolves', async () => {
    const writer = new AuditWriter(monitored.db(t.name), { writeConcern: { w: 1 } });
    await writer.append(record(1));
    const [found] = await searchAccess(t.db, { requestId: 'req-1' });
    // Stored without empty lists and nulls; read back whole.
    expect(found).toMatchObject({ system: 'mz-dibao', decision: 'allow', itemsReturned: ['name'], itemsMasked: [], code: null, reason: null });
    await writer.close();
  });

  it('groups the appends of one tick into batches of at most maxBatch', async () => {
    inserts.length = 0;
    const writer = new AuditWriter(monitored.db(t.name), { maxBatch: 128, maxInFlight: 1, writeConcern: { w: 1 } });
    await Promise.all(Array.from({ length: 300 }, (_, i) => writer.append(record(1000 + i))));
    expect(inserts).toEqual([128, 128, 44]);
    expect(writer.written).toBe(300);
    // One evidence block per write, each holding its records.
    expect(await t.db.collection(ACCESS_COLLECTION).countDocuments({ count: { $in: [128, 44] } })).toBe(3);
    const subject = subjectHash(Buffer.alloc(32, 1), 'id-1100');
    expect(await searchAccess(t.db, { subject })).toEqual([expect.objectContaining({ requestId: 'req-1100', subject })]);
    await writer.close();
  });

  it('starts the next write after the turn in which the last one was acknowledged: what that turn appends joins it, unless 128 records or a full block already wait', async () => {
    // While write 1 (one record) is in flight, `waiting` records are appended; once it is
    // acknowledged, its append's continuation appends one more, ten awaits later (a request
    // answered, and the next one it makes, in the same turn of the event loop).
    const run = async (waiting: number, base: number, maxBatch = 1024): Promise<number[]> => {
      inserts.length = 0;
      const writer = new AuditWriter(monitored.db(t.name), { maxBatch, writeConcern: { w: 1 } });
      const queued: Array<Promise<void>> = [];
      const duringFirst = (e: { commandName: string; databaseName: string }) => {
        if (e.commandName !== 'insert' || e.databaseName !== t.name) return;
        monitored.off('commandStarted', duringFirst);
        for (let i = 0; i < waiting; i++) queued.push(writer.append(record(base + 1 + i)));
      };
      monitored.on('commandStarted', duringFirst);
      const first = writer.append(record(base));
      const next = first.then(async () => {
        for (let i = 0; i < 10; i++) await null;
        await writer.append(record(base + 999));
      });
      await first;
      await next;
      await Promise.all(queued);
      await writer.close();
      return [...inserts];
    };
    expect(await run(1, 3000)).toEqual([1, 2]);
    expect(await run(130, 4000)).toEqual([1, 130, 1]);
    // Blocks of 4: five waiting fill one, so the next write (a block of 4 and one of 1) goes at once.
    expect(await run(5, 5000, 4)).toEqual([1, 4, 1, 1]);
  });

  it('with a linger, writes the appends of separate ticks within it as one block', async () => {
    inserts.length = 0;
    const writer = new AuditWriter(monitored.db(t.name), { maxBatch: 8, lingerMs: 200, writeConcern: { w: 1 } });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const first = [writer.append(record(2000))];
    await sleep(20);
    first.push(writer.append(record(2001)));
    await sleep(20);
    first.push(writer.append(record(2002)));
    expect(inserts).toEqual([]);
    await Promise.all(first);
    expect(inserts).toEqual([3]);
    await writer.close();
  });

  it('with a linger, writes a full block at once', async () => {
    inserts.length = 0;
    // A linger far beyond the test's timeout: only a full block can be written.
    const writer = new AuditWriter(monitored.db(t.name), { maxBatch: 8, lingerMs: 50_000, writeConcern: { w: 1 } });
    await Promise.all(Array.from({ length: 8 }, (_, i) => writer.append(record(2010 + i))));
    expect(inserts).toEqual([8]);
    await writer.close();
  });

  it('with a linger, writes what lingers when it is closed', async () => {
    inserts.length = 0;
    const writer = new AuditWriter(monitored.db(t.name), { lingerMs: 50_000, writeConcern: { w: 1 } });
    const appended = writer.append(record(2100));
    await new Promise((r) => setImmediate(r));
    await writer.close();
    await appended;
    expect(inserts).toEqual([1]);
  });

  it('fails only the append of a record with no canonical JSON; the others are written, numbered without a gap', async () => {
    const errors: number[] = [];
    const log = new EvidenceLog(monitored.db(t.name), { origin: 'unit/unencodable/1', signer: noteSigner('unit', 'c3'.repeat(32)) });
    await log.register();
    inserts.length = 0;
    const writer = new AuditWriter(monitored.db(t.name), { log, writeConcern: { w: 1 }, onError: (_e, n) => errors.push(n) });
    const lone = { ...record(6001), caseId: 'C-\ud800' };
    const nan = { ...record(6003), attempt: Number.NaN };
    const results = await Promise.allSettled([writer.append(record(6000)), writer.append(lone), writer.append(record(6002)), writer.append(nan)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(AuditUnavailableError);
    expect(errors).toEqual([2]);
    expect(inserts).toEqual([2]);
    const blocks = await t.db.collection(ACCESS_COLLECTION).find({ log: log.origin }, { projection: { _id: 0, seq: 1, count: 1 } }).toArray();
    expect(blocks).toEqual([{ seq: 0, count: 2 }]);
    // The writer goes on: the next record is number 2.
    await writer.append(record(6004));
    const after = await t.db.collection(ACCESS_COLLECTION).find({ log: log.origin }, { projection: { _id: 0, seq: 1, count: 1 } }).sort({ seq: 1 }).toArray();
    expect(after).toEqual([{ seq: 0, count: 2 }, { seq: 2, count: 1 }]);
    await writer.close();
  });

  it('fails every waiting append when the write fails, and refuses appends after close', async () => {
    const client = new MongoClient(inject('mongoUri'), { serverSelectionTimeoutMS: 500 });
    await client.connect();
    const errors: number[] = [];
    const writer = new AuditWriter(client.db(t.name), { writeConcern: { w: 1 }, onError: (_e, n) => errors.push(n) });
    await client.close();
    const results = await Promise.allSettled([writer.append(record(5001)), writer.append(record(5002))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(AuditUnavailableError);
    expect(errors).toEqual([2]);
    await writer.close();
    await expect(writer.append(record(5003))).rejects.toBeInstanceOf(AuditUnavailableError);
  });
});

describe('checkpoints', () => {
  it('keeps signing as the log grows after a checkpoint that found nothing new', async () => {
    // Regression: a checkpoint with nothing new returned before its first await, and the settled
    // promise stayed as "signing in progress": the log was never checkpointed again.
    const log = new EvidenceLog(t.db, { origin: 'unit/checkpoints/1', signer: noteSigner('unit', 'c3'.repeat(32)), checkpointRecords: 1_000_000, checkpointSeconds: 3600 });
    const writer = new AuditWriter(t.db, { log, writeConcern: { w: 1 } });
    await log.checkpoint();
    expect(log.latest?.size).toBe(0);
    await log.checkpoint(); // nothing new
    await writer.appendMany([record(1), record(2), record(3)]);
    await log.checkpoint();
    expect(log.latest?.size).toBe(3);
    await writer.append(record(4));
    await writer.close(); // closing signs the last checkpoint
    expect(log.latest?.size).toBe(4);
  });

  it('signs on its timer when records were added since the last checkpoint', async () => {
    const log = new EvidenceLog(t.db, { origin: 'unit/checkpoints/2', signer: noteSigner('unit', 'c3'.repeat(32)), checkpointRecords: 1_000_000, checkpointSeconds: 0.1 });
    const writer = new AuditWriter(t.db, { log, writeConcern: { w: 1 } });
    const until = async (size: number) => {
      for (let i = 0; i < 100 && log.latest?.size !== size; i++) await new Promise((r) => setTimeout(r, 50));
      return log.latest?.size;
    };
    expect(await until(0)).toBe(0);
    await new Promise((r) => setTimeout(r, 250)); // ticks with nothing new
    await writer.appendMany([record(1), record(2)]);
    expect(await until(2)).toBe(2);
    await writer.close();
  });
});

describe('audit search', () => {
  it('finds records by subject, system, decision and time across evidence blocks, newest first', async () => {
    const db = t.client.db(`${t.name}_search`);
    try {
      const writer = new AuditWriter(db, { maxBatch: 2, writeConcern: { w: 1 } });
      const at = (minutes: number) => new Date(Date.UTC(2026, 10, 1, 12, minutes));
      const rec = (i: number, over: Partial<AccessRecord>) => ({ ...record(i), ...over });
      await Promise.all([
        writer.append(rec(1, { at: at(1), subject: 'S1', system: 'a', decision: 'allow' })),
        writer.append(rec(2, { at: at(2), subject: 'S2', system: 'a', decision: 'deny' })),
        writer.append(rec(3, { at: at(3), subject: 'S1', system: 'b', decision: 'partial' })),
        writer.append(rec(4, { at: at(4), subject: 'S1', system: 'a', decision: 'allow' })),
        writer.append(rec(5, { at: at(5), subject: 'S3', system: 'b', decision: 'deny' })),
      ]);
      await writer.close();
      const ids = (rs: AccessRecord[]) => rs.map((r) => r.requestId);
      expect(ids(await searchAccess(db, { subject: 'S1' }))).toEqual(['req-4', 'req-3', 'req-1']);
      expect(ids(await searchAccess(db, { subject: 'S1', system: 'a' }))).toEqual(['req-4', 'req-1']);
      expect(ids(await searchAccess(db, { decision: 'deny' }))).toEqual(['req-5', 'req-2']);
      expect(ids(await searchAccess(db, { from: at(2), to: at(4) }))).toEqual(['req-3', 'req-2']);
      expect(ids(await searchAccess(db, { subject: 'S1', limit: 2 }))).toEqual(['req-4', 'req-3']);
      expect(await searchAccess(db, { subject: 'nobody' })).toEqual([]);
    } finally {
      await db.dropDatabase();
    }
  });

  // Failed before the fix: the search stopped at the first block that brought it to its limit, so
  // with two hub processes' logs it answered A's older record in place of B's newer one.
  it('answers the newest records when the blocks of two logs overlap in time', async () => {
    const db = t.client.db(`${t.name}_overlap`);
    try {
      const at = (minutes: number) => new Date(Date.UTC(2026, 10, 1, 12, minutes));
      const rec = (id: string, minutes: number) => ({ ...record(0), requestId: id, at: at(minutes), subject: 'S1' });
      const a = new AuditWriter(db, { writeConcern: { w: 1 } });
      const b = new AuditWriter(db, { writeConcern: { w: 1 } });
      await a.appendMany([rec('a-1', 1), rec('a-10', 10)]); // one block of log A: 12:01 to 12:10
      await b.appendMany([rec('b-5', 5), rec('b-6', 6)]); // one block of log B: 12:05 to 12:06
      await Promise.all([a.close(), b.close()]);
      const ids = (rs: AccessRecord[]) => rs.map((r) => r.requestId);
      expect(ids(await searchAccess(db, { subject: 'S1', limit: 2 }))).toEqual(['a-10', 'b-6']);
      expect(ids(await searchAccess(db, { subject: 'S1', limit: 3 }))).toEqual(['a-10', 'b-6', 'b-5']);
      expect(ids(await searchAccess(db, { subject: 'S1' }))).toEqual(['a-10', 'b-6', 'b-5', 'a-1']);
      expect(await searchAccess(db, { subject: 'S1', limit: 0 })).toEqual([]);
    } finally {
      await db.dropDatabase();
    }
  });
});
