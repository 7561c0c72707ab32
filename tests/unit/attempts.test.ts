/**
 * Verification attempts counted by their records (audit/attempts.ts): attempt n is the record
 * written with the claim `<counter>#<n>`, a document of that `_id` inserted just before the block
 * that holds the record, one insert for both, exact across instances; a taken claim moves a process
 * on, and the log of every writer stays gap-free.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ACCESS_COLLECTION, AuditWriter, ClaimTakenError, EvidenceLog, noteSigner, parseVerifierKey, subjectHash, VerificationAttempts, verifyTrail,
  attemptCounter, linesOf, recordsOf, type AccessRecord, type ClaimDoc, type EvidenceBlock,
} from '../../audit/index.ts';
import { MARK_COLLECTION, SLOT_COLLECTION } from '../../store/index.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

const signer = noteSigner('yiwang-hub', randomBytes(32).toString('hex'));
const verifier = parseVerifierKey(signer.verifierKey);
const DAY = '2026-12-07';
const subject = (name: string) => subjectHash(Buffer.alloc(32, 3), name);

function record(i: number, over: Partial<AccessRecord> = {}): AccessRecord {
  return {
    at: new Date(), day: DAY, requestId: `req-${i}`, action: 'verify', system: 'zw-yichuang', department: 'ZW', principalKind: 'system',
    operator: 'op', purpose: '440000-CSYJS-001', caseId: `case-${i}`, resource: 'WJ-BIRTH-CERT', provider: 'WJ', subjectType: 'person',
    subject: subject('child'), itemsReturned: [], itemsMasked: [], itemsRefused: [], itemsVerified: ['motherIdNumber'],
    grants: [], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null, ...over,
  };
}

let t: TestDatabase;
const writers: AuditWriter[] = [];
let n = 0;

/** A hub instance: a writer of its own signed log, and its attempt counter. */
async function instance(): Promise<{ writer: AuditWriter; attempts: VerificationAttempts }> {
  const log = new EvidenceLog(t.db, { origin: `yiwang-hub/attempts/${++n}`, signer });
  await log.register();
  const writer = new AuditWriter(t.db, { log, writeConcern: { w: 1 } });
  writers.push(writer);
  return { writer, attempts: new VerificationAttempts(writer, t.db.collection(MARK_COLLECTION)) };
}

const blocks = () => t.db.collection<EvidenceBlock & { _id: string }>(ACCESS_COLLECTION);
const claims = () => t.db.collection<ClaimDoc>(ACCESS_COLLECTION);
const lineOf = (b: EvidenceBlock) => JSON.parse(linesOf(b)!) as { attempt?: number; requestId: string; seq: number };
/** The request ids of a log's records, block by block in sequence order. */
const requestsOf = async (writer: AuditWriter) =>
  (await blocks().find({ log: writer.log.origin }).sort({ seq: 1 }).toArray()).map((b) => [b.seq, recordsOf(b).map((r) => ('requestId' in r ? r.requestId : '?'))]);

/** A writer on a client that counts the documents of each insert into the test's database. */
async function monitoredWriter(): Promise<{ writer: AuditWriter; inserts: number[]; close: () => Promise<void> }> {
  const monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
  const inserts: number[] = [];
  monitored.on('commandStarted', (e) => {
    if (e.commandName === 'insert' && e.databaseName === t.name && e.command['insert'] === ACCESS_COLLECTION) inserts.push((e.command['documents'] as unknown[]).length);
  });
  await monitored.connect();
  const log = new EvidenceLog(monitored.db(t.name), { origin: `yiwang-hub/attempts/${++n}`, signer });
  const writer = new AuditWriter(monitored.db(t.name), { log, writeConcern: { w: 1 } });
  return { writer, inserts, close: async () => { await writer.close(); await monitored.close(); } };
}

beforeAll(async () => {
  t = await testDatabase('attempts');
});
afterAll(async () => {
  for (const w of writers) await w.close();
  await t?.drop();
});

describe('verification attempts', () => {
  it('are numbered 1…limit by the claims their records are written with, and refused past the limit with nothing written', async () => {
    const { writer, attempts } = await instance();
    const who = { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', subject: subject('one') };
    const got: Array<number | null> = [];
    for (let i = 0; i < 4; i++) got.push(await attempts.record(who, DAY, 3, (attempt) => record(i, { subject: who.subject, attempt })));
    expect(got).toEqual([1, 2, 3, null]);
    expect(attempts.exhausted(who, DAY, 3)).toBe(true);
    const counter = attemptCounter(who, DAY);
    const claimed = await claims().find({ _id: { $in: [1, 2, 3, 4].map((k) => `${counter}#${k}`) } }).toArray();
    expect(claimed.sort((x, y) => x._id.localeCompare(y._id))).toEqual([1, 2, 3].map((k) => ({ _id: `${counter}#${k}`, day: DAY })));
    // The records themselves are evidence blocks of the log, numbered as their claims.
    const stored = await blocks().find({ log: writer.log.origin }).sort({ seq: 1 }).toArray();
    expect(stored.map((b) => [b.seq, lineOf(b).attempt, lineOf(b).requestId])).toEqual([[0, 1, 'req-0'], [1, 2, 'req-1'], [2, 3, 'req-2']]);
    // No slot documents any more: the record is the count.
    expect(await t.db.collection(SLOT_COLLECTION).countDocuments({})).toBe(0);
  });

  it('hold exactly across two instances asked at once: the limit answered, each number once, both logs without a gap', async () => {
    const a = await instance();
    const b = await instance();
    const who = { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', subject: subject('shared') };
    // Unrelated records around them, in the same inserts: a taken claim stops an insert that carries others.
    const others = Array.from({ length: 12 }, (_, i) => [a, b][i % 2]!.writer.append(record(100 + i, { subject: subject(`other-${i}`), action: 'read' })));
    const asked = Array.from({ length: 16 }, (_, i) => [a, b][i % 2]!.attempts.record(who, DAY, 5, (attempt) => record(200 + i, { subject: who.subject, attempt })));
    const more = Array.from({ length: 12 }, (_, i) => [a, b][i % 2]!.writer.append(record(300 + i, { subject: subject(`more-${i}`), action: 'read' })));
    const got = await Promise.all(asked);
    await Promise.all([...others, ...more]);
    // And one more each, after every claim was settled: numbered on from where its log stands.
    await Promise.all([a, b].map((x, i) => x.writer.append(record(600 + i, { action: 'read' }))));
    expect(got.filter((x) => x !== null).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(got.filter((x) => x === null)).toHaveLength(11);
    await a.writer.log.checkpoint();
    await b.writer.log.checkpoint();
    const report = await verifyTrail(t.db, verifier);
    const mine = report.logs.filter((l) => l.log === a.writer.log.origin || l.log === b.writer.log.origin);
    expect(mine.map((l) => [l.problems.length, l.records === l.verifiedSize])).toEqual([[0, true], [0, true]]);
    // Every record appended landed (26 others, 5 attempts), numbered 0, 1, 2 … in each log: no gap.
    for (const w of [a.writer, b.writer]) {
      const stored = await blocks().find({ log: w.log.origin }).sort({ seq: 1 }).toArray();
      expect(stored.map((s) => s.seq)).toEqual(stored.map((_, i) => stored.slice(0, i).reduce((sum, s) => sum + s.count, 0)));
    }
    expect(mine.reduce((sum, l) => sum + l.records, 0)).toBe(31);
  });

  it('a process that knows nothing yet probes past the claims another holds: its first attempt is 4 after 1–3', async () => {
    const first = await instance();
    const who = { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', subject: subject('later') };
    for (let i = 0; i < 3; i++) await first.attempts.record(who, DAY, 5, (attempt) => record(400 + i, { subject: who.subject, attempt }));
    const later = await instance();
    expect(later.attempts.exhausted(who, DAY, 5)).toBe(false);
    expect(await later.attempts.record(who, DAY, 5, (attempt) => record(410, { subject: who.subject, attempt }))).toBe(4);
    expect(await first.attempts.record(who, DAY, 5, (attempt) => record(411, { subject: who.subject, attempt }))).toBe(5);
    expect(await later.attempts.record(who, DAY, 5, (attempt) => record(412, { subject: who.subject, attempt }))).toBeNull();
  });

  it('with a limit above 64, a process that knows nothing yet starts from the counter\'s mark: attempt 131 after 130 in 4 writes, not 131', async () => {
    const first = await instance();
    const who = { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', subject: subject('busy') };
    for (let i = 0; i < 130; i++) await first.attempts.record(who, DAY, 1000, (attempt) => record(700 + i, { subject: who.subject, attempt }));
    const later = await instance();
    let writes = 0;
    const counted = new VerificationAttempts({ append: (r, claim, probing) => { writes++; return later.writer.append(r, claim, probing); }, forgetClaims: (day) => later.writer.forgetClaims(day) }, t.db.collection(MARK_COLLECTION));
    expect(await counted.record(who, DAY, 1000, (attempt) => record(900, { subject: who.subject, attempt }))).toBe(131);
    // #1 taken, then the mark (128): #129, #130 taken, #131 free.
    expect(writes).toBe(4);
  });

  it('a claimed append whose claim is taken rejects with ClaimTakenError, unwritten, and the records written with it land in the next insert', async () => {
    const { writer, inserts, close } = await monitoredWriter();
    try {
      await claims().insertOne({ _id: 'taken#1', day: DAY });
      inserts.length = 0;
      const plain = writer.append(record(500, { action: 'read' }));
      const claimedTaken = writer.append(record(501), { id: 'taken#1', day: DAY });
      const claimedFree = writer.append(record(502), { id: 'free#1', day: DAY });
      await expect(claimedTaken).rejects.toEqual(new ClaimTakenError('taken#1'));
      await plain;
      await claimedFree;
      // The first insert stopped at the taken claim, before its block; the second wrote the free
      // claim and one block of both records, numbered from 0.
      expect(inserts).toEqual([3, 2]);
      expect(await requestsOf(writer)).toEqual([[0, ['req-500', 'req-502']]]);
      expect(await claims().findOne({ _id: 'free#1' })).toEqual({ _id: 'free#1', day: DAY });
    } finally {
      await close();
    }
  });

  it('claims before a taken one are held: their records go into the next insert without claiming again, the log without a gap', async () => {
    const { writer, inserts, close } = await monitoredWriter();
    try {
      await writer.log.register();
      await claims().insertOne({ _id: 'row#2', day: DAY });
      await writer.append(record(950, { action: 'read' }));
      inserts.length = 0;
      const plain = writer.append(record(951, { action: 'read' }));
      const outcomes = Promise.allSettled([1, 2, 3].map((k) => writer.append(record(951 + k), { id: `row#${k}`, day: DAY })));
      await plain;
      expect((await outcomes).map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      // row#1 landed and stopped there (held); row#2 stopped the insert; row#3 is claimed in the next.
      expect(inserts).toEqual([4, 2]);
      expect(await claims().countDocuments({ _id: { $in: ['row#1', 'row#2', 'row#3'] } })).toBe(3);
      expect(await requestsOf(writer)).toEqual([[0, ['req-950']], [1, ['req-951', 'req-952', 'req-954']]]);
      await writer.log.checkpoint();
      const report = await verifyTrail(t.db, verifier);
      const mine = report.logs.find((l) => l.log === writer.log.origin)!;
      expect([mine.problems, mine.records, mine.verifiedSize]).toEqual([[], 4, 4]);
    } finally {
      await close();
    }
  });

  it('a claim that follows a taken one goes after the others of its write, so it stops none of them', async () => {
    const { writer, inserts, close } = await monitoredWriter();
    try {
      await claims().insertOne({ _id: 'again#1', day: DAY });
      inserts.length = 0;
      const probing = writer.append(record(800), { id: 'again#1', day: DAY }, true);
      const fresh = writer.append(record(801), { id: 'fresh#1', day: DAY });
      await expect(probing).rejects.toEqual(new ClaimTakenError('again#1'));
      await fresh;
      // fresh#1 first (it landed), again#1 stopped the insert; the next carries the record alone.
      expect(inserts).toEqual([3, 1]);
      expect(await requestsOf(writer)).toEqual([[0, ['req-801']]]);
    } finally {
      await close();
    }
  });

  it('serve their day: the first attempt of a day drops the claims of the days before the day before, and no evidence', async () => {
    const old = { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', subject: subject('old') };
    const earlier = await instance();
    expect(await earlier.attempts.record(old, '2026-12-05', 5, (attempt) => record(1000, { subject: old.subject, day: '2026-12-05', attempt }))).toBe(1);
    expect(await earlier.attempts.record(old, '2026-12-06', 5, (attempt) => record(1001, { subject: old.subject, day: '2026-12-06', attempt }))).toBe(1);
    const kept = await blocks().countDocuments({ log: earlier.writer.log.origin });
    const { attempts } = await instance();
    expect(await attempts.record(old, DAY, 5, (attempt) => record(1002, { subject: old.subject, attempt }))).toBe(1);
    const left = async () => (await claims().find({ _id: { $in: ['2026-12-05', '2026-12-06', DAY].map((d) => `${attemptCounter(old, d)}#1`) } }).toArray()).map((c) => c.day).sort();
    const deadline = Date.now() + 10_000;
    while ((await left()).includes('2026-12-05') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await left()).toEqual(['2026-12-06', DAY]);
    expect(await blocks().countDocuments({ log: earlier.writer.log.origin })).toBe(kept);
  });
});
