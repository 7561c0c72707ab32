/**
 * Proofs from stored subtree hashes (audit/tree.ts): the same proofs as from every leaf in memory,
 * for records anywhere in a log of thousands, read from a handful of blocks once the tree is
 * stored, and checked by Go's sumdb/tlog.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCESS_COLLECTION, AuditWriter, CHECKPOINTS_COLLECTION, EvidenceLog, fillStoredTree, Frontier, LOGS_COLLECTION, TILE, TREE_COLLECTION, consistencyProof, inclusionProof, leafHash, noteSigner,
  getTrailRecord, openNote, parseCheckpointText, parseVerifierKey, proveConsistency, proveRecord, linesOf, recordsOf, storedTree, subjectHash, verifyConsistency, verifyInclusion,
  type AccessRecord, type CheckpointDoc, type EvidenceBlock, type Hash, type LogDoc,
} from '../../audit/index.ts';
import { forgetArchivedNodes } from '../../audit/tree.ts';
import { allLeaves as leavesOfLog } from '../support/evidence.ts';
import { goVerify } from '../support/go-verifier.ts';
import { readCounter, testDatabase, type TestDatabase } from '../support/mongo.ts';

const signer = noteSigner('yiwang-hub', randomBytes(32).toString('hex'));
const verifier = parseVerifierKey(signer.verifierKey);
const key = Buffer.alloc(32, 9);
const DAY = '2026-12-02';

function record(i: number): AccessRecord {
  return {
    at: new Date(Date.parse(`${DAY}T02:00:00Z`) + i), day: DAY, requestId: `req-${i}`, action: 'read', system: 'mz-dibao', department: 'MZ',
    principalKind: 'system', operator: 'op-1', purpose: '440000-DIBAO-001', caseId: `case-${i}`, resource: 'GA-HUKOU', provider: 'GA',
    subjectType: 'person', subject: subjectHash(key, `person-${i % 97}`), itemsReturned: ['name'], itemsMasked: [], itemsRefused: [], itemsVerified: [],
    grants: [{ id: 'g-1', version: 1 }], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null,
  };
}

let t: TestDatabase;
let log: EvidenceLog;
let writer: AuditWriter;
/** Blocks of uneven sizes (1 … 37 records), so that no block boundary needs to fall on a group of TILE. */
async function write(from: number, to: number): Promise<void> {
  for (let i = from; i < to;) {
    const n = Math.min(to - i, 1 + ((i * 7) % 37));
    await writer.appendMany(Array.from({ length: n }, (_, j) => record(i + j)));
    i += n;
  }
  await log.checkpoint();
}

async function latest(): Promise<{ size: number; root: Hash; note: string }> {
  const doc = (await t.db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log: log.origin }).sort({ size: -1 }).limit(1).next())!;
  const opened = openNote(doc.note, verifier);
  const body = parseCheckpointText(opened.ok ? opened.text : '');
  return { size: body.size, root: body.root, note: doc.note };
}

/** Every leaf of the log, from its records, in memory: what proofs were computed from before. */
async function allLeaves(db: Db): Promise<Hash[]> {
  return leavesOfLog(db, log.origin);
}

beforeAll(async () => {
  t = await testDatabase('prooftree');
  log = new EvidenceLog(t.db, { origin: 'yiwang-hub/tree/1', signer, checkpointRecords: 1_000_000 });
  await log.register();
  writer = new AuditWriter(t.db, { log, writeConcern: { w: 1 } });
  await write(0, 1300);
});

afterAll(async () => {
  await writer?.close();
  await t?.drop();
});

describe('proofs from stored subtree hashes', () => {
  const sample = (size: number) => [...new Set([0, 1, TILE - 1, TILE, TILE + 1, 2 * TILE - 1, 2 * TILE, 4 * TILE - 1, 4 * TILE, size - 2, size - 1, 333, 777, 1001])].filter((i) => i < size);

  it('are the proofs computed from every leaf, and verify against the signed checkpoint, as the log grows', async () => {
    let previous: { size: number; root: Hash } | undefined;
    for (const grow of [0, 950, 1]) {
      if (grow > 0) await write(log.nextSeq, log.nextSeq + grow);
      const checkpoint = await latest();
      const leaves = await allLeaves(t.db);
      // The newest record first: its proof is in the newest checkpoint, and brings the stored tree there.
      for (const seq of [checkpoint.size - 1, ...sample(checkpoint.size)]) {
        const proof = (await proveRecord(t.db, log.origin, seq))!;
        expect(proof.size, `record ${seq}`).toBe(checkpoint.size);
        expect(proof.proof, `record ${seq} of ${checkpoint.size}`).toEqual(inclusionProof(leaves, seq, checkpoint.size).map((h) => h.toString('base64')));
        expect(verifyInclusion(leafHash(Buffer.from(proof.record, 'utf8')), seq, proof.size, proof.proof.map((h) => Buffer.from(h, 'base64')), checkpoint.root), `record ${seq}`).toBe(true);
      }
      if (previous) {
        const consistency = await proveConsistency(t.db, log.origin, previous.size, checkpoint.size);
        expect(consistency).toEqual(consistencyProof(leaves, previous.size, checkpoint.size).map((h) => h.toString('base64')));
        expect(verifyConsistency(previous.size, checkpoint.size, previous.root, checkpoint.root, consistency.map((h) => Buffer.from(h, 'base64')))).toBe(true);
      }
      previous = checkpoint;
    }
    // Stored: every complete subtree of TILE records or more, up to the last full group of TILE.
    const stored = await t.db.collection<{ size: number; lo: number }>(TREE_COLLECTION).find({ lo: { $gte: 0 } }).toArray();
    const upTo = Math.floor(log.nextSeq / TILE) * TILE;
    let expected = 0;
    for (let size = TILE; size <= upTo; size *= 2) expected += Math.floor(upTo / size);
    expect(stored).toHaveLength(expected);
  });

  it('reads no block but the record\'s own once the tree is stored', async () => {
    await proveRecord(t.db, log.origin, 5); // fills what the log added since
    const counter = await readCounter(t.uri, t.db.databaseName);
    try {
      const checkpoint = await latest();
      for (const seq of [5, TILE + 9, log.nextSeq - 1]) {
        counter.reset();
        const proof = (await proveRecord(counter.db, log.origin, seq))!;
        expect(verifyInclusion(leafHash(Buffer.from(proof.record, 'utf8')), seq, checkpoint.size, proof.proof.map((h) => Buffer.from(h, 'base64')), checkpoint.root), `record ${seq}`).toBe(true);
        expect(counter.read(ACCESS_COLLECTION), `blocks read for record ${seq}`).toBe(1);
        // The mark, the nodes on the path, the record's group: O(log n) small documents.
        expect(counter.read(TREE_COLLECTION), `tree documents read for record ${seq}`).toBeLessThanOrEqual(2 + 2 * Math.ceil(Math.log2(checkpoint.size)));
      }
    } finally {
      await counter.close();
    }
  });

  it('proves an older record in the newest checkpoint the stored tree reaches, without reading what the log added since', async () => {
    const reached = await latest();
    await write(log.nextSeq, log.nextSeq + 300); // a newer checkpoint, past the stored tree
    const newest = await latest();
    const counter = await readCounter(t.uri, t.db.databaseName);
    try {
      const db = counter.db;
      const old = (await proveRecord(db, log.origin, 42))!;
      expect([old.size, counter.read(ACCESS_COLLECTION)]).toEqual([reached.size, 1]);
      expect(verifyInclusion(leafHash(Buffer.from(old.record, 'utf8')), 42, old.size, old.proof.map((h) => Buffer.from(h, 'base64')), reached.root)).toBe(true);
      const fresh = (await proveRecord(db, log.origin, newest.size - 1))!; // past the tree: filled up to the newest checkpoint
      expect(fresh.size).toBe(newest.size);
      expect((await proveRecord(db, log.origin, 42))!.size).toBe(newest.size);
    } finally {
      await counter.close();
    }
  });

  it('gives a proof that fails where a stored subtree hash was altered, and rebuilds what was dropped', async () => {
    const checkpoint = await latest();
    const check = async (seq: number) => {
      const proof = (await proveRecord(t.db, log.origin, seq))!;
      return verifyInclusion(leafHash(Buffer.from(proof.record, 'utf8')), seq, proof.size, proof.proof.map((h) => Buffer.from(h, 'base64')), checkpoint.root);
    };
    const tree = t.db.collection<{ _id: string; hash: unknown }>(TREE_COLLECTION);
    // The subtree of records 0…TILE-1 is on the path of every record from TILE to 2·TILE-1.
    const node = (await tree.findOne({ _id: `${TILE}:0:${log.origin}` }))!;
    await tree.updateOne({ _id: node._id }, { $set: { hash: Buffer.alloc(32, 1) } });
    expect(await check(TILE + 3)).toBe(false);
    expect(await check(3)).toBe(true); // not on its path: its own leaves are read
    await tree.deleteMany({});
    expect(await check(TILE + 3)).toBe(true);
    expect(await tree.countDocuments({ _id: `${TILE}:0:${log.origin}` })).toBe(1);
  });

  it('finds a record by id through the stored tree, and does not follow a reference altered to another log\'s block', async () => {
    expect(await getTrailRecord(t.db, `${log.origin}#${TILE + 7}`)).toMatchObject({ requestId: `req-${TILE + 7}`, seq: TILE + 7 });
    expect(await getTrailRecord(t.db, `${log.origin}#${log.nextSeq - 1}`)).toMatchObject({ requestId: `req-${log.nextSeq - 1}` });
    const other = new EvidenceLog(t.db, { origin: 'yiwang-hub/tree/other', signer });
    await other.register();
    const w = new AuditWriter(t.db, { log: other, writeConcern: { w: 1 } });
    try {
      await w.appendMany([record(900_000), record(900_001), record(900_002), record(900_003), record(900_004)]);
      const foreign = (await t.db.collection<EvidenceBlock & { _id: unknown }>(ACCESS_COLLECTION).findOne({ log: other.origin }))!;
      const tree = t.db.collection<{ _id: string; blocks: Array<{ id: unknown; seq: number; count: number }> }>(TREE_COLLECTION);
      await tree.updateOne({ _id: `${TILE}:0:${log.origin}` }, { $set: { blocks: [{ id: foreign._id, seq: 0, count: TILE }] } });
      expect(await getTrailRecord(t.db, `${log.origin}#3`)).toMatchObject({ requestId: 'req-3', log: log.origin, seq: 3 });
      const rebuilt = (await tree.findOne({ _id: `${TILE}:0:${log.origin}` }))!;
      expect(rebuilt.blocks.every((b) => String(b.id) !== String(foreign._id))).toBe(true);
    } finally {
      await w.close();
    }
  });

  it('proves the records after an archived prefix, whether the stored tree reached past the cut or not', async () => {
    const other = new EvidenceLog(t.db, { origin: 'yiwang-hub/tree/archived', signer, checkpointRecords: 1_000_000 });
    await other.register();
    const w = new AuditWriter(t.db, { log: other, writeConcern: { w: 1 } });
    const blocks = () => t.db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log: other.origin }, { projection: { seq: 1 } }).sort({ seq: 1 }).toArray();
    /** What retention leaves: the prefix's frontier in the log's document, its blocks and stored nodes gone. */
    const archive = async (target: number, leaves: Hash[]) => {
      const cut = (await blocks()).map((b) => b.seq!).find((seq) => seq >= target)!;
      const frontier = new Frontier();
      for (const leaf of leaves.slice(0, cut)) frontier.append(leaf);
      const nodes = frontier.nodes().map((n) => ({ hash: n.hash.toString('base64'), size: n.size }));
      await t.db.collection<LogDoc>(LOGS_COLLECTION).updateOne({ origin: other.origin }, { $set: { archived: { size: cut, nodes, at: new Date(), file: 'test.jsonl', sha256: '0' } } });
      await t.db.collection(ACCESS_COLLECTION).deleteMany({ log: other.origin, seq: { $lt: cut } });
      await forgetArchivedNodes(t.db, other.origin, cut);
      return { cut, known: frontier.known() };
    };
    const check = async (leaves: Hash[], known: Map<string, Hash>, seqs: number[]) => {
      const doc = (await t.db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log: other.origin }).sort({ size: -1 }).limit(1).next())!;
      for (const seq of seqs) {
        const proof = (await proveRecord(t.db, other.origin, seq))!;
        expect(proof.proof, `record ${seq}`).toEqual(inclusionProof(leaves, seq, doc.size, known).map((h) => h.toString('base64')));
      }
    };
    try {
      for (let i = 0; i < 600; i += 25) await w.appendMany(Array.from({ length: 25 }, (_, j) => record(i + j)));
      await other.checkpoint();
      await proveRecord(t.db, other.origin, 3); // the stored tree reaches 512
      for (let i = 600; i < 1500; i += 30) await w.appendMany(Array.from({ length: 30 }, (_, j) => record(i + j)));
      await other.checkpoint();
      const leaves = await leavesOfLog(t.db, other.origin);
      await proveRecord(t.db, other.origin, 3); // … and now 1280
      const first = await archive(700, leaves); // below the stored tree's mark
      expect(await proveRecord(t.db, other.origin, 699)).toBeNull();
      await check(leaves, first.known, [first.cut, first.cut + 1, 767, 768, 1279, 1280, 1499]);
      const second = await archive(1300, leaves); // past it (1280): the tree is filled again from the prefix
      expect(second.cut).toBeGreaterThan(1280);
      await check(leaves, second.known, [second.cut, second.cut + 1, 1499]);
      // A damaged prefix summary leaves a record without a proof (verification reports it), not unseen.
      await t.db.collection<LogDoc>(LOGS_COLLECTION).updateOne({ origin: other.origin }, { $set: { 'archived.nodes': [{ hash: Buffer.alloc(32).toString('base64'), size: 3 }] } });
      expect(await proveRecord(t.db, other.origin, second.cut)).toBeNull();
      expect(await getTrailRecord(t.db, `${other.origin}#${second.cut}`)).toMatchObject({ requestId: `req-${second.cut}`, seq: second.cut });
    } finally {
      await w.close();
    }
  });

  it('is brought up to a log\'s records by a fill without a proof (a hub\'s timer), after which a proof reads the record\'s block alone', async () => {
    const own = new EvidenceLog(t.db, { origin: 'yiwang-hub/tree/filled', signer, checkpointRecords: 1_000_000 });
    await own.register();
    const w = new AuditWriter(t.db, { log: own, writeConcern: { w: 1 } });
    try {
      for (let i = 0; i < 700; i += 35) await w.appendMany(Array.from({ length: 35 }, (_, j) => record(i + j)));
      await own.checkpoint();
      expect((await storedTree(t.db, own.origin)).end).toBe(0);
      expect(await fillStoredTree(t.db, own.origin)).toBe(700);
      expect((await storedTree(t.db, own.origin)).end).toBe(700);
      // The next fill goes on from there.
      await w.appendMany([record(700)]);
      expect(await fillStoredTree(t.db, own.origin)).toBe(701);
      await own.checkpoint();
      const counter = await readCounter(t.uri, t.db.databaseName);
      try {
        expect((await proveRecord(counter.db, own.origin, 700))!.size).toBe(701);
        expect(counter.read(ACCESS_COLLECTION)).toBe(1);
      } finally {
        await counter.close();
      }
    } finally {
      await w.close();
    }
  });

  it('has proofs that Go\'s sumdb/tlog accepts for a record past the stored groups', async () => {
    const checkpoints = await t.db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log: log.origin }).sort({ size: 1 }).toArray();
    const older = checkpoints[0]!;
    const newer = checkpoints.at(-1)!;
    const seq = 3 * TILE + 17;
    const inclusion = (await proveRecord(t.db, log.origin, seq))!;
    expect(inclusion.size).toBe(newer.size);
    const blocks = await t.db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log: log.origin }).sort({ seq: 1 }).toArray();
    const line = blocks.flatMap((b) => linesOf(b)?.split('\n') ?? recordsOf(b).map((r) => JSON.stringify(r)))[seq]!;
    expect(inclusion.record).toBe(line);
    const request = {
      key: signer.verifierKey, checkpoint: inclusion.checkpoint, record: inclusion.record, index: seq, proof: inclusion.proof,
      older: older.note, consistency: await proveConsistency(t.db, log.origin, older.size, newer.size),
    };
    expect(await goVerify(request)).toBe('ok');
  }, 240_000);
});
