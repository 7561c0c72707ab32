/**
 * The access trail as evidence outsiders can check: RFC 6962 leaves over RFC 8785 canonical JSON,
 * signed C2SP checkpoints served without a token, inclusion and consistency proofs that Go's own
 * sumdb/note and sumdb/tlog packages accept, and verification that says what was tampered with
 * and where, for each kind of tampering, done directly in MongoDB.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCESS_COLLECTION, CHECKPOINTS_COLLECTION, canonicalBytes, checkpointText, openNote, parseCheckpointText, parseVerifierKey, recordsOf, type EvidenceBlock,
  proveConsistency, proveRecord, signNote, verifyLog, verifyTrail, type Problem,
} from '../../audit/index.ts';
import { runHub as cli } from '../support/cli.ts';
import { tamperBlock } from '../support/evidence.ts';
import { goVerify } from '../support/go-verifier.ts';
import { startTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;
let log: string;
let originalBlocks: Document[];
let originalCheckpoints: Document[];

beforeAll(async () => {
  t = await startTestHub({ config: { audit: { checkpointRecords: 1_000_000, checkpointSeconds: 3600 } } });
  log = t.hub.runtime.audit.log.origin;
  // Three requests of several records each, with a checkpoint after each: blocks and checkpoints to tamper with.
  const ids = t.data.dibaoApplicants.slice(0, 4);
  for (let i = 0; i < 3; i++) {
    const res = await t.query(t.tokens.mz, `query ($ids: [String!]!) { access(purpose: "440000-DIBAO-001", caseId: "DB-T-${i}", operator: "op") {
      persons(idNumbers: $ids) { hukou { gender } maritalStatus: marriage { maritalStatus } } } }`, { ids });
    expect(res.body.errors).toBeUndefined();
    await t.hub.runtime.audit.flush();
    await t.hub.runtime.audit.log.checkpoint();
  }
  originalBlocks = await t.hubDb.db.collection(ACCESS_COLLECTION).find({ log }).toArray();
  originalCheckpoints = await t.hubDb.db.collection(CHECKPOINTS_COLLECTION).find({ log }).toArray();
});
afterAll(async () => {
  await t?.close();
});

const verifier = () => parseVerifierKey(t.hub.runtime.signer.verifierKey);

async function restore(): Promise<void> {
  await t.hubDb.db.collection(ACCESS_COLLECTION).deleteMany({ log });
  await t.hubDb.db.collection(ACCESS_COLLECTION).insertMany(originalBlocks.map((b) => ({ ...b })));
  await t.hubDb.db.collection(CHECKPOINTS_COLLECTION).deleteMany({ log });
  await t.hubDb.db.collection(CHECKPOINTS_COLLECTION).insertMany(originalCheckpoints.map((c) => ({ ...c })));
}

/** Rewrites one block (the one holding `seq`) with `change` applied to a copy of its records and leaves. */
const tamper = (seq: number, change: (records: Document[], leaves: string[]) => void) => tamperBlock(t.hubDb.db, log, seq, change);

const problems = async (): Promise<Problem[]> => [...(await verifyLog(t.hubDb.db, log, verifier())).problems];

describe('the intact trail', () => {
  it('verifies, every record under a signed checkpoint', async () => {
    const report = await verifyTrail(t.hubDb.db, verifier(), log);
    expect(report.ok).toBe(true);
    expect(report.logs[0]).toMatchObject({ log, records: 24, checkpoints: 3, verifiedSize: 24, uncheckpointed: 0, problems: [] });
  });

  it('serves the checkpoint and the verifier key as text, without a token', async () => {
    const base = t.url.replace(/\/graphql$/, '');
    const key = await fetch(`${base}/audit/key`);
    expect(key.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const vkey = (await key.text()).trim();
    expect(vkey).toBe(t.hub.runtime.signer.verifierKey);
    expect(vkey).toMatch(/^yiwang-hub\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    const res = await fetch(`${base}/audit/checkpoint`);
    const note = await res.text();
    expect(note).toMatch(new RegExp(`^${log.replace(/[.]/g, '\\.')}\\n24\\n[A-Za-z0-9+/]{43}=\\n\\n— yiwang-hub [A-Za-z0-9+/]+=*\\n$`));
    const opened = openNote(note, parseVerifierKey(vkey));
    expect(opened.ok).toBe(true);
    expect((await fetch(`${base}/audit/checkpoint?log=${encodeURIComponent(log)}`)).status).toBe(200);
    expect((await fetch(`${base}/audit/checkpoint?log=no-such-log`)).status).toBe(404);
  });

  it('has proofs that Go\'s sumdb/note and sumdb/tlog accept', async () => {
    const blocks = await t.hubDb.db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log }).sort({ seq: 1 }).toArray();
    const records = blocks.flatMap((b) => recordsOf(b));
    const record = records[13]!;
    const inclusion = await proveRecord(t.hubDb.db, log, 13);
    expect(inclusion?.size).toBe(24);
    const older = originalCheckpoints.find((c) => c['size'] === 8)!;
    const consistency = await proveConsistency(t.hubDb.db, log, 8, 24);
    const request = {
      key: t.hub.runtime.signer.verifierKey,
      checkpoint: inclusion!.checkpoint,
      record: canonicalBytes(record).toString('utf8'),
      index: 13,
      proof: inclusion!.proof,
      older: older['note'],
      consistency,
    };
    expect(await goVerify(request)).toBe('ok');
    // The same check fails for another record at that index, and for a forged proof.
    const another = records[12]!;
    expect(await goVerify({ ...request, record: canonicalBytes(another).toString('utf8') })).toMatch(/^inclusion of record 13 .*invalid transparency proof/);
  }, 240_000);
});

describe('export and offline verification', () => {
  it('streams a JSONL export that verifies offline with only the verifier key, and catches an edited line', async () => {
    const base = t.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/audit/export`)).status).toBe(401);
    expect((await fetch(`${base}/audit/export`, { headers: { authorization: `Bearer ${t.tokens.zw}` } })).status).toBe(403);
    const res = await fetch(`${base}/audit/export?format=jsonl&log=${encodeURIComponent(log)}`, { headers: { authorization: `Bearer ${t.people['auditor']}` } });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const body = await res.text();
    const lines = body.trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['log', 'checkpoint', 'checkpoint', 'checkpoint', ...Array(24).fill('record')]);
    const dir = await mkdtemp(join(tmpdir(), 'hub-export-'));
    try {
      const file = join(dir, 'trail.jsonl');
      await writeFile(file, body);
      const ok = await cli(['audit', 'verify', '--file', file, '--key', t.hub.runtime.signer.verifierKey]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('the trail verifies (1 logs)');
      const edited = lines.map((l, i) => (i === 10 ? l.replace('"decision":"allow"', '"decision":"deny"') : l)).join('\n');
      expect(edited).not.toBe(body.trimEnd());
      await writeFile(file, `${edited}\n`);
      const bad = await cli(['audit', 'verify', '--file', file, '--key', t.hub.runtime.signer.verifierKey]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('modified at 8: the records up to 8 do not hash to the signed checkpoint');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const csv = await (await fetch(`${base}/audit/export?format=csv`, { headers: { authorization: `Bearer ${t.people['auditor']}` } })).text();
    expect(csv.split('\n')[0]).toBe('log,seq,at,requestId,action,system,department,principalKind,operator,purpose,caseId,resource,provider,subjectType,subject,itemsReturned,itemsMasked,itemsRefused,itemsVerified,grants,decision,code,denial,reason,consent,attempt,credential,onBehalfOf');
    expect(csv.trimEnd().split('\n')).toHaveLength(25);
  }, 60_000);
});

describe('tampering, each detected and located', () => {
  it('a modified record', async () => {
    await tamper(5, (records) => { records[5 - (records[0]!['seq'] as number)]!['decision'] = 'deny'; });
    expect((await problems()).filter((p) => p.kind === 'modified').map((p) => p.at)).toEqual([5]);
    await restore();
  });

  it('a deleted record', async () => {
    await tamper(10, (records, leaves) => {
      const i = 10 - (records[0]!['seq'] as number);
      records.splice(i, 1);
      leaves.splice(i, 1);
    });
    expect((await problems()).find((p) => p.kind === 'deleted')).toMatchObject({ at: 10 });
    await restore();
  });

  it('an inserted record', async () => {
    await tamper(3, (records) => { records.push({ ...records[0]!, system: 'forged-system' }); });
    expect((await problems()).find((p) => p.kind === 'inserted')).toMatchObject({ at: records0Seq(3) });
    await restore();
  });

  it('reordered records', async () => {
    await tamper(17, (records, leaves) => {
      const i = 17 - (records[0]!['seq'] as number);
      [records[i], records[i + 1]] = [records[i + 1]!, records[i]!];
      [leaves[i], leaves[i + 1]] = [leaves[i + 1]!, leaves[i]!];
    });
    expect((await problems()).filter((p) => p.kind === 'reordered').map((p) => p.at).sort()).toEqual([17, 18]);
    await restore();
  });

  it('a truncated tail, against the last checkpoint', async () => {
    const blocks = await t.hubDb.db.collection(ACCESS_COLLECTION).find({ log }).sort({ seq: -1 }).limit(1).toArray();
    await t.hubDb.db.collection(ACCESS_COLLECTION).deleteOne({ _id: blocks[0]!._id });
    expect((await problems()).find((p) => p.kind === 'truncated')).toMatchObject({ at: blocks[0]!['seq'] });
    await restore();
  });

  it('a forged or altered checkpoint', async () => {
    const checkpoints = t.hubDb.db.collection(CHECKPOINTS_COLLECTION);
    const last = originalCheckpoints.find((c) => c['size'] === 24)!;
    await checkpoints.updateOne({ _id: last._id }, { $set: { note: (last['note'] as string).replace('\n24\n', '\n23\n') } });
    expect((await problems()).map((p) => `${p.kind}@${p.at}`)).toEqual(['forged-checkpoint@24']);
    await restore();
  });

  it('a checkpoint that does not extend the one before', async () => {
    // Signed with the hub's own key, over another history: only consistency can catch it.
    const other = parseCheckpointText(checkpointText({ origin: log, size: 30, root: Buffer.alloc(32, 7) }));
    await t.hubDb.db.collection(CHECKPOINTS_COLLECTION).insertOne({ log, size: 30, root: other.root.toString('base64'), note: signNote(t.hub.runtime.signer, checkpointText(other)), at: new Date() });
    // 24 records are there; a signed checkpoint claims 30 with a root no extension of them gives.
    expect((await problems()).map((p) => p.kind)).toEqual(['truncated']);
    await t.hubDb.db.collection(CHECKPOINTS_COLLECTION).deleteMany({ log, size: 30 });
    const fork = parseCheckpointText(checkpointText({ origin: log, size: 16, root: Buffer.alloc(32, 9) }));
    await t.hubDb.db.collection(CHECKPOINTS_COLLECTION).insertOne({ log, size: 16, root: fork.root.toString('base64'), note: signNote(t.hub.runtime.signer, checkpointText(fork)), at: new Date() });
    expect((await problems()).map((p) => `${p.kind}@${p.at}`)).toEqual(['inconsistent-checkpoint@16']);
    await restore();
  });

  it('the restored trail verifies again', async () => {
    expect((await verifyTrail(t.hubDb.db, verifier(), log)).ok).toBe(true);
  });
});

/** The sequence number of the first record of the block holding `seq`. */
function records0Seq(seq: number): number {
  const block = originalBlocks.filter((b) => b['seq'] <= seq).sort((a, b) => b['seq'] - a['seq'])[0]!;
  return block['seq'] as number;
}


