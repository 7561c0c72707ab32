/**
 * Logs past what fits in a function's arguments: verification in the database of a log of more
 * than ~125 000 records, and archiving a log with more checkpoints than that (a hub signs one every
 * 10 s while it writes: two weeks of uptime). Both took the largest of their numbers with
 * `Math.max(...values)`, which overflows the stack there (found by `npm run bench:export` at 10^6).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveTrail, AuditWriter, CHECKPOINTS_COLLECTION, EvidenceLog, leafHash, noteSigner, parseVerifierKey, retentionCutoff,
  type AccessRecord, type Hash, type Problem,
} from '../../audit/index.ts';
import { leavesInOrder } from '../../audit/verify.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

const MANY = 200_000;

describe('verification of a log of more records than fit in arguments', () => {
  it('orders every leaf and reports the gaps', () => {
    const bySeq = new Map<number, Hash>();
    const leaf = leafHash(Buffer.from('record'));
    for (let seq = 0; seq < MANY; seq++) if (seq !== 7 && seq !== 150_001) bySeq.set(seq, leaf);
    const problems: Problem[] = [];
    const leaves = leavesInOrder(bySeq, 0, 'big/1', problems);
    expect(leaves).toHaveLength(MANY);
    expect(problems.map((p) => [p.kind, p.at])).toEqual([['deleted', 7], ['deleted', 150_001]]);
  });
});

describe('archiving a log with more checkpoints than fit in arguments', () => {
  const signer = noteSigner('large-test', randomBytes(32).toString('hex'));
  let t: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    t = await testDatabase('largelogs');
    dir = await mkdtemp(join(tmpdir(), 'hub-large-'));
    const log = new EvidenceLog(t.db, { origin: 'large-test/host/1', signer, checkpointRecords: 1_000_000, checkpointSeconds: 3600 });
    await log.register();
    const writer = new AuditWriter(t.db, { log, writeConcern: { w: 1 } });
    const at = new Date(Date.now() - 1400 * 86_400_000);
    const record = (i: number): AccessRecord => ({
      at: new Date(at.getTime() + i), day: at.toISOString().slice(0, 10), requestId: `req-${i}`, action: 'read', system: 'mz-dibao', department: 'MZ',
      principalKind: 'system', operator: 'op-1', purpose: '440000-DIBAO-001', caseId: `DB-${i}`, resource: 'GA-HUKOU', provider: 'GA', subjectType: 'person',
      subject: `s${i}`, itemsReturned: ['name'], itemsMasked: [], itemsRefused: [], itemsVerified: [], grants: [{ id: 'G-1', version: 1 }], decision: 'allow',
      code: null, denial: null, reason: null, consent: null, attempt: null,
    });
    await writer.appendMany(Array.from({ length: 10 }, (_, i) => record(i)));
    await log.checkpoint();
    await writer.close();
    // The one signed checkpoint, filed over and over: each copy is authentic, as a long-lived log's many are.
    const checkpoints = t.db.collection(CHECKPOINTS_COLLECTION);
    const { _id: _omit, ...signed } = (await checkpoints.findOne({ log: log.origin }))!;
    for (let n = 1; n < 130_000; n += 10_000) {
      await checkpoints.insertMany(Array.from({ length: Math.min(10_000, 130_000 - n) }, () => ({ ...signed })), { ordered: false });
    }
  }, 120_000);

  afterAll(async () => {
    await t?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('plans the cut at the last signed checkpoint', async () => {
    expect(await t.db.collection(CHECKPOINTS_COLLECTION).countDocuments({})).toBe(130_000);
    const planned = await archiveTrail(t.db, {
      before: retentionCutoff(new Date(), 1096), out: join(dir, 'never.jsonl'), verifier: parseVerifierKey(signer.verifierKey), actor: 'test', role: 'cli', dryRun: true,
    });
    expect(planned.logs).toEqual([{ log: 'large-test/host/1', from: 0, to: 10 }]);
  }, 120_000);
});
