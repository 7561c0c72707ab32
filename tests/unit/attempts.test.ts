/**
 * Verification attempts counted by their records (audit/attempts.ts): attempt n is the record
 * written with the claim `<counter>#<n>` as its block's `_id`, one insert for both, exact across
 * instances; a taken claim moves a process on, and the log of every writer stays gap-free.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ACCESS_COLLECTION, AuditWriter, ClaimTakenError, EvidenceLog, noteSigner, parseVerifierKey, subjectHash, VerificationAttempts, verifyTrail,
  attemptCounter, linesOf, type AccessRecord, type EvidenceBlock,
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
const lineOf = (b: EvidenceBlock) => JSON.parse(linesOf(b)!) as { attempt?: number; requestId: string; seq: number };

beforeAll(async () => {
  t = await testDatabase('attempts');
});
afterAll(async () => {
  for (const w of writers) await w.close();
  await t?.drop();
});

describe('verification attempts', () => {
  it('are numbered 1…limit by the blocks that record them, one insert each, and refused past the limit with nothing written', async () => {
    const { attempts } = await instance();
    const who = { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', subject: subject('one') };
    const got: Array<number | null> = [];
    for (let i = 0; i < 4; i++) got.push(await attempts.record(who, DAY, 3, (attempt) => record(i, { subject: who.subject, attempt })));
    expect(got).toEqual([1, 2, 3, null]);
    expect(attempts.exhausted(who, DAY, 3)).toBe(true);
    const counter = attemptCounter(who, DAY);
    const claimed = await blocks().find({ _id: { $in: [1, 2, 3, 4].map((k) => `${counter}#${k}`) } }).toArray();
    expect(claimed.map((b) => [b._id, b.count, lineOf(b).attempt, lineOf(b).requestId]).sort()).toEqual([
      [`${counter}#1`, 1, 1, 'req-0'], [`${counter}#2`, 1, 2, 'req-1'], [`${counter}#3`, 1, 3, 'req-2'],
    ]);
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
    const counted = new VerificationAttempts({ append: (r, claim, probing) => { writes++; return later.writer.append(r, claim, probing); } }, t.db.collection(MARK_COLLECTION));
    expect(await counted.record(who, DAY, 1000, (attempt) => record(900, { subject: who.subject, attempt }))).toBe(131);
    // #1 taken, then the mark (128): #129, #130 taken, #131 free.
    expect(writes).toBe(4);
  });

  it('a claimed append whose claim is taken rejects with ClaimTakenError, unwritten, and the records written with it land', async () => {
    const { writer } = await instance();
    await blocks().insertOne({ _id: 'taken#1' as never, probe: true } as never);
    const plain = writer.append(record(500, { action: 'read' }));
    const claimedTaken = writer.append(record(501), 'taken#1');
    const claimedFree = writer.append(record(502), 'free#1');
    await expect(claimedTaken).rejects.toBeInstanceOf(ClaimTakenError);
    await plain;
    await claimedFree;
    const mine = await blocks().find({ log: writer.log.origin }).sort({ seq: 1 }).toArray();
    expect(mine.map((b) => [b.seq, lineOf(b).requestId])).toEqual([[0, 'req-500'], [1, 'req-502']]);
    expect(mine[1]!._id).toBe('free#1');
  });

  it('a claim that follows a taken one goes after the others of its write, so it stops none of them: one insert for both', async () => {
    const monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
    let inserts = 0;
    monitored.on('commandStarted', (e) => { if (e.commandName === 'insert' && e.databaseName === t.name) inserts++; });
    await monitored.connect();
    try {
      const log = new EvidenceLog(monitored.db(t.name), { origin: `yiwang-hub/attempts/${++n}`, signer });
      const writer = new AuditWriter(monitored.db(t.name), { log, writeConcern: { w: 1 } });
      await blocks().insertOne({ _id: 'again#1' as never, probe: true } as never);
      inserts = 0;
      const probing = writer.append(record(800), 'again#1', true);
      const fresh = writer.append(record(801), 'fresh#1');
      await expect(probing).rejects.toBeInstanceOf(ClaimTakenError);
      await fresh;
      expect(inserts).toBe(1);
      await writer.close();
    } finally {
      await monitored.close();
    }
  });
});
