/**
 * Evidence blocks in the compact encoding (canonical JSON lines, one binary of leaf hashes, the
 * summaries the database filters and counts by), and trails written before it (blocks of record
 * documents): everything that reads the trail reads both, in one trail.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { Binary } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCESS_COLLECTION, AuditWriter, EvidenceLog, auditAnomalies, blocksWith, encodeBlock, auditStatistics, keysOf, searchAccess, tallyOf, canonicalBytes, exportTrail, getTrailRecord, leafHash, linesOf,
  noteSigner, openNote, packRecord, parseCheckpointText, parseVerifierKey, proveRecord, verifyInclusion, recordLeaf, searchTrail, subjectHash, verifyExport, verifyTrail,
  type AccessRecord, type EvidenceBlock, type SummaryForm, type Tally,
} from '../../audit/index.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

const signer = noteSigner('yiwang-hub', randomBytes(32).toString('hex'));
const verifier = parseVerifierKey(signer.verifierKey);
const key = Buffer.alloc(32, 7);
const DAY = '2026-12-01';
const alice = subjectHash(key, 'alice');
const bob = subjectHash(key, 'bob');

function record(i: number, over: Partial<AccessRecord> = {}): AccessRecord {
  return {
    at: new Date(Date.parse(`${DAY}T02:00:00Z`) + i * 1000), day: DAY, requestId: `req-${i}`, action: 'read', system: 'mz-dibao', department: 'MZ',
    principalKind: 'system', operator: 'op-1', purpose: '440000-DIBAO-001', caseId: `case-${i}`, resource: 'GA-HUKOU', provider: 'GA',
    subjectType: 'person', subject: i % 2 === 0 ? alice : bob, itemsReturned: ['name'], itemsMasked: [], itemsRefused: [], itemsVerified: [],
    grants: [{ id: 'g-1', version: 1 }], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null, ...over,
  };
}

const refused = (i: number) => record(i, { decision: 'deny', code: 'FORBIDDEN', denial: 'NO_GRANT', itemsReturned: [], itemsRefused: ['name'], grants: [] });

let t: TestDatabase;
let legacy: EvidenceLog;
let compact: AuditWriter;

/** Writes records as hubs did before the compact encoding: one block, an array of record documents, base64 leaves. */
async function writeDocumentsBlock(log: EvidenceLog, records: readonly AccessRecord[]): Promise<void> {
  const seq = log.reserve(records.length);
  const packed = records.map((r, i) => ({ ...packRecord(r), log: log.origin, seq: seq + i }));
  const leaves = packed.map(recordLeaf);
  const at = records.map((r) => r.at.getTime());
  await t.db.collection(ACCESS_COLLECTION).insertOne({
    at: new Date(), first: new Date(Math.min(...at)), last: new Date(Math.max(...at)), count: records.length, log: log.origin, seq,
    leaves: leaves.map((l) => l.toString('base64')), records: packed,
  });
  log.durable(seq, leaves);
}

beforeAll(async () => {
  t = await testDatabase('encoding');
  legacy = new EvidenceLog(t.db, { origin: 'yiwang-hub/legacy/1', signer });
  await legacy.register();
  // Records 0–5 (two refused) written as documents, then 6–11 (two refused) compact, by a writer of its own log.
  await writeDocumentsBlock(legacy, [record(0), record(1), refused(2), record(3)]);
  await writeDocumentsBlock(legacy, [refused(4), record(5)]);
  await legacy.checkpoint();
  const log = new EvidenceLog(t.db, { origin: 'yiwang-hub/compact/2', signer });
  await log.register();
  compact = new AuditWriter(t.db, { log, writeConcern: { w: 1 } });
  await compact.appendMany([record(6), refused(7), record(8), refused(9), record(10), record(11, { resource: 'GA-VEHICLE' })]);
  await log.checkpoint();
});

afterAll(async () => {
  await compact?.close();
  await legacy?.close();
  await t?.drop();
});

describe('a compact block', () => {
  it('stores the records as the canonical JSON lines their leaves hash, deflated, beside the summaries the database needs', async () => {
    const block = (await t.db.collection<EvidenceBlock>(ACCESS_COLLECTION).findOne({ log: compact.log.origin }))!;
    expect(Object.keys(block).sort()).toEqual(['_id', 'at', 'count', 'deflated', 'first', 'keys', 'last', 'leaves', 'log', 'seq', 'tally']);
    const text = linesOf(block)!;
    // Six records of one system and purpose: their text deflates to a fraction of its size.
    expect((block.deflated as Binary).length()).toBeLessThan(Buffer.byteLength(text) / 3);
    const lines = text.split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toBe(canonicalBytes({ ...packRecord(refused(7)), log: compact.log.origin, seq: 1 }).toString('utf8'));
    const leaves = Buffer.from((block.leaves as { buffer: Uint8Array }).buffer);
    expect(leaves.subarray(32, 64).equals(leafHash(Buffer.from(lines[1]!, 'utf8')))).toBe(true);
    expect(keysOf(block).filter((k) => k.startsWith('subject=')).sort()).toEqual([`subject=${alice}`, `subject=${bob}`].sort());
    expect(keysOf(block)).toContain('decision=deny');
    expect(keysOf(block)).toContain('caseId=case-9');
    expect([...tallyOf(block)].sort((a, b) => `${a.resource}${a.decision}`.localeCompare(`${b.resource}${b.decision}`))).toEqual([
      { day: DAY, department: 'MZ', resource: 'GA-HUKOU', purpose: '440000-DIBAO-001', decision: 'allow', n: 3 },
      { day: DAY, department: 'MZ', resource: 'GA-HUKOU', purpose: '440000-DIBAO-001', decision: 'deny', n: 2 },
      { day: DAY, department: 'MZ', resource: 'GA-VEHICLE', purpose: '440000-DIBAO-001', decision: 'allow', n: 1 },
    ]);
  });

  it('keeps to the same fields however many records it holds', async () => {
    const before = await t.db.collection(ACCESS_COLLECTION).countDocuments({ log: compact.log.origin });
    await compact.appendMany(Array.from({ length: 200 }, (_, i) => record(100 + i, { day: '2026-11-01', at: new Date(Date.parse('2026-11-01T03:00:00Z') + i) })));
    const blocks = await t.db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log: compact.log.origin }).sort({ seq: 1 }).toArray();
    expect(blocks).toHaveLength(before + 1);
    const big = blocks.at(-1)!;
    expect(big.count).toBe(200);
    expect(Object.keys(big)).toHaveLength(11);
    expect((big.deflated as Binary).length()).toBeLessThan(Buffer.byteLength(linesOf(big)!) / 10);
    expect(big.tally).toEqual([{ day: '2026-11-01', department: 'MZ', resource: 'GA-HUKOU', purpose: '440000-DIBAO-001', decision: 'allow', n: 200 }]);
    await compact.log.checkpoint();
  });

  it('keeps lines of less than 1 KiB as text: a single record deflates to little', () => {
    const { doc } = encodeBlock('yiwang-hub/short/1', 0, [record(1)]);
    expect(typeof doc.lines).toBe('string');
    expect(doc.deflated).toBeUndefined();
    expect(linesOf(doc)).toBe(canonicalBytes({ ...packRecord(record(1)), log: 'yiwang-hub/short/1', seq: 0 }).toString('utf8'));
    const { doc: two } = encodeBlock('yiwang-hub/short/1', 0, [record(1), record(2), record(3)]);
    expect(two.lines).toBeUndefined();
    expect(linesOf(two)!.split('\n')).toHaveLength(3);
  });

  it('stores exactly the lines joined and deflated, and leaves of exactly each line, block after block, whatever the text and size', () => {
    // The lines are written into one buffer reused from block to block (and grown, and let go of
    // past 4 MiB): each block must hold its own lines only, and every leaf the hash of its line.
    const reference = (log: string, seq: number, records: readonly AccessRecord[]) => {
      const lines = records.map((r, i) => canonicalBytes({ ...packRecord(r), log, seq: seq + i }).toString('utf8'));
      const text = lines.join('\n');
      return { text, deflated: deflateRawSync(Buffer.from(text, 'utf8'), { level: 1 }), leaves: lines.map((l) => leafHash(Buffer.from(l, 'utf8'))) };
    };
    const cases: Array<readonly AccessRecord[]> = [
      Array.from({ length: 200 }, (_, i) => record(i)),
      [record(1, { reason: '按授权提供😀，姓名：张三' }), record(2, { operator: 'ü'.repeat(600) })],
      [record(3)],
      Array.from({ length: 40 }, (_, i) => record(i, { reason: '理由'.repeat(2_000 + i) })), // ≈ 1 MB of UTF-8: the buffer grows
      Array.from({ length: 3 }, (_, i) => record(i, { reason: 'x'.repeat(2_000_000) })), // 6 MB: grown past 4 MiB, then let go
      [record(4), record(5)],
    ];
    for (const [n, records] of cases.entries()) {
      const log = `yiwang-hub/lines/${n}`;
      const { doc, leaves } = encodeBlock(log, 7, records);
      const want = reference(log, 7, records);
      expect(linesOf(doc)).toBe(want.text);
      if (want.text.length < 1024) expect(doc.lines).toBe(want.text);
      else expect(Buffer.from((doc.deflated as Binary).buffer).equals(want.deflated)).toBe(true);
      expect(leaves.map((l) => l.toString('hex'))).toEqual(want.leaves.map((l) => l.toString('hex')));
      expect(Buffer.from((doc.leaves as Binary).buffer).equals(Buffer.concat(want.leaves))).toBe(true);
    }
  });
});

describe('the summaries of a block', () => {
  it.each(['fields', 'text'] as const)('count every record in its group and list every searchable value, whatever the order of the records (%s)', (form) => {
    const mixed = [
      record(0), record(1, { resource: 'GA-VEHICLE' }), record(2), refused(3), record(4, { resource: 'GA-VEHICLE' }),
      record(5, { purpose: null, operator: null }), record(6), record(7, { purpose: null }), refused(8),
    ];
    const { doc } = encodeBlock('yiwang-hub/summaries/1', 0, mixed, undefined, undefined, form);
    // Lists for MongoDB's index and pipelines; for FerretDB, which pays per element, two strings.
    expect([typeof doc.keys, typeof doc.tally]).toEqual(form === 'text' ? ['string', 'string'] : ['object', 'object']);
    const byGroup = (rows: readonly Tally[]) => [...rows].sort((a, b) => `${a.resource}${a.purpose}${a.decision}`.localeCompare(`${b.resource}${b.purpose}${b.decision}`));
    expect(byGroup(tallyOf(doc))).toEqual(byGroup([
      { day: DAY, department: 'MZ', resource: 'GA-HUKOU', purpose: '440000-DIBAO-001', decision: 'allow', n: 3 },
      { day: DAY, department: 'MZ', resource: 'GA-HUKOU', purpose: '440000-DIBAO-001', decision: 'deny', n: 2 },
      { day: DAY, department: 'MZ', resource: 'GA-HUKOU', decision: 'allow', n: 2 },
      { day: DAY, department: 'MZ', resource: 'GA-VEHICLE', purpose: '440000-DIBAO-001', decision: 'allow', n: 2 },
    ]));
    expect([...keysOf(doc)].sort()).toEqual([
      ...mixed.map((r) => `caseId=${r.caseId}`), 'code=FORBIDDEN', 'decision=allow', 'decision=deny', 'department=MZ', 'operator=op-1',
      'purpose=440000-DIBAO-001', ...mixed.map((r) => `requestId=${r.requestId}`), 'resource=GA-HUKOU', 'resource=GA-VEHICLE',
      `subject=${alice}`, `subject=${bob}`, 'system=mz-dibao',
    ].sort());
  });
});

describe.each(['fields', 'text'] as const)('blocks whose summaries are %s', (written) => {
  // On MongoDB blocks are only lists, read by the multikey index and pipelines (`fields`); on
  // FerretDB new blocks are text and older ones lists, both read by the `text` reader.
  const readers: SummaryForm[] = written === 'fields' ? ['fields', 'text'] : ['text'];
  const db = () => t.client.db(`${t.name}_${written}`);
  const odd = ['a.b', 'aXb', 'line\nbreak', 'nul\u0000char', '(x)+[y]*?', 'back\\slash$^|{2}/-'];

  beforeAll(async () => {
    const writer = new AuditWriter(db(), { summaries: written, writeConcern: { w: 1 } });
    await writer.appendMany([record(0), record(1), refused(2), record(3, { resource: 'GA-VEHICLE' })]);
    await writer.appendMany([refused(4), record(5), record(6, { resource: 'GA-VEHICLE' }), record(7, { day: '2026-12-02', at: new Date('2026-12-02T01:00:00Z') })]);
    // Values a regular expression would read otherwise, each in a block of its own.
    for (const [i, caseId] of odd.entries()) await writer.appendMany([record(20 + i, { caseId })]);
    await writer.close();
  });
  afterAll(async () => {
    await db().dropDatabase();
  });

  it.each(readers)('are found by the %s reader: by subject, system and decision, resource, and exact values only', async (reader) => {
    const ids = (rs: readonly AccessRecord[]) => rs.map((r) => r.requestId);
    const bySubject = await searchTrail(db(), { subject: alice, from: new Date(`${DAY}T00:00:00Z`) }, 50, null, reader);
    expect(ids(bySubject.records)).toEqual(['req-24', 'req-22', 'req-20', 'req-6', 'req-4', 'req-2', 'req-0']);
    const refusals = await searchTrail(db(), { system: 'mz-dibao', decision: 'deny' }, 50, null, reader);
    expect(ids(refusals.records)).toEqual(['req-4', 'req-2']);
    expect(ids(await searchAccess(db(), { subject: bob, resource: 'GA-VEHICLE' }, reader))).toEqual(['req-3']);
    for (const [i, caseId] of odd.entries()) {
      expect(ids((await searchTrail(db(), { caseId }, 50, null, reader)).records)).toEqual([`req-${20 + i}`]);
      // The database's own filter already: one block for each value, not those of similar values.
      expect(await db().collection(ACCESS_COLLECTION).countDocuments(blocksWith({ caseId }, reader))).toBe(1);
    }
  });

  it.each(readers)('are counted by the %s reader in statistics', async (reader) => {
    expect(await auditStatistics(db(), DAY, '2026-12-02', ['resource', 'decision'], reader)).toEqual([
      { day: DAY, resource: 'GA-HUKOU', decision: 'allow', count: 9 },
      { day: DAY, resource: 'GA-HUKOU', decision: 'deny', count: 2 },
      { day: DAY, resource: 'GA-VEHICLE', decision: 'allow', count: 2 },
      { day: '2026-12-02', resource: 'GA-HUKOU', decision: 'allow', count: 1 },
    ]);
    expect(await auditStatistics(db(), '2026-12-02', '2026-12-02', [], reader)).toEqual([{ day: '2026-12-02', count: 1 }]);
  });
});

describe('a trail of both encodings', () => {
  it('verifies, every record of both logs under a signed checkpoint', async () => {
    const report = await verifyTrail(t.db, verifier);
    expect(report.logs.map((l) => [l.log, l.records, l.verifiedSize, l.problems.length])).toEqual([
      ['yiwang-hub/compact/2', 206, 206, 0],
      ['yiwang-hub/legacy/1', 6, 6, 0],
    ]);
  });

  it('is searched by subject, by system and decision, across both, newest first', async () => {
    const bySubject = await searchTrail(t.db, { subject: alice, from: new Date(`${DAY}T00:00:00Z`) }, 50);
    expect(bySubject.records.map((r) => r.requestId)).toEqual(['req-10', 'req-8', 'req-6', 'req-4', 'req-2', 'req-0']);
    const refusals = await searchTrail(t.db, { system: 'mz-dibao', decision: 'deny' }, 50);
    expect(refusals.records.map((r) => `${r.log}#${r.seq}`)).toEqual(['yiwang-hub/compact/2#3', 'yiwang-hub/compact/2#1', 'yiwang-hub/legacy/1#4', 'yiwang-hub/legacy/1#2']);
    expect(refusals.records[0]).toMatchObject({ requestId: 'req-9', code: 'FORBIDDEN', itemsReturned: [], itemsRefused: ['name'], consent: null });
    expect(refusals.records[0]!.at).toEqual(record(9).at);
  });

  it('counts both in statistics', async () => {
    expect(await auditStatistics(t.db, DAY, DAY, ['decision'])).toEqual([
      { day: DAY, decision: 'allow', count: 8 },
      { day: DAY, decision: 'deny', count: 4 },
    ]);
    expect(await auditStatistics(t.db, '2026-11-01', DAY, ['resource'])).toEqual([
      { day: '2026-11-01', resource: 'GA-HUKOU', count: 200 },
      { day: DAY, resource: 'GA-HUKOU', count: 11 },
      { day: DAY, resource: 'GA-VEHICLE', count: 1 },
    ]);
  });

  it('raises anomaly flags over records of both, with their records oldest first', async () => {
    const flags = await auditAnomalies(t.db, {
      from: DAY, to: DAY, kinds: ['REPEATED_REFUSALS'], timeZone: 'Asia/Shanghai', isWorkingDay: () => true,
      thresholds: { volumeFactor: 2, workingHours: '08:30-18:00', refusalsPerDay: 4, unrelatedPurposes: 3, purposeWindowDays: 30 },
      expectedDailyVolumes: () => Promise.resolve(new Map()), classified: new Map(), themeOf: (p) => p,
    });
    expect(flags.map((f) => [f.kind, f.system, f.operator, f.count])).toEqual([['REPEATED_REFUSALS', 'mz-dibao', null, 4], ['REPEATED_REFUSALS', 'mz-dibao', 'op-1', 4]]);
    expect(flags[0]!.recordIds).toEqual(['yiwang-hub/legacy/1#2', 'yiwang-hub/legacy/1#4', 'yiwang-hub/compact/2#1', 'yiwang-hub/compact/2#3']);
  });

  it('gives each record by id, and its inclusion proof over the canonical JSON stored', async () => {
    expect(await getTrailRecord(t.db, 'yiwang-hub/legacy/1#3')).toMatchObject({ requestId: 'req-3', log: 'yiwang-hub/legacy/1', seq: 3 });
    expect(await getTrailRecord(t.db, 'yiwang-hub/compact/2#2')).toMatchObject({ requestId: 'req-8', log: 'yiwang-hub/compact/2', seq: 2 });
    const block = (await t.db.collection<EvidenceBlock>(ACCESS_COLLECTION).findOne({ log: 'yiwang-hub/compact/2', seq: 0 }))!;
    const proof = await proveRecord(t.db, 'yiwang-hub/compact/2', 2);
    expect(proof?.record).toBe(linesOf(block)!.split('\n')[2]);
    expect(proof?.leaf).toBe(leafHash(Buffer.from(proof!.record, 'utf8')).toString('base64'));
  });

  it('exports as JSONL that verifies offline, and as CSV with a row per access record', async () => {
    const lines: string[] = [];
    for await (const line of exportTrail(t.db, 'jsonl')) lines.push(line);
    const report = await verifyExport((async function* () { yield* lines; })(), verifier);
    expect(report.ok).toBe(true);
    expect(report.logs.map((l) => [l.log, l.records, l.verifiedSize])).toEqual([['yiwang-hub/compact/2', 206, 206], ['yiwang-hub/legacy/1', 6, 6]]);
    let rows = 0;
    for await (const _line of exportTrail(t.db, 'csv')) rows++;
    expect(rows).toBe(1 + 212);
  });
});

describe('a compact block altered in the database', () => {
  it('is reported where a line is no longer a record, and the rest of the trail is still read', async () => {
    const log = compact.log.origin;
    const blocks = t.db.collection<EvidenceBlock>(ACCESS_COLLECTION);
    const block = (await blocks.findOne({ log, seq: 0 }))!;
    const lines = linesOf(block)!.split('\n');
    lines[4] = '{"decision":"allow", truncated';
    await blocks.updateOne({ _id: block._id }, { $set: { deflated: new Binary(deflateRawSync(lines.join('\n'))) } });
    try {
      const report = await verifyTrail(t.db, verifier, log);
      expect(report.logs[0]!.problems.map((p) => [p.kind, p.at, p.detail])).toEqual([['modified', 4, 'block 0 holds a record at position 4 that is not a JSON object']]);
      const found = await searchTrail(t.db, { subject: alice, from: new Date(`${DAY}T00:00:00Z`) }, 50);
      expect(found.records.map((r) => r.requestId)).toEqual(['req-8', 'req-6', 'req-4', 'req-2', 'req-0']);
      const exported: string[] = [];
      for await (const line of exportTrail(t.db, 'jsonl', log)) exported.push(line);
      const offline = await verifyExport((async function* () { yield* exported; })(), verifier);
      expect(offline.logs[0]!.problems.map((p) => [p.kind, p.at])).toEqual([['modified', 4], ['modified', 6], ['modified', 206]]);
      // The records left intact can still be proved against the signed checkpoint.
      const proof = (await proveRecord(t.db, log, 2))!;
      const opened = openNote(proof.checkpoint, verifier);
      const signed = parseCheckpointText(opened.ok ? opened.text : '');
      expect(proof.record).toBe(lines[2]);
      expect(verifyInclusion(leafHash(Buffer.from(proof.record, 'utf8')), 2, proof.size, proof.proof.map((h) => Buffer.from(h, 'base64')), signed.root)).toBe(true);
    } finally {
      await blocks.updateOne({ _id: block._id }, { $set: { deflated: block.deflated } });
    }
  });

  it('is reported where its deflated lines do not inflate, would inflate past any block the hub writes, or are not bytes, and the rest is still read', async () => {
    const log = compact.log.origin;
    const blocks = t.db.collection<EvidenceBlock>(ACCESS_COLLECTION);
    const block = (await blocks.findOne({ log, seq: 0 }))!;
    const stored = Buffer.from((block.deflated as Binary).buffer);
    // Bytes flipped in the middle of the stream; then a stream of 80 MiB of zeros (80 KiB stored).
    const flipped = Buffer.from(stored);
    for (let i = 8; i < 16; i++) flipped[i] = flipped[i]! ^ 0xff;
    // And values of another type where the bytes belong.
    for (const forged of [new Binary(flipped), new Binary(deflateRawSync(Buffer.alloc(80 * 1024 * 1024))), 'text', 42, { buffer: 'x' }]) {
      await blocks.updateOne({ _id: block._id }, { $set: { deflated: forged as never } });
      try {
        const report = await verifyTrail(t.db, verifier, log);
        const problems = report.logs[0]!.problems.map((p) => [p.kind, p.at]);
        // The block stands as one unreadable record, the five others it held are missing, so the signed
        // checkpoints (6 and 206 records) no longer hold over what is there.
        expect(problems).toEqual([['modified', 0], ['deleted', 1], ['truncated', 1], ['truncated', 1]]);
        expect(report.logs[0]!.problems[1]!.detail).toBe('records 1–5 are missing');
        // Search skips what it cannot read: alice's records in the other log are still found.
        const found = await searchTrail(t.db, { subject: alice, from: new Date(`${DAY}T00:00:00Z`) }, 50);
        expect(found.records.map((r) => r.requestId)).toEqual(['req-4', 'req-2', 'req-0']);
      } finally {
        await blocks.updateOne({ _id: block._id }, { $set: { deflated: block.deflated } });
      }
    }
    expect((await verifyTrail(t.db, verifier, log)).logs[0]!.problems).toEqual([]);
  });
});
