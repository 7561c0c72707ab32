/**
 * Administrative changes under signed checkpoints: the administrative log (audit/admin.ts) is one
 * numbered, gap-free log shared by every writer, its records' leaves are what the database gives
 * back, and verification finds each kind of tampering a database administrator could do to it. An
 * auditor reads an administrative record with its inclusion proof, which Go's own tlog accepts;
 * hubs and `hub` commands sign its checkpoints.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { Binary, BSON, MongoClient, ObjectId, type Db } from 'mongodb';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ADMIN_COLLECTION, ADMIN_LOG, ADMIN_LOG_START, adminLeaf, appendAdmin, checkpointAdmin, startAdminLog, CHECKPOINTS_COLLECTION, exportTrail, noteSigner, parseVerifierKey,
  Frontier, inclusionProof, proveAdminRecord, verifyExport, verifyInclusion, verifyLog, verifyTrail, type Problem,
} from '../../audit/index.ts';
import { storedNodes } from '../../audit/log.ts';
import { runHub } from '../support/cli.ts';
import { goVerify } from '../support/go-verifier.ts';
import { DEMO_CATALOGUE, startTestHub } from '../support/hub.ts';
import { readCounter, testDatabase, type TestDatabase } from '../support/mongo.ts';

const signer = noteSigner('test-hub', 'ef'.repeat(32));
const verifier = parseVerifierKey(signer.verifierKey);
const change = (n: number, extra: object = {}) => ({ actor: 'officer-rs', role: 'officer', department: 'RS', action: 'grant.limit', target: `grant-${n}`, reason: `case ${n}`, ...extra });
const kinds = (problems: readonly Problem[]) => problems.map((p) => `${p.kind}@${p.at}`);

describe('the administrative log', () => {
  let t: TestDatabase;
  let db: Db;
  const records = () => db.collection(ADMIN_COLLECTION);
  const report = () => verifyLog(db, ADMIN_LOG, verifier);

  beforeEach(async () => {
    t = await testDatabase('admin_log');
    db = t.db;
  });
  afterEach(async () => {
    await t?.drop();
  });

  it('numbers the records of two processes writing at once, without a gap or a repeat, and verifies under a checkpoint', async () => {
    // A second client: its own connection and its own idea of the log's end, as another process has.
    const other = new MongoClient(t.uri);
    await other.connect();
    try {
      const mine = Array.from({ length: 15 }, (_, i) => appendAdmin(db, change(i)));
      const theirs = Array.from({ length: 15 }, (_, i) => appendAdmin(other.db(t.name), change(100 + i)));
      const numbers = await Promise.all([...mine, ...theirs]);
      expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    } finally {
      await other.close();
    }
    const stored = await records().find({}, { projection: { seq: 1, target: 1 } }).sort({ seq: 1 }).toArray();
    expect(stored.map((r) => r['seq'])).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(new Set(stored.map((r) => r['target'])).size).toBe(30);

    expect(await report()).toMatchObject({ records: 30, checkpoints: 0, verifiedSize: 0, uncheckpointed: 30, problems: [] });
    const checkpoint = await checkpointAdmin(db, signer);
    expect(checkpoint).toMatchObject({ log: ADMIN_LOG, size: 30 });
    expect(await report()).toEqual({ log: ADMIN_LOG, archived: 0, records: 30, checkpoints: 1, verifiedSize: 30, uncheckpointed: 0, problems: [] });
    // A second hub signing the same size stores no second checkpoint.
    await checkpointAdmin(db, signer);
    expect(await db.collection(CHECKPOINTS_COLLECTION).countDocuments({ log: ADMIN_LOG })).toBe(1);
  });

  it('hashes a record as the database gives it back (undefined, a Map, nested dates, an ObjectId)', async () => {
    await appendAdmin(db, change(1, { before: { limit: undefined, items: new Map([['姓名', 'masked']]) }, after: { validTo: new Date('2027-01-01T00:00:00Z'), by: new ObjectId() }, reason: undefined }));
    await appendAdmin(db, change(2, { detail: { count: 2 ** 40, ratio: 0.1, nested: [{ z: 1, a: [null, 'x'] }] } }));
    await checkpointAdmin(db, signer);
    expect(await report()).toMatchObject({ records: 2, verifiedSize: 2, problems: [] });
  });

  describe('tampering in the database', () => {
    beforeEach(async () => {
      for (let i = 0; i < 6; i++) await appendAdmin(db, change(i));
      await checkpointAdmin(db, signer);
      expect((await report()).problems).toEqual([]);
    });

    it('a changed record is found at its number', async () => {
      await records().updateOne({ seq: 2 }, { $set: { actor: 'someone-else' } });
      expect(kinds((await report()).problems)).toEqual(['modified@2']);
    });

    it('a changed record whose hash was written again is found by the checkpoint', async () => {
      await records().deleteOne({ seq: 3 });
      // Rewritten through the log's own code path in another database, so its leaf and frontier fit it.
      const forged = await testDatabase('admin_forge');
      try {
        for (let i = 0; i < 3; i++) await appendAdmin(forged.db, change(i));
        await appendAdmin(forged.db, change(3, { actor: 'someone-else' }));
        const rewritten = (await forged.db.collection(ADMIN_COLLECTION).findOne({ seq: 3 }, { projection: { _id: 0 } }))!;
        await records().insertOne(rewritten);
      } finally {
        await forged.drop();
      }
      // Its own hash fits it: only the signed root does not.
      expect((await report()).problems).toEqual([{ kind: 'modified', log: ADMIN_LOG, at: 6, detail: 'the records do not hash to the root of the signed checkpoint of size 6' }]);
    });

    it('a deleted record is found at its number', async () => {
      await records().deleteOne({ seq: 4 });
      // The signed checkpoint then reaches past the records that are there without a gap.
      expect(kinds((await report()).problems)).toEqual(['deleted@4', 'truncated@4']);
    });

    it('a cut-off tail is found against the checkpoint', async () => {
      await records().deleteMany({ seq: { $gte: 4 } });
      expect((await report()).problems).toEqual([{ kind: 'truncated', log: ADMIN_LOG, at: 4, detail: 'the signed checkpoint covers 6 records; only 4 are there' }]);
    });

    it('a record added beside the log is reported', async () => {
      await records().insertOne({ at: new Date(), ...change(99) });
      expect((await report()).problems).toEqual([{
        kind: 'inserted', log: ADMIN_LOG, at: 6,
        detail: '1 more administrative record(s) lie outside the log (no sequence number) than the 0 written before it began: added beside the hub',
      }]);
      // A hub's start does not take it in: the log has begun.
      expect(await startAdminLog(db)).toBe(0);
      expect(kinds((await report()).problems)).toEqual(['inserted@6']);
    });

    it('a checkpoint signed with another key is reported as forged', async () => {
      await appendAdmin(db, change(6));
      await checkpointAdmin(db, noteSigner('test-hub', '01'.repeat(32)));
      expect(kinds((await report()).problems)).toEqual(['forged-checkpoint@7']);
    });

    it('a damaged frontier does not stop the next change: the log is rebuilt from its leaves and verifies', async () => {
      await records().updateOne({ seq: 5 }, { $set: { frontier: [{ hash: 'AAAA', size: 3 }] } });
      // A fresh client: nothing remembered of the log's end.
      const other = new MongoClient(t.uri);
      await other.connect();
      try {
        expect(await appendAdmin(other.db(t.name), change(6))).toBe(6);
      } finally {
        await other.close();
      }
      await checkpointAdmin(db, signer);
      expect(await report()).toMatchObject({ records: 7, verifiedSize: 7, problems: [] });
    });
  });

  describe('records an older hub wrote before the log', () => {
    const base = Date.parse('2026-01-05T08:00:00Z');
    beforeEach(async () => {
      await records().insertMany([2, 0, 1].map((i) => ({ at: new Date(base + i * 60_000), ...change(i) })));
    });

    it('are fixed, as they are, by the count and digest in the log\'s first record, once; the log then verifies', async () => {
      expect(await startAdminLog(db)).toBe(3);
      expect(await startAdminLog(db)).toBe(0);
      const first = await records().findOne({ seq: 0 });
      expect(first).toMatchObject({ action: ADMIN_LOG_START, target: ADMIN_LOG, detail: { earlier: 3, digest: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) } });
      expect(await records().countDocuments({ seq: { $exists: false } })).toBe(3);
      expect(await appendAdmin(db, change(3))).toBe(1);
      await checkpointAdmin(db, signer);
      expect(await report()).toMatchObject({ records: 2, verifiedSize: 2, problems: [] });
    });

    it('a `hub` command\'s first change begins the log the same way, without a hub', async () => {
      expect(await appendAdmin(db, change(3))).toBe(1);
      expect(await records().findOne({ seq: 0 })).toMatchObject({ action: ADMIN_LOG_START, detail: { earlier: 3 } });
      await checkpointAdmin(db, signer);
      expect((await report()).problems).toEqual([]);
    });

    it('are exported before the log\'s own records; the export verifies offline, and a change, a deletion or an addition among them in it does not', async () => {
      await startAdminLog(db);
      await appendAdmin(db, change(3));
      await checkpointAdmin(db, signer);
      const lines: string[] = [];
      for await (const line of exportTrail(db, 'jsonl')) lines.push(line);
      const parsed = lines.map((l) => JSON.parse(l) as { type: string; record?: { target?: string } });
      expect(parsed.map((l) => l.type)).toEqual(['log', 'checkpoint', 'earlier', 'earlier', 'earlier', 'record', 'record']);
      expect(parsed.slice(2, 5).map((l) => l.record!.target)).toEqual(['grant-0', 'grant-1', 'grant-2']);
      const read = async (text: string[]) => (await verifyExport(createInterface({ input: Readable.from(text.join('')) }), verifier)).logs[0]!;
      expect(await read(lines)).toEqual({ log: ADMIN_LOG, archived: 0, records: 2, checkpoints: 1, verifiedSize: 2, uncheckpointed: 0, problems: [] });
      expect(kinds((await read(lines.map((l, i) => (i === 3 ? l.replace('"case 1"', '"case 7"') : l)))).problems)).toEqual(['modified@0']);
      expect(kinds((await read(lines.filter((_, i) => i !== 3))).problems)).toEqual(['deleted@0']);
      expect(kinds((await read([...lines.slice(0, 5), lines[4]!, ...lines.slice(5)])).problems)).toEqual(['inserted@2']);
    });

    it('a change, a deletion or an addition among them is found', async () => {
      await startAdminLog(db);
      await checkpointAdmin(db, signer);
      await records().updateOne({ target: 'grant-1' }, { $set: { actor: 'someone-else' } });
      expect(kinds((await report()).problems)).toEqual(['modified@0']);
      await records().updateOne({ target: 'grant-1' }, { $set: { actor: 'officer-rs' } });
      expect((await report()).problems).toEqual([]);
      await records().deleteOne({ target: 'grant-2' });
      expect(kinds((await report()).problems)).toEqual(['deleted@0']);
      await records().insertMany([{ at: new Date(base + 120_000), ...change(2) }, { at: new Date(), ...change(9) }]);
      expect(kinds((await report()).problems)).toEqual(['inserted@1']);
    });
  });

  it('proves a record in a signed checkpoint to Go\'s own tlog, and to no other record', async () => {
    for (let i = 0; i < 5; i++) await appendAdmin(db, change(i));
    expect(await proveAdminRecord(db, 2)).toBeNull();
    await checkpointAdmin(db, signer);
    const proof = (await proveAdminRecord(db, 2))!;
    expect(proof.size).toBe(5);
    expect(JSON.parse(proof.record)).toMatchObject({ seq: 2, target: 'grant-2' });
    const request = { key: signer.verifierKey, checkpoint: proof.checkpoint, record: proof.record, index: 2, proof: proof.proof };
    expect(await goVerify(request)).toBe('ok');
    const other = (await proveAdminRecord(db, 3))!;
    expect(await goVerify({ ...request, record: other.record })).toMatch(/^inclusion of record 2 .*invalid transparency proof/);
  });

  describe('proofs in a long log', () => {
    const size = 1500;
    let leaves: Buffer[];
    let root: Buffer;

    beforeEach(async () => {
      // The records as appendAdmin stores them (its leaf and the frontier after it), written in bulk.
      const tree = new Frontier();
      leaves = [];
      const docs = [];
      for (let seq = 0; seq < size; seq++) {
        const stored = BSON.deserialize(BSON.serialize({ at: new Date(Date.UTC(2026, 0, 5) + seq), ...change(seq), seq }));
        const leaf = adminLeaf(stored);
        tree.append(leaf);
        leaves.push(leaf);
        docs.push({ ...stored, leaf: new Binary(leaf), frontier: storedNodes(tree) });
      }
      await records().insertMany(docs);
      const checkpoint = (await checkpointAdmin(db, signer))!;
      expect(checkpoint.size).toBe(size);
      root = Buffer.from(checkpoint.root, 'base64');
    });

    // Both sides of every power of two: right children, left children and the tree's right edge.
    const sample = [0, 3, 255, 256, 511, 1023, 1024, 1279, 1280, 1498, 1499];

    it('reads O(log n) records for a proof, the one the leaves give, which verifies against the signed root', async () => {
      const counter = await readCounter(t.uri, t.name);
      try {
        for (const seq of sample) {
          counter.reset();
          const proof = (await proveAdminRecord(counter.db, seq))!;
          expect(proof.proof).toEqual(inclusionProof(leaves, seq, size).map((h) => h.toString('base64')));
          expect(verifyInclusion(leaves[seq]!, seq, size, proof.proof.map((h) => Buffer.from(h, 'base64')), root)).toBe(true);
          // The checkpoint, the record, and at most two records a step of its path (11 steps here).
          expect(counter.read(ADMIN_COLLECTION) + counter.read(CHECKPOINTS_COLLECTION)).toBeLessThanOrEqual(2 + 2 * Math.ceil(Math.log2(size)));
        }
      } finally {
        await counter.close();
      }
    });

    it('a stored frontier changed by hand: the proof comes from the leaves, still the right one', async () => {
      // Record 1499's frontier is what the proofs of records 0–1023 read for the tree's right edge:
      // a hash in it changed (the shape kept), and one that is no frontier at all.
      const edge = [{ hash: Buffer.alloc(32).toString('base64'), size: 1024 }, ...(await records().findOne({ seq: 1499 }))!['frontier'].slice(1)];
      for (const frontier of [edge, [{ hash: 'x', size: 476 }]]) {
        await records().updateOne({ seq: 1499 }, { $set: { frontier } });
        for (const seq of [0, 700]) {
          const proof = (await proveAdminRecord(db, seq))!;
          expect(proof.proof).toEqual(inclusionProof(leaves, seq, size).map((h) => h.toString('base64')));
        }
      }
      // A frontier of the wrong size is not taken either (record 1023's: the left half, for 1024–1499).
      await records().updateOne({ seq: 1023 }, { $set: { frontier: [{ hash: Buffer.alloc(32).toString('base64'), size: 512 }] } });
      expect((await proveAdminRecord(db, 1200))!.proof).toEqual(inclusionProof(leaves, 1200, size).map((h) => h.toString('base64')));
    });
  });

  it('exports the log with the trail; the export verifies offline, and a changed record in it does not', async () => {
    for (let i = 0; i < 4; i++) await appendAdmin(db, change(i, { after: { at: new Date(Date.UTC(2026, 0, i + 1)) } }));
    await checkpointAdmin(db, signer);
    const lines: string[] = [];
    for await (const line of exportTrail(db, 'jsonl')) lines.push(line);
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['log', 'checkpoint', 'record', 'record', 'record', 'record']);
    const read = (text: string[]) => verifyExport(createInterface({ input: Readable.from(text.join('')) }), verifier);
    expect(await read(lines)).toEqual({ ok: true, logs: [{ log: ADMIN_LOG, archived: 0, records: 4, checkpoints: 1, verifiedSize: 4, uncheckpointed: 0, problems: [] }] });
    const changed = lines.map((l, i) => (i === 3 ? l.replace('"grant-1"', '"grant-9"') : l));
    expect(changed[3]).toContain('"grant-9"');
    expect(kinds((await read(changed)).logs[0]!.problems)).toEqual(['modified@4']);
  });
});

describe('through the hub', () => {
  it('an auditor reads an administrative change with its proof; the hub signs the log on its timer and at shutdown', async () => {
    const t = await startTestHub({ config: { audit: { checkpointSeconds: 0.2 } } });
    try {
      // The auditor's search is itself an administrative record.
      const search = await t.query(t.people['auditor']!, '{ auditRecords(filter: { kind: admin }, first: 50) { nodes { id kind log seq action target } } }');
      expect(search.body.errors).toBeUndefined();
      const nodes = (search.body.data!['auditRecords'] as { nodes: Array<{ id: string; kind: string; log: string; seq: number; action: string; target: string }> }).nodes;
      const sync = nodes.find((n) => n.action === 'catalogue.sync')!;
      expect(sync).toMatchObject({ id: `admin#${sync.seq}`, kind: 'admin', log: ADMIN_LOG });

      // The hub's timer signs the log (every 0.2 s here) within a few seconds.
      const db = t.hubDb.db;
      const hubVerifier = parseVerifierKey(t.hub.runtime.signer.verifierKey);
      const deadline = Date.now() + 10_000;
      let verified = 0;
      while (verified <= sync.seq && Date.now() < deadline) {
        verified = (await verifyLog(db, ADMIN_LOG, hubVerifier)).verifiedSize;
        if (verified <= sync.seq) await new Promise((r) => setTimeout(r, 100));
      }
      expect(verified).toBeGreaterThan(sync.seq);
      // Served without a token, as the access logs' checkpoints are.
      const served = await fetch(new URL('/audit/checkpoint?log=admin', t.url));
      expect(served.status).toBe(200);
      const body = await served.text();
      expect(body.split('\n').slice(0, 2)).toEqual([ADMIN_LOG, expect.stringMatching(/^[1-9][0-9]*$/)]);
      expect(Number(body.split('\n')[1])).toBeGreaterThan(sync.seq);

      const read = await t.query(t.people['auditor']!, `query ($id: ID!) { auditRecord(id: $id) { record { id kind action target } proof { checkpoint treeSize index canonicalRecord path } } }`, { id: sync.id });
      expect(read.body.errors).toBeUndefined();
      const { record, proof } = read.body.data!['auditRecord'] as { record: object; proof: { checkpoint: string; treeSize: number; index: number; canonicalRecord: string; path: string[] } };
      expect(record).toEqual({ id: sync.id, kind: 'admin', action: 'catalogue.sync', target: sync.target });
      expect(proof.index).toBe(sync.seq);
      expect(await goVerify({ key: t.hub.runtime.signer.verifierKey, checkpoint: proof.checkpoint, record: proof.canonicalRecord, index: proof.index, proof: proof.path })).toBe('ok');

      const missing = await t.query(t.people['auditor']!, `{ auditRecord(id: "admin#99999") { record { id } } }`);
      expect(missing.body).toEqual({ data: { auditRecord: null } });

      // Whatever was written last (this reading itself) is signed when the hub stops.
      await t.hub.close();
      const after = await verifyLog(db, ADMIN_LOG, hubVerifier);
      expect(after.problems).toEqual([]);
      expect(after.uncheckpointed).toBe(0);
      expect(after.verifiedSize).toBe(after.records);
      const whole = await verifyTrail(db, hubVerifier);
      expect(whole.logs.map((l) => l.log).at(-1)).toBe(ADMIN_LOG);
      expect(whole.ok).toBe(true);
    } finally {
      // Closing twice is closing once (the hub's close is idempotent).
      await t.close();
    }
  });
});

describe('`hub` commands', () => {
  let db: TestDatabase;
  let dir: string;

  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a command with the signing key signs its own change at once; without it, the change waits for a hub', async () => {
    db = await testDatabase('admin_cli');
    dir = await mkdtemp(join(tmpdir(), 'hub-admin-log-'));
    await writeFile(join(dir, 'signing.key'), 'ef'.repeat(32));
    const signed = join(dir, 'signed.yaml');
    const unsigned = join(dir, 'unsigned.yaml');
    const common = [`mongodb: { uri: "${db.uri}", database: ${db.name} }`, `catalogue: ${DEMO_CATALOGUE}`];
    await writeFile(signed, [...common, 'audit: { keyName: test-hub, signingKey: { file: signing.key } }', ''].join('\n'));
    await writeFile(unsigned, [...common, 'audit: { keyName: test-hub, signingKey: { env: HUB_ADMIN_LOG_TEST_NO_KEY } }', ''].join('\n'));

    const first = await runHub(['token', 'create', '--config', unsigned, '--role', 'auditor', '--id', 'audit-07', '--department', 'ZW']);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    expect(await verifyLog(db.db, ADMIN_LOG, verifier)).toMatchObject({ records: 1, checkpoints: 0, uncheckpointed: 1, problems: [] });

    const second = await runHub(['token', 'create', '--config', signed, '--role', 'auditor', '--id', 'audit-08', '--department', 'ZW']);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe('');
    expect(await verifyLog(db.db, ADMIN_LOG, verifier)).toEqual({ log: ADMIN_LOG, archived: 0, records: 2, checkpoints: 1, verifiedSize: 2, uncheckpointed: 0, problems: [] });

    // A key file that cannot be read: the change is made and recorded, and the command says so.
    const missing = join(dir, 'missing-key.yaml');
    await writeFile(missing, [...common, 'audit: { keyName: test-hub, signingKey: { file: no-such.key } }', ''].join('\n'));
    const third = await runHub(['token', 'create', '--config', missing, '--role', 'auditor', '--id', 'audit-09', '--department', 'ZW']);
    expect(third.code).toBe(0);
    expect(third.stderr).toBe(`hub: config: /audit/signingKey/file cannot read ${join(dir, 'no-such.key')} (rule: readable); the change's checkpoint is left to a running hub\n`);
    expect(await verifyLog(db.db, ADMIN_LOG, verifier)).toMatchObject({ records: 3, verifiedSize: 2, uncheckpointed: 1, problems: [] });
    await checkpointAdmin(db.db, signer);

    const verified = await runHub(['audit', 'verify', '--config', signed]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`ok\t${ADMIN_LOG}\t3 records, 2 checkpoints, verified to 3\n`);
  });
});
